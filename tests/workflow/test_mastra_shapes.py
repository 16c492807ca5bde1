"""Loops, foreach and sleep stream the chunks Mastra 1.71.0 streams: types, order, payload keys.

Pinned from runs of the real ``@mastra/core`` 1.71.0 on the same workflows (timestamps and ids
left out; key sets and the values that matter are exact).
"""

from __future__ import annotations

from typing import Any

from rxagents.workflow import Step, StepContext, Workflow

from .conftest import Approval, N, Why, collect, dbl, inc, run_workflow, wire

START = "workflow-start"
STEP_START = "workflow-step-start"
OUTPUT = "workflow-step-output"
RESULT = "workflow-step-result"
SUSPENDED = "workflow-step-suspended"
PROGRESS = "workflow-step-progress"
WAITING = "workflow-step-waiting"
FINISH = "workflow-finish"

RUN_START_KEYS = {"workflowId"}
FINISH_KEYS = {"workflowStatus", "metadata", "output", "finalWorkflowResult"}
FAILED_FINISH_KEYS = {"workflowStatus", "metadata", "output"}
STEP_KEYS = {"stepName", "id", "stepCallId", "payload", "startedAt", "status"}
LOOPED_START_KEYS = STEP_KEYS | {"metadata"}
LOOPED_RESULT_KEYS = LOOPED_START_KEYS | {"output", "endedAt"}
LOOPED_FAILED_KEYS = LOOPED_START_KEYS | {"error", "endedAt"}
LOOPED_SUSPENDED_KEYS = LOOPED_START_KEYS | {"suspendPayload", "suspendedAt"}
RESUMED = {"resumePayload", "resumedAt"}
OUTPUT_KEYS = {"stepName", "runId", "output"}
FOREACH_START_KEYS = {"stepName", "id", "payload", "startedAt", "status"}
PROGRESS_KEYS = {
    "stepName",
    "id",
    "completedCount",
    "totalCount",
    "currentIndex",
    "iterationStatus",
    "iterationOutput",
}
FAILED_PROGRESS_KEYS = PROGRESS_KEYS - {"iterationOutput"}
THIN_RESULT_KEYS = {"stepName", "id", "status", "output", "endedAt"}
THIN_FAILED_KEYS = {"stepName", "id", "status", "error", "endedAt"}
THIN_SUSPENDED_KEYS = {"stepName", "id", "status", "suspendPayload", "suspendedAt"}
WAITING_KEYS = {"stepName", "id", "payload", "startedAt", "status"}


def shape(chunks: list[Any]) -> list[tuple[str, set[str]]]:
    """``(type, payload keys)`` per chunk, as they go on the wire."""
    return [(c.type, set(wire(c)["payload"])) for c in chunks]


def payloads(chunks: list[Any], kind: str) -> list[dict[str, Any]]:
    return [wire(c)["payload"] for c in chunks if c.type == kind]


def n_at_least(limit: int) -> Any:
    return lambda ctx: ctx.input_data["n"] >= limit


# --- dountil / dowhile: the body's chunks carry metadata.iterationCount --------------------------


async def test_dountil_body_chunks_carry_the_iteration_count() -> None:
    workflow = Workflow("wf-du", N, N).dountil(inc(), n_at_least(3)).commit()
    chunks, _ = await run_workflow(workflow, {"n": 1})
    assert shape(chunks) == [
        (START, RUN_START_KEYS),
        (STEP_START, LOOPED_START_KEYS),
        (OUTPUT, OUTPUT_KEYS),
        (RESULT, LOOPED_RESULT_KEYS),
        (STEP_START, LOOPED_START_KEYS),
        (OUTPUT, OUTPUT_KEYS),
        (RESULT, LOOPED_RESULT_KEYS),
        (FINISH, FINISH_KEYS),
    ]
    starts = payloads(chunks, STEP_START)
    results = payloads(chunks, RESULT)
    assert [p["metadata"] for p in starts] == [{"iterationCount": 1}, {"iterationCount": 2}]
    assert [p["metadata"] for p in results] == [{"iterationCount": 1}, {"iterationCount": 2}]
    assert [p["status"] for p in results] == ["success", "success"]
    assert starts[0]["stepCallId"] == results[0]["stepCallId"] != starts[1]["stepCallId"]


async def test_dowhile_body_chunks_carry_the_iteration_count() -> None:
    workflow = Workflow("wf-dw", N, N).dowhile(dbl(), lambda ctx: ctx.input_data["n"] < 8).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert shape(chunks) == [
        (START, RUN_START_KEYS),
        *[(STEP_START, LOOPED_START_KEYS), (RESULT, LOOPED_RESULT_KEYS)] * 3,
        (FINISH, FINISH_KEYS),
    ]
    counts = [wire(c)["payload"]["metadata"]["iterationCount"] for c in chunks[1:-1]]
    assert counts == [1, 1, 2, 2, 3, 3]
    assert (await stream.result).result == {"n": 8}


async def test_a_failed_loop_body_carries_the_iteration_count() -> None:
    def explode_at_two(ctx: StepContext[N]) -> dict[str, int]:
        if ctx.input_data.n == 2:
            raise RuntimeError("loop exploded")
        return {"n": ctx.input_data.n + 1}

    body = Step("lboom", N, N, explode_at_two)
    workflow = Workflow("wf-du", N, N).dountil(body, n_at_least(4)).commit()
    chunks, _ = await run_workflow(workflow, {"n": 1})
    assert shape(chunks) == [
        (START, RUN_START_KEYS),
        (STEP_START, LOOPED_START_KEYS),
        (RESULT, LOOPED_RESULT_KEYS),
        (STEP_START, LOOPED_START_KEYS),
        (RESULT, LOOPED_FAILED_KEYS),
        (FINISH, FAILED_FINISH_KEYS),
    ]
    assert payloads(chunks, RESULT)[-1]["metadata"] == {"iterationCount": 2}


async def test_a_suspended_loop_body_keeps_its_iteration_count_when_resumed() -> None:
    async def ask_at_two(ctx: StepContext[N]) -> dict[str, int] | None:
        if ctx.resume_data is None and ctx.input_data.n == 2:
            await ctx.suspend({"why": "need approval"})
            return None
        return {"n": ctx.input_data.n + 1}

    body = Step("lsus", N, N, ask_at_two, suspend_schema=Why, resume_schema=Approval)
    workflow = Workflow("wf-du", N, N).dountil(body, n_at_least(4)).commit()
    run = await workflow.create_run()
    chunks = await collect(await run.stream(input_data={"n": 1}))
    assert shape(chunks)[3:] == [
        (STEP_START, LOOPED_START_KEYS),
        (SUSPENDED, LOOPED_SUSPENDED_KEYS),
        (FINISH, {"workflowStatus", "metadata", "output"}),
    ]
    assert payloads(chunks, SUSPENDED)[0]["metadata"] == {"iterationCount": 2}
    resumed = await collect(await run.resume_stream(step="lsus", resume_data={"ok": True}))
    assert shape(resumed)[1:3] == [
        (STEP_START, LOOPED_START_KEYS | RESUMED),
        (RESULT, LOOPED_RESULT_KEYS | RESUMED),
    ]
    counts = [p["metadata"]["iterationCount"] for p in payloads(resumed, STEP_START)]
    assert counts == [2, 3]


async def test_steps_outside_a_loop_carry_no_metadata() -> None:
    workflow = Workflow("wf", N, N).then(inc()).dountil(dbl(), n_at_least(1)).commit()
    chunks, _ = await run_workflow(workflow, {"n": 1})
    first = payloads(chunks, STEP_START)[0]
    assert first["id"] == "inc"
    assert "metadata" not in first


async def test_inner_steps_of_a_looped_nested_workflow_carry_no_metadata() -> None:
    inner = Workflow("inner", N, N).then(inc()).commit()
    workflow = Workflow("wf", N, N).dountil(inner, n_at_least(2)).commit()
    chunks, _ = await run_workflow(workflow, {"n": 1})
    starts = payloads(chunks, STEP_START)
    assert [(p["id"], p.get("metadata")) for p in starts] == [
        ("inner", {"iterationCount": 1}),
        ("inner.inc", None),
    ]


# --- foreach: a start without stepCallId, progress per item, a thin ending -------------------


async def test_foreach_reports_each_item_then_a_thin_result() -> None:
    workflow = Workflow("wf-fe", None, None).foreach(dbl()).commit()
    chunks, stream = await run_workflow(workflow, [{"n": 1}, {"n": 2}])
    assert shape(chunks) == [
        (START, RUN_START_KEYS),
        (STEP_START, FOREACH_START_KEYS),
        (PROGRESS, PROGRESS_KEYS),
        (PROGRESS, PROGRESS_KEYS),
        (RESULT, THIN_RESULT_KEYS),
        (FINISH, FINISH_KEYS),
    ]
    assert all(c.from_ == "WORKFLOW" for c in chunks if c.type == PROGRESS)
    assert payloads(chunks, PROGRESS) == [
        {
            "stepName": "dbl",
            "id": "dbl",
            "completedCount": 1,
            "totalCount": 2,
            "currentIndex": 0,
            "iterationStatus": "success",
            "iterationOutput": {"n": 2},
        },
        {
            "stepName": "dbl",
            "id": "dbl",
            "completedCount": 2,
            "totalCount": 2,
            "currentIndex": 1,
            "iterationStatus": "success",
            "iterationOutput": {"n": 4},
        },
    ]
    result = payloads(chunks, RESULT)[0]
    assert (result["status"], result["output"]) == ("success", [{"n": 2}, {"n": 4}])
    step = (await stream.result).steps["dbl"]  # the record keeps the start data
    assert (step.status, step.payload, step.output) == (
        "success",
        [{"n": 1}, {"n": 2}],
        result["output"],
    )
    assert step.started_at > 0
    assert step.ended_at == result["endedAt"]


async def test_a_failed_foreach_item_reports_failed_then_a_thin_failure() -> None:
    def explode_at_two(ctx: StepContext[N]) -> N:
        if ctx.input_data.n == 2:
            raise RuntimeError("step exploded")
        return ctx.input_data

    workflow = Workflow("wf-fe", None, None).foreach(Step("boom", N, N, explode_at_two)).commit()
    chunks, stream = await run_workflow(workflow, [{"n": 1}, {"n": 2}, {"n": 3}])
    assert shape(chunks) == [
        (START, RUN_START_KEYS),
        (STEP_START, FOREACH_START_KEYS),
        (PROGRESS, PROGRESS_KEYS),
        (PROGRESS, FAILED_PROGRESS_KEYS),
        (RESULT, THIN_FAILED_KEYS),
        (FINISH, FAILED_FINISH_KEYS),
    ]
    progress = payloads(chunks, PROGRESS)
    assert [(p["completedCount"], p["currentIndex"], p["iterationStatus"]) for p in progress] == [
        (1, 0, "success"),
        (2, 1, "failed"),
    ]
    failed = payloads(chunks, RESULT)[0]
    assert failed["status"] == "failed"
    assert failed["error"] == {"name": "RuntimeError", "message": "step exploded"}
    assert (await stream.result).steps["boom"].status == "failed"


async def test_a_suspended_foreach_item_is_not_counted_and_resumes_from_it() -> None:
    async def ask_at_two(ctx: StepContext[N]) -> N | None:
        if ctx.resume_data is None and ctx.input_data.n == 2:
            await ctx.suspend({"why": "need approval"})
            return None
        return ctx.input_data

    item = Step("sus", N, N, ask_at_two, suspend_schema=Why, resume_schema=Approval)
    workflow = Workflow("wf-fe", None, None).foreach(item).commit()
    run = await workflow.create_run()
    chunks = await collect(await run.stream(input_data=[{"n": 1}, {"n": 2}, {"n": 3}]))
    assert shape(chunks) == [
        (START, RUN_START_KEYS),
        (STEP_START, FOREACH_START_KEYS),
        (PROGRESS, PROGRESS_KEYS),
        (PROGRESS, FAILED_PROGRESS_KEYS),
        (SUSPENDED, THIN_SUSPENDED_KEYS),
        (FINISH, {"workflowStatus", "metadata", "output"}),
    ]
    progress = payloads(chunks, PROGRESS)
    assert [(p["completedCount"], p["currentIndex"], p["iterationStatus"]) for p in progress] == [
        (1, 0, "success"),
        (1, 1, "suspended"),
    ]
    assert payloads(chunks, SUSPENDED)[0]["suspendPayload"] == {"why": "need approval"}

    resumed = await collect(await run.resume_stream(step="sus", resume_data={"ok": True}))
    assert shape(resumed) == [
        (START, RUN_START_KEYS),
        (STEP_START, FOREACH_START_KEYS | RESUMED),
        (PROGRESS, PROGRESS_KEYS),
        (PROGRESS, PROGRESS_KEYS),
        (RESULT, THIN_RESULT_KEYS),
        (FINISH, FINISH_KEYS),
    ]
    progress = payloads(resumed, PROGRESS)  # the item done before the suspension is not reported
    assert [(p["completedCount"], p["currentIndex"], p["iterationStatus"]) for p in progress] == [
        (1, 1, "success"),
        (2, 2, "success"),
    ]
    assert payloads(resumed, RESULT)[0]["output"] == [{"n": 1}, {"n": 2}, {"n": 3}]


# --- sleep: waiting instead of a start, then a thin result ---------------------------------------


async def test_sleep_waits_then_reports_a_thin_result() -> None:
    workflow = Workflow("wf-sleep", N, N).then(inc()).sleep(0.001).then(dbl()).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert shape(chunks) == [
        (START, RUN_START_KEYS),
        (STEP_START, STEP_KEYS),
        (OUTPUT, OUTPUT_KEYS),
        (RESULT, STEP_KEYS | {"output", "endedAt"}),
        (WAITING, WAITING_KEYS),
        (RESULT, THIN_RESULT_KEYS),
        (STEP_START, STEP_KEYS),
        (RESULT, STEP_KEYS | {"output", "endedAt"}),
        (FINISH, FINISH_KEYS),
    ]
    waiting = payloads(chunks, WAITING)[0]
    # Mastra's sleep ids are random (sleep_<uuid>); ours are deterministic, for resuming
    assert waiting["id"] == waiting["stepName"] == "sleep_wf-sleep_0"
    assert (waiting["status"], waiting["payload"]) == ("waiting", {"n": 2})
    slept = payloads(chunks, RESULT)[1]
    assert (slept["id"], slept["status"], slept["output"]) == (
        "sleep_wf-sleep_0",
        "success",
        {"n": 2},
    )
    step = (await stream.result).steps["sleep_wf-sleep_0"]
    assert (step.status, step.payload, step.output) == ("success", {"n": 2}, {"n": 2})
    assert step.started_at == waiting["startedAt"] <= slept["endedAt"] == step.ended_at
