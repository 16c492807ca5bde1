"""Failures: failed steps, settling parallel siblings, retries, validation, conditions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tenacity

from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.workflow import Step, StepContext, Workflow

from .conftest import N, boom, dbl, events, inc, later, run_workflow, wire


async def test_a_failed_step_fails_the_run_and_later_steps_never_start() -> None:
    workflow = Workflow("wf", N, N).then(inc()).then(boom()).then(dbl()).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert events(chunks)[-3:] == [
        ("workflow-step-start", "boom"),
        ("workflow-step-result", "boom"),
        ("workflow-finish", None),
    ]
    failed = wire(chunks[-2])["payload"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"message": "step exploded", "name": "RuntimeError"}
    assert "output" not in failed
    assert set(failed) == {
        "id",
        "stepName",
        "stepCallId",
        "payload",
        "startedAt",
        "status",
        "error",
        "endedAt",
    }
    finish = wire(chunks[-1])["payload"]
    assert finish["workflowStatus"] == "failed"
    assert "finalWorkflowResult" not in finish
    assert "error" not in finish
    result = await stream.result  # resolves, does not raise
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.name, result.error.message) == ("RuntimeError", "step exploded")
    assert result.steps["boom"].status == "failed"
    assert "dbl" not in result.steps
    assert await stream.status == "failed"


async def test_parallel_siblings_settle_before_the_block_fails() -> None:
    workflow = (
        Workflow("wf", N)
        .parallel([later("quick-fail", 1, fail=True), later("slow", 4)])
        .then(Step("after", None, None, lambda ctx: ctx.input_data))
        .commit()
    )
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "quick-fail"),
        ("workflow-step-start", "slow"),
        ("workflow-step-result", "quick-fail"),
        ("workflow-step-result", "slow"),
        ("workflow-finish", None),
    ]
    assert chunks[4].payload.status == "success"
    result = await stream.result
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.message == "quick-fail failed"


async def test_the_first_failure_in_declaration_order_is_the_blocks_error() -> None:
    workflow = (
        Workflow("wf", N).parallel([later("a", 3, fail=True), later("b", 1, fail=True)]).commit()
    )
    _, stream = await run_workflow(workflow, {"n": 1})
    error = (await stream.result).error
    assert error is not None
    assert error.message == "a failed"


async def test_a_failure_inside_a_nested_workflow_fails_both_levels() -> None:
    inner = Workflow("inner", N, N).then(boom()).then(dbl()).commit()
    outer = Workflow("outer", N, N).then(inner).then(inc()).commit()
    chunks, stream = await run_workflow(outer, {"n": 1})
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "inner"),
        ("workflow-step-start", "inner.boom"),
        ("workflow-step-result", "inner.boom"),
        ("workflow-step-result", "inner"),
        ("workflow-finish", None),
    ]
    assert chunks[4].payload.status == "failed"
    assert chunks[4].payload.error.message == "step exploded"
    assert (await stream.result).status == "failed"


async def test_a_foreach_failure_stops_new_items_and_fails_the_step() -> None:
    started: list[int] = []

    async def work(ctx: StepContext[N]) -> N:
        started.append(ctx.input_data.n)
        await asyncio.sleep(0)
        if ctx.input_data.n == 1:
            raise ValueError("item 1 failed")
        return ctx.input_data

    workflow = Workflow("wf", None).foreach(Step("work", N, N, work), concurrency=2).commit()
    chunks, stream = await run_workflow(workflow, [{"n": i} for i in range(6)])
    assert started == [0, 1, 2]  # 0 and 1 run; 2 started when 0 finished; then 1 failed
    result = await stream.result
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.message == "item 1 failed"
    assert events(chunks)[-2] == ("workflow-step-result", "work")


async def test_foreach_needs_a_list() -> None:
    workflow = Workflow("wf", None).foreach(inc()).commit()
    _, stream = await run_workflow(workflow, {"n": 1})
    result = await stream.result
    assert result.status == "failed"
    assert result.error is not None
    assert "needs a list" in result.error.message


async def test_invalid_workflow_input_is_refused_before_anything_starts() -> None:
    workflow = Workflow("wf", N, N).then(inc()).commit()
    run = await workflow.create_run()
    with pytest.raises(InvalidInputError, match=r"input of workflow 'wf'.*n"):
        await run.stream(input_data={"n": "not a number"})
    assert run.status == "pending"
    with pytest.raises(InvalidInputError):
        _ = workflow.observe({"m": 1})
    stream = await run.stream(input_data={"n": 1})  # the run is still usable
    assert (await stream.result).status == "success"


async def test_invalid_step_output_fails_the_step() -> None:
    step = Step("bad", N, N, lambda ctx: {"n": "many"})
    workflow = Workflow("wf", N).then(step).commit()
    _, stream = await run_workflow(workflow, {"n": 1})
    result = await stream.result
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.name == "InvalidInputError"
    assert "output of step 'bad'" in result.error.message


async def test_invalid_workflow_output_fails_the_run() -> None:
    step = Step("loose", N, None, lambda ctx: {"m": 1})
    workflow = Workflow("wf", N, N).then(step).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    result = await stream.result
    assert result.status == "failed"
    assert result.error is not None
    assert "output of workflow 'wf'" in result.error.message
    assert wire(chunks[-1])["payload"]["workflowStatus"] == "failed"


async def test_a_failing_branch_condition_fails_the_run() -> None:
    def broken(ctx: StepContext[Any]) -> bool:
        raise KeyError("missing")

    workflow = Workflow("wf", N).branch([(broken, inc()), (lambda ctx: True, dbl())]).commit()
    chunks, stream = await run_workflow(workflow, {"n": 1})
    assert events(chunks) == [("workflow-start", None), ("workflow-finish", None)]
    error = (await stream.result).error
    assert error is not None
    assert error.name == "KeyError"
    assert "branch condition" in error.message


async def test_a_failing_loop_condition_fails_the_run() -> None:
    workflow = Workflow("wf", N).dountil(inc(), lambda ctx: bool(1 / 0)).commit()
    _, stream = await run_workflow(workflow, {"n": 1})
    error = (await stream.result).error
    assert error is not None
    assert error.name == "ZeroDivisionError"


async def test_retries_rerun_a_failing_step_before_it_counts_as_failed() -> None:
    attempts: list[int] = []

    async def flaky(ctx: StepContext[N]) -> N:
        attempts.append(ctx.retry_count)
        await ctx.writer.write({"attempt": ctx.retry_count})
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return ctx.input_data

    workflow = Workflow("wf", N, N).then(Step("flaky", N, N, flaky, retries=2)).commit()
    chunks, stream = await run_workflow(workflow, {"n": 5})
    assert attempts == [0, 1, 2]
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "flaky"),
        ("workflow-step-output", "flaky"),
        ("workflow-step-output", "flaky"),
        ("workflow-step-output", "flaky"),
        ("workflow-step-result", "flaky"),
        ("workflow-finish", None),
    ]
    assert (await stream.result).result == {"n": 5}


async def test_retries_give_up_after_the_last_attempt() -> None:
    calls = 0

    def always(ctx: StepContext[N]) -> N:
        nonlocal calls
        calls += 1
        raise ConnectionError(f"attempt {calls}")

    workflow = Workflow("wf", N).then(Step("always", N, N, always, retries=2)).commit()
    _, stream = await run_workflow(workflow, {"n": 1})
    result = await stream.result
    assert calls == 3
    assert result.error is not None
    assert result.error.message == "attempt 3"


async def test_a_tenacity_policy_decides_which_errors_are_retried_and_how_long_to_wait() -> None:
    calls: list[str] = []

    def picky(ctx: StepContext[N]) -> N:
        calls.append("call")
        if len(calls) == 1:
            raise ConnectionError("transient")
        raise ValueError("permanent")

    policy = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(5),
        wait=tenacity.wait_fixed(0.001),
        retry=tenacity.retry_if_exception_type(ConnectionError),
    )
    workflow = Workflow("wf", N).then(Step("picky", N, N, picky, retries=policy)).commit()
    _, stream = await run_workflow(workflow, {"n": 1})
    result = await stream.result
    assert calls == ["call", "call"]
    assert result.error is not None
    assert result.error.message == "permanent"


def test_bad_retry_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="retries"):
        Step("s", None, None, lambda ctx: None, retries=-1)
    with pytest.raises(ConfigurationError, match="retries"):
        Step("s", None, None, lambda ctx: None, retries="3")  # type: ignore[arg-type]


async def test_an_exception_in_a_sync_step_is_a_failure_not_a_crash() -> None:
    workflow = Workflow("wf").then(Step("s", None, None, lambda ctx: [][1])).commit()
    _, stream = await run_workflow(workflow)
    error = (await stream.result).error
    assert error is not None
    assert error.name == "IndexError"
