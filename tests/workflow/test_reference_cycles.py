"""A finished run leaves no reference cycles: reference counting alone frees all of it.

Each test runs a workflow once to warm up (lazily built parts of the workflow), then again
with the garbage collector disabled, drops every reference to the run and its stream, and
checks that ``gc.collect()`` finds nothing unreachable.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rxagents.storage import InMemoryStorage
from rxagents.workflow import Step, StepContext, Workflow
from tests._cycles import Drive, garbage_after

from .conftest import N, ask, boom, dbl, inc, later


def streamed(workflow: Workflow, expected: str) -> Drive:
    """Read a run's stream to its end."""

    async def drive() -> None:
        run = await workflow.create_run()
        stream = await run.stream(input_data={"n": 1})
        chunks = [chunk async for chunk in stream]
        assert chunks[-1].payload.workflow_status == expected
        assert run.status == expected

    return drive


def started(workflow: Workflow, expected: str) -> Drive:
    """``await run.start()``, reading nothing."""

    async def drive() -> None:
        run = await workflow.create_run()
        result = await run.start(input_data={"n": 1})
        assert result.status == expected

    return drive


def sequence() -> Workflow:
    return Workflow("wf-seq", N, N).then(inc()).then(later("wait")).then(dbl()).commit()


def parallel() -> Workflow:
    return Workflow("wf-par", N).parallel([inc(), later("wait"), dbl()]).commit()


def branch() -> Workflow:
    return (
        Workflow("wf-branch", N)
        .branch([(lambda ctx: ctx.input_data["n"] > 10, inc()), (lambda ctx: True, dbl())])
        .commit()
    )


def failing() -> Workflow:
    return Workflow("wf-fail", N, N).then(inc()).then(boom()).then(dbl()).commit()


async def test_a_streamed_sequence_leaves_no_cycles() -> None:
    assert await garbage_after(streamed(sequence(), "success")) == 0


async def test_a_started_sequence_leaves_no_cycles() -> None:
    assert await garbage_after(started(sequence(), "success")) == 0


async def test_a_parallel_block_leaves_no_cycles() -> None:
    assert await garbage_after(streamed(parallel(), "success")) == 0
    assert await garbage_after(started(parallel(), "success")) == 0


async def test_a_branch_leaves_no_cycles() -> None:
    assert await garbage_after(streamed(branch(), "success")) == 0
    assert await garbage_after(started(branch(), "success")) == 0


async def test_a_failed_run_leaves_no_cycles() -> None:
    assert await garbage_after(streamed(failing(), "failed")) == 0
    assert await garbage_after(started(failing(), "failed")) == 0


async def test_a_suspended_then_resumed_run_leaves_no_cycles() -> None:
    workflow = Workflow("wf-ask", N, N, storage=InMemoryStorage())
    workflow = workflow.then(inc()).then(ask()).then(dbl()).commit()

    async def drive() -> None:
        run = await workflow.create_run()
        first = await run.stream(input_data={"n": 1})
        assert [chunk async for chunk in first][-1].payload.workflow_status == "suspended"
        resumed = await run.resume_stream(step="ask", resume_data={"ok": True})
        assert [chunk async for chunk in resumed][-1].payload.workflow_status == "success"
        assert (await resumed.result).result == {"n": 4}
        await run.saved()

    assert await garbage_after(drive) == 0


async def test_a_cancelled_run_leaves_no_cycles() -> None:
    async def wait_forever(ctx: StepContext[Any]) -> None:
        ctx_started.set()
        try:
            await asyncio.Event().wait()
        finally:
            ctx_ended.set()

    ctx_started = asyncio.Event()
    ctx_ended = asyncio.Event()
    workflow = Workflow("wf-cancel", N).then(inc()).then(Step("wait", N, None, wait_forever))
    workflow = workflow.commit()

    async def drive() -> None:
        ctx_started.clear()
        ctx_ended.clear()
        run = await workflow.create_run()
        stream = await run.stream(input_data={"n": 1})
        await ctx_started.wait()
        run.cancel()
        chunks = [chunk async for chunk in stream]
        assert chunks[-1].payload.workflow_status == "canceled"
        assert (await stream.result).status == "canceled"
        await ctx_ended.wait()
        await run.saved()

    assert await garbage_after(drive) == 0
