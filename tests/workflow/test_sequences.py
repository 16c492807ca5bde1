"""Event sequences and payload shapes of workflow streams (DESIGN section 2, Mastra 1.71.0)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rxagents.events import parse_chunk
from rxagents.operators import reduce_usage
from rxagents.workflow import Step, StepContext, Workflow

from .conftest import N, collect, dbl, events, inc, later, run_workflow, wire

START_KEYS = {"id", "stepName", "stepCallId", "payload", "startedAt", "status"}


async def test_sequential_steps_emit_start_output_result_then_finish() -> None:
    workflow = Workflow("wf-basic", N, N).then(inc()).then(dbl()).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1}, run_id="run-basic")
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "inc"),
        ("workflow-step-output", "inc"),
        ("workflow-step-result", "inc"),
        ("workflow-step-start", "dbl"),
        ("workflow-step-result", "dbl"),
        ("workflow-finish", None),
    ]
    start, step_start, output, result = (wire(c) for c in chunks[:4])
    assert start == {
        "type": "workflow-start",
        "runId": "run-basic",
        "from": "WORKFLOW",
        "payload": {"workflowId": "wf-basic"},
    }
    assert set(step_start["payload"]) == START_KEYS
    assert step_start["payload"]["payload"] == {"n": 1}
    assert step_start["payload"]["status"] == "running"
    assert output == {
        "type": "workflow-step-output",
        "runId": "run-basic",
        "from": "USER",
        "payload": {"stepName": "inc", "output": {"custom": "hello", "n": 1}, "runId": "run-basic"},
    }
    assert set(result["payload"]) == START_KEYS | {"output", "endedAt"}
    assert result["payload"]["status"] == "success"
    assert result["payload"]["output"] == {"n": 2}
    assert result["payload"]["stepCallId"] == step_start["payload"]["stepCallId"]
    assert result["payload"]["startedAt"] == step_start["payload"]["startedAt"]
    finish = wire(chunks[-1])
    assert finish["payload"] == {
        "workflowStatus": "success",
        "metadata": {},
        "output": {
            "usage": {
                "inputTokens": 0,
                "outputTokens": 0,
                "totalTokens": 0,
                "reasoningTokens": 0,
                "cachedInputTokens": 0,
                "cacheCreationInputTokens": 0,
            }
        },
        "finalWorkflowResult": {"n": 4},
    }
    assert await stream.status == "success"
    result_obj = await stream.result
    assert result_obj.result == {"n": 4}
    assert result_obj.input == {"n": 1}
    assert result_obj.step_execution_path == ["inc", "dbl"]
    assert result_obj.steps["dbl"].output == {"n": 4}
    assert result_obj.steps["inc"].payload == {"n": 1}


async def test_every_chunk_round_trips_through_the_wire_parser() -> None:
    workflow = Workflow("wf", N).then(inc()).parallel([dbl(), inc("inc2")]).commit()
    chunks, _ = await run_workflow(workflow, {"n": 1})
    for chunk in chunks:
        data = wire(chunk)
        assert parse_chunk(data) == chunk
        assert parse_chunk(chunk.model_dump_json(by_alias=True)).model_dump(by_alias=True) == (
            chunk.model_dump(by_alias=True)
        )


async def test_parallel_block_emits_all_starts_first_and_results_in_completion_order() -> None:
    workflow = Workflow("wf-par", N).parallel([later("slow", 3), later("fast", 1)]).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "slow"),
        ("workflow-step-start", "fast"),
        ("workflow-step-result", "fast"),
        ("workflow-step-result", "slow"),
        ("workflow-finish", None),
    ]
    expected = {"slow": {"n": 2}, "fast": {"n": 2}}
    assert wire(chunks[-1])["payload"]["finalWorkflowResult"] == expected
    assert (await stream.result).result == expected


async def test_parallel_output_feeds_the_next_step_keyed_by_step_id() -> None:
    seen: list[Any] = []

    def total(ctx: StepContext[Any]) -> dict[str, int]:
        seen.append(ctx.input_data)
        return {"n": ctx.input_data["a"]["n"] + ctx.input_data["b"]["n"]}

    workflow = (
        Workflow("wf", N, N)
        .parallel([inc("a"), dbl("b")])
        .then(Step("total", None, N, total))
        .commit()
    )
    _, stream = await run_workflow(workflow, {"n": 3})
    assert seen == [{"a": {"n": 4}, "b": {"n": 6}}]
    assert (await stream.result).result == {"n": 10}


async def test_branch_runs_only_the_chosen_step() -> None:
    async def is_big(ctx: StepContext[Any]) -> bool:
        return bool(ctx.input_data["n"] > 10)

    workflow = (
        Workflow("wf-branch", N)
        .branch([(is_big, inc()), (lambda ctx: ctx.input_data["n"] <= 10, dbl())])
        .commit()
    )
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "dbl"),
        ("workflow-step-result", "dbl"),
        ("workflow-finish", None),
    ]
    assert (await stream.result).result == {"dbl": {"n": 2}}
    assert "inc" not in (await stream.result).steps


async def test_branch_with_no_true_condition_outputs_an_empty_dict() -> None:
    workflow = Workflow("wf", N).branch([(lambda ctx: False, inc())]).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert events(chunks) == [("workflow-start", None), ("workflow-finish", None)]
    assert (await stream.result).result == {}


async def test_dountil_repeats_the_step_on_its_own_output_until_the_condition_holds() -> None:
    counts: list[int] = []

    def done(ctx: StepContext[Any]) -> bool:
        counts.append(ctx.iteration_count)
        return bool(ctx.input_data["n"] >= 4)

    workflow = Workflow("wf-loop", N, N).dountil(inc(), done).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert [e for e in events(chunks) if e[0] != "workflow-step-output"] == [
        ("workflow-start", None),
        *[("workflow-step-start", "inc"), ("workflow-step-result", "inc")] * 3,
        ("workflow-finish", None),
    ]
    assert counts == [1, 2, 3]
    result = await stream.result
    assert result.result == {"n": 4}
    assert result.step_execution_path == ["inc", "inc", "inc"]
    call_ids = {c.payload.step_call_id for c in chunks if c.type == "workflow-step-start"}
    assert len(call_ids) == 3


async def test_dowhile_runs_at_least_once_and_stops_when_the_condition_fails() -> None:
    workflow = Workflow("wf", N, N).dowhile(dbl(), lambda ctx: ctx.input_data["n"] < 20).commit()
    _, stream = await run_workflow(workflow, {"n": 3})
    assert (await stream.result).result == {"n": 24}
    once = Workflow("wf2", N, N).dowhile(dbl(), lambda ctx: False).commit()
    _, stream = await run_workflow(once, {"n": 3})
    assert (await stream.result).result == {"n": 6}


async def test_a_long_loop_of_quick_steps_does_not_grow_the_stack() -> None:
    step = Step("tick", N, N, lambda ctx: {"n": ctx.input_data.n + 1})
    workflow = Workflow("wf", N, N).dountil(step, lambda ctx: ctx.input_data["n"] >= 3000).commit()
    run = await workflow.create_run()
    result = await run.start(input_data={"n": 0})
    assert result.result == {"n": 3000}


async def test_async_loop_condition_is_awaited() -> None:
    async def until(ctx: StepContext[Any]) -> bool:
        await asyncio.sleep(0)
        return bool(ctx.input_data["n"] >= 3)

    workflow = Workflow("wf", N, N).dountil(inc(), until).commit()
    _, stream = await run_workflow(workflow, {"n": 0})
    assert (await stream.result).result == {"n": 3}


async def test_foreach_is_one_step_with_a_list_output_in_input_order() -> None:
    workflow = Workflow("wf-each", None).foreach(later("item", 2)).commit()
    chunks, stream = await run_workflow(workflow, [{"n": 1}, {"n": 2}, {"n": 3}])
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "item"),
        ("workflow-step-progress", "item"),
        ("workflow-step-progress", "item"),
        ("workflow-step-progress", "item"),
        ("workflow-step-result", "item"),
        ("workflow-finish", None),
    ]
    assert chunks[1].payload.payload == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert (await stream.result).result == [{"n": 2}, {"n": 3}, {"n": 4}]


@pytest.mark.parametrize("concurrency", [1, 2, 5])
async def test_foreach_runs_at_most_concurrency_items_at_once(concurrency: int) -> None:
    running = 0
    peak = 0

    async def work(ctx: StepContext[N]) -> N:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):
            await asyncio.sleep(0)
        running -= 1
        return N(n=ctx.input_data.n * 10)

    step = Step("work", N, N, work)
    workflow = Workflow("wf", None).foreach(step, concurrency=concurrency).commit()
    items = [{"n": i} for i in range(7)]
    chunks, stream = await run_workflow(workflow, items)
    assert peak == min(concurrency, 7)
    assert (await stream.result).result == [{"n": i * 10} for i in range(7)]
    assert sum(c.type == "workflow-step-start" for c in chunks) == 1


async def test_foreach_item_writes_appear_under_the_foreach_step() -> None:
    workflow = Workflow("wf", None).foreach(inc(), concurrency=2).commit()
    chunks, _ = await run_workflow(workflow, [{"n": 1}, {"n": 2}])
    outputs = [c for c in chunks if c.type == "workflow-step-output"]
    assert [o.payload.output for o in outputs] == [
        {"custom": "hello", "n": 1},
        {"custom": "hello", "n": 2},
    ]
    assert {o.payload.step_name for o in outputs} == {"inc"}


async def test_foreach_of_an_empty_list_succeeds_with_an_empty_list() -> None:
    workflow = Workflow("wf", None).foreach(inc()).commit()
    _, stream = await run_workflow(workflow, [])
    assert (await stream.result).result == []


async def test_nested_workflow_is_a_step_around_its_dotted_children() -> None:
    inner = Workflow("inner-wf", N, N).then(inc()).then(dbl()).commit()
    outer = Workflow("wf-outer", N, N).then(inner).then(dbl()).commit()
    chunks, stream = await run_workflow(outer, {"n": 1}, run_id="run-nested")
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "inner-wf"),
        ("workflow-step-start", "inner-wf.inc"),
        ("workflow-step-output", "inc"),  # Mastra: the bare inner id here
        ("workflow-step-result", "inner-wf.inc"),
        ("workflow-step-start", "inner-wf.dbl"),
        ("workflow-step-result", "inner-wf.dbl"),
        ("workflow-step-result", "inner-wf"),
        ("workflow-step-start", "dbl"),
        ("workflow-step-result", "dbl"),
        ("workflow-finish", None),
    ]
    assert {c.run_id for c in chunks} == {"run-nested"}
    assert chunks[3].payload.run_id == "run-nested"
    assert chunks[7].payload.output == {"n": 4}
    result = await stream.result
    assert result.result == {"n": 8}
    assert list(result.steps) == ["inner-wf", "inner-wf.inc", "inner-wf.dbl", "dbl"]
    assert result.steps["inner-wf.dbl"].output == {"n": 4}


async def test_nested_workflows_in_a_parallel_block_interleave_in_one_stream() -> None:
    left = Workflow("left", N, N).then(later("l1", 2)).then(later("l2", 2)).commit()
    right = Workflow("right", N, N).then(later("r1", 1)).commit()
    outer = Workflow("outer", N).parallel([left, right]).commit()
    chunks, stream = await run_workflow(outer, {"n": 0})
    assert chunks[1:3] == [c for c in chunks if c.type == "workflow-step-start"][:2]
    assert (await stream.result).result == {"left": {"n": 2}, "right": {"n": 1}}


async def test_get_step_result_and_state_are_shared_by_the_run() -> None:
    def first(ctx: StepContext[N]) -> N:
        ctx.state["seen"] = ["first"]
        return N(n=ctx.input_data.n + 100)

    def second(ctx: StepContext[Any]) -> dict[str, Any]:
        ctx.state["seen"].append("second")
        return {
            "first": ctx.get_step_result("first"),
            "by_step": ctx.get_step_result(first_step),
            "missing": ctx.get_step_result("nope"),
            "init": ctx.get_init_data(),
            "run_id": ctx.run_id,
            "workflow_id": ctx.workflow_id,
        }

    first_step = Step("first", N, N, first)
    workflow = Workflow("wf", N).then(first_step).then(Step("second", None, None, second)).commit()
    _, stream = await run_workflow(workflow, {"n": 1}, run_id="r1")
    result = await stream.result
    assert result.result == {
        "first": {"n": 101},
        "by_step": {"n": 101},
        "missing": None,
        "init": {"n": 1},
        "run_id": "r1",
        "workflow_id": "wf",
    }
    assert result.state == {"seen": ["first", "second"]}


async def test_initial_state_is_the_runs_starting_state() -> None:
    def read(ctx: StepContext[Any]) -> Any:
        return ctx.state["count"]

    workflow = Workflow("wf").then(Step("read", None, None, read)).commit()
    run = await workflow.create_run()
    assert (await run.start(initial_state={"count": 7})).result == 7


async def test_map_reshapes_the_previous_output_as_a_mapping_step() -> None:
    workflow = (
        Workflow("wf", N, N)
        .then(inc())
        .map(lambda ctx: {"n": ctx.input_data["n"] * 100})
        .map(lambda ctx: {"n": ctx.get_step_result("inc")["n"]}, id="back")
        .commit()
    )
    chunks, stream = await run_workflow(workflow, {"n": 1})
    ids = [c.payload.id for c in chunks if c.type == "workflow-step-start"]
    assert ids == ["inc", "mapping_wf_0", "back"]
    assert (await stream.result).steps["mapping_wf_0"].output == {"n": 200}
    assert (await stream.result).result == {"n": 2}


_RUN_OR_OUTPUT = ("workflow-start", "workflow-step-output", "workflow-finish")


async def test_sleep_waits_and_passes_its_input_through() -> None:
    workflow = Workflow("wf", N, N).then(inc()).sleep(0.001).then(dbl()).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    opened = [(t, i) for t, i in events(chunks) if t not in _RUN_OR_OUTPUT]
    assert opened == [
        ("workflow-step-start", "inc"),
        ("workflow-step-result", "inc"),
        ("workflow-step-waiting", "sleep_wf_0"),
        ("workflow-step-result", "sleep_wf_0"),
        ("workflow-step-start", "dbl"),
        ("workflow-step-result", "dbl"),
    ]
    assert (await stream.result).result == {"n": 4}


async def test_sync_and_async_steps_are_both_supported() -> None:
    async def async_step(ctx: StepContext[N]) -> N:
        await asyncio.sleep(0)
        return N(n=ctx.input_data.n + 1)

    workflow = (
        Workflow("wf", N, N)
        .then(Step("a", N, N, async_step))
        .then(Step("b", N, N, lambda ctx: {"n": ctx.input_data.n + 1}))
        .commit()
    )
    _, stream = await run_workflow(workflow, {"n": 0})
    assert (await stream.result).result == {"n": 2}


async def test_stream_returns_before_any_step_runs() -> None:
    ran: list[str] = []
    step = Step("s", None, None, lambda ctx: ran.append("s"))
    workflow = Workflow("wf").then(step).commit()
    run = await workflow.create_run()
    stream = await run.stream()
    assert ran == []
    assert stream.chunks == []
    await collect(stream)
    assert ran == ["s"]


async def test_late_readers_replay_and_awaitables_resolve_in_any_order() -> None:
    workflow = Workflow("wf", N, N).then(inc()).commit()
    run = await workflow.create_run()
    stream = await run.stream(input_data={"n": 1})
    assert (await stream.result).result == {"n": 2}  # awaited before anything was read
    assert (await stream.usage).total_tokens == 0
    first = await collect(stream)
    second = await collect(stream)
    assert first == second
    assert await stream.status == "success"
    assert run.status == "success"


async def test_observable_is_the_shared_stream() -> None:
    workflow = Workflow("wf", N, N).then(inc()).then(dbl()).commit()
    run = await workflow.create_run()
    stream = await run.stream(input_data={"n": 1})
    done = asyncio.get_running_loop().create_future()
    seen: list[Any] = []
    stream.observable.subscribe(seen.append, done.set_exception, lambda: done.set_result(None))
    await done
    assert seen == list(stream.chunks)


async def test_workflow_observe_is_cold_one_run_per_subscription() -> None:
    workflow = Workflow("wf", N, N).then(inc()).commit()
    source = workflow.observe({"n": 1})

    async def one() -> list[Any]:
        done = asyncio.get_running_loop().create_future()
        seen: list[Any] = []
        source.subscribe(seen.append, done.set_exception, lambda: done.set_result(None))
        await done
        return seen

    first, second = await one(), await one()
    assert first[0].run_id != second[0].run_id
    assert first[-1].payload.final_workflow_result == {"n": 2}


async def test_usage_equals_reduce_usage_over_the_stream_without_agents() -> None:
    workflow = Workflow("wf", N, N).then(inc()).commit()
    _, stream = await run_workflow(workflow, {"n": 1})
    total: list[Any] = []
    stream.observable.pipe(reduce_usage()).subscribe(total.append)
    assert total == [await stream.usage]


async def test_a_branch_step_that_waits_completes() -> None:
    workflow = Workflow("wf", N).branch([(lambda ctx: True, later("waits", 2))]).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert events(chunks)[-2:] == [("workflow-step-result", "waits"), ("workflow-finish", None)]
    assert (await stream.result).result == {"waits": {"n": 2}}


async def test_set_state_replaces_the_runs_state() -> None:
    def reset(ctx: StepContext[Any]) -> Any:
        ctx.set_state({"fresh": True})
        return ctx.state

    workflow = Workflow("wf").then(Step("reset", None, None, reset)).commit()
    run = await workflow.create_run()
    result = await run.start(initial_state={"old": 1})
    assert result.result == {"fresh": True}
    assert result.state == {"fresh": True}
