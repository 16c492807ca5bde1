"""Suspend and resume: events, snapshots, nested and parallel suspension, other processes."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from rxagents.errors import InvalidInputError
from rxagents.storage import InMemoryStorage, SqliteStorage
from rxagents.testing import assert_well_formed
from rxagents.workflow import SNAPSHOT_NAMESPACE, RunStateError, Step, StepContext, Workflow

from .conftest import Approval, N, ask, collect, dbl, events, inc, run_workflow, wire

START_KEYS = {"id", "stepName", "stepCallId", "payload", "startedAt", "status"}
PROCESS_SCRIPT = Path(__file__).parent / "_process_workflow.py"


def approval_flow(storage: Any = None) -> Workflow:
    workflow = Workflow("wf-suspend", N, N, storage=storage)
    return workflow.then(inc()).then(ask()).then(dbl()).commit()


async def test_a_suspended_step_ends_the_run_suspended_with_a_snapshot() -> None:
    storage = InMemoryStorage()
    chunks, stream = await run_workflow(approval_flow(storage), {"n": 1}, run_id="run-s")
    assert events(chunks)[-3:] == [
        ("workflow-step-start", "ask"),
        ("workflow-step-suspended", "ask"),
        ("workflow-finish", None),
    ]
    suspended = wire(chunks[-2])["payload"]
    assert set(suspended) == START_KEYS | {"suspendPayload", "suspendedAt"}
    assert suspended["status"] == "suspended"
    assert suspended["suspendPayload"] == {"why": "need approval"}
    assert suspended["payload"] == {"n": 2}
    finish = wire(chunks[-1])["payload"]
    assert finish["workflowStatus"] == "suspended"
    assert "finalWorkflowResult" not in finish
    result = await stream.result
    assert result.status == "suspended"
    assert result.suspended == [["ask"]]
    assert result.steps["ask"].status == "suspended"
    assert result.steps["ask"].suspend_payload == {"why": "need approval"}
    snapshot = await storage.get(SNAPSHOT_NAMESPACE, "wf-suspend/run-s")
    assert snapshot["status"] == "suspended"
    assert snapshot["suspended"] == [["ask"]]


async def test_resume_stream_continues_where_the_run_suspended() -> None:
    workflow = approval_flow()
    run = await workflow.create_run(run_id="run-r")
    first = await collect(await run.stream(input_data={"n": 1}))
    assert run.status == "suspended"
    original = next(c for c in first if c.type == "workflow-step-start" and c.payload.id == "ask")
    stream = await run.resume_stream(step="ask", resume_data={"ok": True})
    chunks = await collect(stream)
    assert events(chunks) == [
        ("workflow-start", None),  # a fresh start, same run id (as Mastra)
        ("workflow-step-start", "ask"),
        ("workflow-step-result", "ask"),
        ("workflow-step-start", "dbl"),
        ("workflow-step-result", "dbl"),
        ("workflow-finish", None),
    ]
    assert {c.run_id for c in chunks} == {"run-r"}
    resumed = wire(chunks[1])["payload"]
    assert set(resumed) == START_KEYS | {"resumePayload", "resumedAt"}
    assert resumed["payload"] == {"n": 2}
    assert resumed["startedAt"] == original.payload.started_at
    assert resumed["stepCallId"] != original.payload.step_call_id
    assert resumed["resumePayload"] == {"ok": True}
    result_payload = wire(chunks[2])["payload"]
    assert result_payload["resumePayload"] == {"ok": True}
    assert result_payload["output"] == {"n": 2}
    result = await stream.result
    assert result.status == "success"
    assert result.result == {"n": 4}
    assert list(result.steps) == ["inc", "ask", "dbl"]
    assert result.steps["ask"].resume_payload == {"ok": True}
    assert result.step_execution_path == ["inc", "ask", "ask", "dbl"]
    assert str(run.status) == "success"


async def test_resume_finds_the_only_suspended_step_without_being_told() -> None:
    run = await approval_flow().create_run()
    await collect(await run.stream(input_data={"n": 1}))
    result = await run.resume(resume_data={"ok": False})
    assert result.result == {"n": -2}


async def test_invalid_resume_data_is_refused_and_changes_nothing() -> None:
    storage = InMemoryStorage()
    run = await approval_flow(storage).create_run(run_id="r")
    await collect(await run.stream(input_data={"n": 1}))
    before = await storage.get(SNAPSHOT_NAMESPACE, "wf-suspend/r")
    with pytest.raises(InvalidInputError, match="resume data of step 'ask'"):
        await run.resume_stream(step="ask", resume_data={"ok": "maybe-later"})
    with pytest.raises(InvalidInputError, match="does not name one suspended step"):
        await run.resume_stream(step="dbl", resume_data={"ok": True})
    assert await storage.get(SNAPSHOT_NAMESPACE, "wf-suspend/r") == before
    assert run.status == "suspended"
    assert (await run.resume(step="ask", resume_data={"ok": True})).status == "success"


async def test_only_a_suspended_run_can_be_resumed() -> None:
    workflow = approval_flow()
    pending = await workflow.create_run()
    with pytest.raises(RunStateError, match="pending, not suspended"):
        await pending.resume_stream(resume_data={"ok": True})
    done = await Workflow("wf", N, N).then(inc()).commit().create_run()
    await done.start(input_data={"n": 1})
    with pytest.raises(RunStateError, match="success, not suspended"):
        await done.resume(resume_data={})
    running = await workflow.create_run()
    stream = await running.stream(input_data={"n": 1})
    with pytest.raises(RunStateError, match="still running"):
        await running.resume_stream(resume_data={"ok": True})
    await collect(stream)
    with pytest.raises(RunStateError, match="already started"):
        await running.stream(input_data={"n": 1})


async def test_a_suspend_payload_that_fails_its_schema_fails_the_step() -> None:
    async def bad(ctx: StepContext[N]) -> None:
        await ctx.suspend({"wrong": 1})

    step = Step("bad", N, N, bad, suspend_schema=Approval)
    _, stream = await run_workflow(Workflow("wf", N).then(step).commit(), {"n": 1})
    result = await stream.result
    assert result.status == "failed"
    assert result.error is not None
    assert "suspend payload" in result.error.message


async def test_a_nested_suspension_suspends_the_inner_step_and_the_nested_workflow() -> None:
    inner = Workflow("inner", N, N).then(inc()).then(ask()).commit()
    outer = Workflow("outer", N, N).then(inner).then(dbl()).commit()
    run = await outer.create_run()
    first_stream = await run.stream(input_data={"n": 1})
    chunks = await collect(first_stream)
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "inner"),
        ("workflow-step-start", "inner.inc"),
        ("workflow-step-output", "inc"),
        ("workflow-step-result", "inner.inc"),
        ("workflow-step-start", "inner.ask"),
        ("workflow-step-suspended", "inner.ask"),
        ("workflow-step-suspended", "inner"),
        ("workflow-finish", None),
    ]
    assert chunks[-2].payload.suspend_payload == {"why": "need approval"}
    assert (await first_stream.result).suspended == [["inner", "ask"]]
    stream = await run.resume_stream(step="inner.ask", resume_data={"ok": True})
    resumed = await collect(stream)
    assert events(resumed) == [
        ("workflow-start", None),
        ("workflow-step-start", "inner"),
        ("workflow-step-start", "inner.ask"),
        ("workflow-step-result", "inner.ask"),
        ("workflow-step-result", "inner"),
        ("workflow-step-start", "dbl"),
        ("workflow-step-result", "dbl"),
        ("workflow-finish", None),
    ]
    assert resumed[1].payload.resume_payload == {"ok": True}
    assert resumed[2].payload.resume_payload == {"ok": True}
    assert (await stream.result).result == {"n": 4}


@pytest.mark.parametrize(
    "ref", ["inner.ask", ["inner", "ask"], "inner", "ask", ["inner", "ask-object"]]
)
async def test_a_nested_step_can_be_named_in_several_ways(ref: Any) -> None:
    ask_step = ask()
    inner = Workflow("inner", N, N).then(inc()).then(ask_step).commit()
    outer = Workflow("outer", N, N).then(inner).commit()
    if ref == ["inner", "ask-object"]:
        ref = [inner, ask_step]
    run = await outer.create_run()
    await run.start(input_data={"n": 1})
    assert (await run.resume(step=ref, resume_data={"ok": True})).result == {"n": 2}


async def test_parallel_suspension_settles_siblings_and_resume_does_not_rerun_them() -> None:
    calls: list[str] = []

    def tracked(ctx: StepContext[N]) -> N:
        calls.append("tracked")
        return ctx.input_data

    workflow = (
        Workflow("wf", N)
        .parallel([ask(), Step("tracked", N, N, tracked)])
        .then(Step("after", None, None, lambda ctx: ctx.input_data))
        .commit()
    )
    run = await workflow.create_run()
    first = await collect(await run.stream(input_data={"n": 3}))
    assert events(first) == [
        ("workflow-start", None),
        ("workflow-step-start", "ask"),
        ("workflow-step-start", "tracked"),
        ("workflow-step-suspended", "ask"),
        ("workflow-step-result", "tracked"),
        ("workflow-finish", None),
    ]
    stream = await run.resume_stream(step="ask", resume_data={"ok": True})
    resumed = await collect(stream)
    assert calls == ["tracked"]
    assert events(resumed) == [
        ("workflow-start", None),
        ("workflow-step-start", "ask"),
        ("workflow-step-result", "ask"),
        ("workflow-step-start", "after"),
        ("workflow-step-result", "after"),
        ("workflow-finish", None),
    ]
    assert (await stream.result).result == {"ask": {"n": 3}, "tracked": {"n": 3}}


async def test_two_suspended_siblings_are_resumed_one_at_a_time() -> None:
    workflow = Workflow("wf", N).parallel([ask("left"), ask("right")]).commit()
    run = await workflow.create_run()
    result = await run.start(input_data={"n": 1})
    assert sorted(result.suspended) == [["left"], ["right"]]
    with pytest.raises(InvalidInputError, match="several suspended steps"):
        await run.resume_stream(resume_data={"ok": True})
    middle = await run.resume(step="left", resume_data={"ok": True})
    assert middle.status == "suspended"  # right suspended again (it ran again, unresumed)
    assert middle.suspended == [["right"]]
    final = await run.resume(step="right", resume_data={"ok": False})
    assert final.status == "success"
    assert final.result == {"left": {"n": 1}, "right": {"n": -1}}


async def test_a_loop_resumes_at_the_iteration_that_suspended() -> None:
    async def gate(ctx: StepContext[N]) -> N | None:
        if ctx.input_data.n == 2 and ctx.resume_data is None:
            await ctx.suspend({"at": ctx.iteration_count})
            return None
        return N(n=ctx.input_data.n + 1)

    step = Step("gate", N, N, gate)
    workflow = Workflow("wf", N, N).dountil(step, lambda ctx: ctx.input_data["n"] >= 4).commit()
    run = await workflow.create_run()
    first = await run.start(input_data={"n": 0})
    assert first.status == "suspended"
    assert first.steps["gate"].suspend_payload == {"at": 3}
    stream = await run.resume_stream(step="gate", resume_data={})
    chunks = await collect(stream)
    starts = [c.payload for c in chunks if c.type == "workflow-step-start"]
    assert [s.payload for s in starts] == [{"n": 2}, {"n": 3}]
    assert starts[0].resume_payload == {}
    assert (await stream.result).result == {"n": 4}


async def test_a_foreach_resumes_its_suspended_item_and_skips_finished_ones() -> None:
    seen: list[int] = []

    async def item(ctx: StepContext[N]) -> N | None:
        seen.append(ctx.input_data.n)
        if ctx.input_data.n == 1 and ctx.resume_data is None:
            await ctx.suspend({"item": 1})
            return None
        return N(n=ctx.input_data.n * 10)

    workflow = Workflow("wf", None).foreach(Step("item", N, N, item), concurrency=3).commit()
    run = await workflow.create_run()
    first = await run.start(input_data=[{"n": 0}, {"n": 1}, {"n": 2}])
    assert first.status == "suspended"
    assert first.suspended == [["item"]]
    assert seen == [0, 1]  # quick items: 1 suspended before 2 could start; none starts after
    stream = await run.resume_stream(step="item", resume_data={"ok": 1})
    await collect(stream)
    assert seen == [0, 1, 1, 2]  # item 0 is not run again
    assert (await stream.result).result == [{"n": 0}, {"n": 10}, {"n": 20}]


async def test_a_branch_keeps_its_decision_when_resumed() -> None:
    decisions: list[int] = []

    def choose(ctx: StepContext[Any]) -> bool:
        decisions.append(1)
        return True

    workflow = Workflow("wf", N).branch([(choose, ask())]).commit()
    run = await workflow.create_run()
    await run.start(input_data={"n": 5})
    result = await run.resume(resume_data={"ok": True})
    assert decisions == [1]
    assert result.result == {"ask": {"n": 5}}


async def test_a_new_workflow_object_resumes_from_sqlite_storage(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    first_storage = SqliteStorage(path)
    run = await approval_flow(first_storage).create_run(run_id="durable")
    await run.start(input_data={"n": 1})
    await first_storage.close()

    second_storage = SqliteStorage(path)
    again = await approval_flow(second_storage).create_run(run_id="durable")
    assert again.status == "suspended"
    stream = await again.resume_stream(step="ask", resume_data={"ok": True})
    chunks = await collect(stream)
    assert ("workflow-step-start", "inc") not in events(chunks)
    assert (await stream.result).result == {"n": 4}
    stored = await approval_flow(second_storage).get_run_result("durable")
    assert stored is not None
    assert stored.status == "success"
    assert stored.result == {"n": 4}
    assert stored.steps["ask"].resume_payload == {"ok": True}
    await second_storage.close()


async def _child(*args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROCESS_SCRIPT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    data: dict[str, Any] = json.loads(out)
    return data


async def test_one_process_suspends_and_another_resumes(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    first = await _child("start", db, "run-x")
    assert first["result"]["status"] == "suspended"
    assert first["result"]["suspended"] == [["approval", "ask"]]
    assert_well_formed(first["chunks"])
    assert first["chunks"][-1]["payload"]["workflowStatus"] == "suspended"

    second = await _child("resume", db, "run-x")
    assert_well_formed(second["chunks"])
    starts = [c["payload"]["id"] for c in second["chunks"] if c["type"] == "workflow-step-start"]
    assert starts == ["approval", "approval.ask", "inc"]  # the first inc did not run again
    resumed = next(c for c in second["chunks"] if c["payload"].get("id") == "approval.ask")
    original = next(c for c in first["chunks"] if c["payload"].get("id") == "approval.ask")
    assert resumed["payload"]["startedAt"] == original["payload"]["startedAt"]
    assert resumed["payload"]["resumePayload"] == {"ok": True}
    assert second["result"]["status"] == "success"
    assert second["result"]["result"] == {"n": 21}
    assert second["chunks"][-1]["payload"]["finalWorkflowResult"] == {"n": 21}
