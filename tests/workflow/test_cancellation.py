"""Cancellation: ``run.cancel()``, readers leaving, disposal — and how a cancelled stream ends.

A cancelled stream ends with ``workflow-finish`` (``workflowStatus: "canceled"``); running
steps' tasks are cancelled and get no result chunk; ``await stream.result`` resolves with
status ``canceled``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rxagents.testing import assert_well_formed
from rxagents.workflow import RunStateError, Step, StepContext, Workflow

from .conftest import N, events, inc


class Cancelled:
    """Which blocking steps saw their cancellation; ``await wait(n)`` until ``n`` did."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._changed = asyncio.Event()

    def add(self, id: str) -> None:
        self.ids.append(id)
        self._changed.set()

    async def wait(self, count: int = 1) -> list[str]:
        while len(self.ids) < count:
            self._changed.clear()
            await self._changed.wait()
        return sorted(self.ids)


def blocking(id: str, started: asyncio.Event, cancelled: Cancelled) -> Step:
    async def wait_forever(ctx: StepContext[Any]) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.add(id)
            raise

    return Step(id, None, None, wait_forever)


async def test_cancel_before_the_first_step_runs_nothing() -> None:
    ran: list[str] = []
    workflow = Workflow("wf").then(Step("s", None, None, lambda ctx: ran.append("s"))).commit()
    run = await workflow.create_run(run_id="r")
    stream = await run.stream()
    run.cancel()
    chunks = [c async for c in stream]
    assert [c.type for c in chunks] == ["workflow-start", "workflow-finish"]
    assert getattr(chunks[-1].payload, "workflow_status", None) == "canceled"
    assert_well_formed(chunks)
    assert ran == []
    assert await stream.status == "canceled"
    assert run.status == "canceled"


async def test_cancel_stops_a_running_step_and_ends_the_replay_with_a_canceled_finish() -> None:
    started = asyncio.Event()
    cancelled = Cancelled()
    workflow = Workflow("wf").then(blocking("wait", started, cancelled)).then(inc()).commit()
    run = await workflow.create_run()
    stream = await run.stream()
    await started.wait()
    run.cancel()
    chunks = [c async for c in stream]
    assert events(chunks) == [
        ("workflow-start", None),
        ("workflow-step-start", "wait"),
        ("workflow-finish", None),
    ]
    assert getattr(chunks[-1].payload, "workflow_status", None) == "canceled"
    assert_well_formed(chunks)
    assert await cancelled.wait() == ["wait"]
    result = await stream.result
    assert result.status == "canceled"
    assert result.steps["wait"].status == "running"
    with pytest.raises(RunStateError, match="canceled"):
        await run.resume_stream()


async def test_cancel_reaches_every_running_sibling_in_a_parallel_block() -> None:
    a_started, b_started = asyncio.Event(), asyncio.Event()
    cancelled = Cancelled()
    workflow = (
        Workflow("wf")
        .parallel([blocking("a", a_started, cancelled), blocking("b", b_started, cancelled)])
        .commit()
    )
    run = await workflow.create_run()
    stream = await run.stream()
    await a_started.wait()
    await b_started.wait()
    stream.cancel()
    await stream.result
    assert await cancelled.wait(2) == ["a", "b"]


async def test_the_last_reader_leaving_cancels_the_run() -> None:
    started = asyncio.Event()
    cancelled = Cancelled()
    workflow = Workflow("wf").then(inc()).then(blocking("wait", started, cancelled)).commit()
    run = await workflow.create_run()
    stream = await run.stream(input_data={"n": 1})
    async for chunk in stream:
        if chunk.type == "workflow-step-start" and chunk.payload.id == "wait":
            break
    assert await cancelled.wait() == ["wait"]
    assert stream.cancelled
    assert await stream.status == "canceled"


async def test_cancel_during_a_sleep_step_drops_the_timer() -> None:
    workflow = Workflow("wf", N).sleep(30).then(inc()).commit()
    run = await workflow.create_run()
    stream = await run.stream(input_data={"n": 1})
    async for chunk in stream:
        if chunk.type == "workflow-step-waiting":  # a sleep opens by waiting
            run.cancel()
    assert await stream.status == "canceled"


async def test_cancel_during_a_loop_of_quick_steps_takes_effect() -> None:
    ticks = 0
    reached = asyncio.Event()

    def tick(ctx: StepContext[N]) -> N:
        nonlocal ticks
        ticks += 1
        if ticks == 200:
            reached.set()
        return N(n=ctx.input_data.n + 1)

    workflow = Workflow("wf", N).dowhile(Step("tick", N, N, tick), lambda ctx: True).commit()
    run = await workflow.create_run()
    stream = await run.stream(input_data={"n": 0})
    await reached.wait()  # possible only because a loop of quick steps yields now and then
    run.cancel()
    assert await stream.status == "canceled"
    stopped = ticks
    for _ in range(3):
        await asyncio.sleep(0)  # give a runaway loop the chance to show itself
    assert ticks == stopped


async def test_a_cancelled_pending_run_cannot_start() -> None:
    run = await Workflow("wf").then(inc()).commit().create_run()
    run.cancel()
    with pytest.raises(RunStateError):
        await run.stream()


async def test_disposing_an_observe_subscription_cancels_the_run() -> None:
    started = asyncio.Event()
    cancelled = Cancelled()
    workflow = Workflow("wf").then(blocking("wait", started, cancelled)).commit()
    seen: list[Any] = []
    subscription = workflow.observe().subscribe(seen.append)
    await started.wait()
    subscription.dispose()
    assert await cancelled.wait() == ["wait"]
    assert [c.type for c in seen] == ["workflow-start", "workflow-step-start"]


async def test_cancelling_a_resumption_leaves_the_run_suspended_and_resumable() -> None:
    started = asyncio.Event()
    cancelled = Cancelled()

    async def approve_then_wait(ctx: StepContext[Any]) -> Any:
        if ctx.resume_data is None:
            await ctx.suspend({"why": "approve"})
            return None
        if ctx.resume_data == {"wait": True}:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.add("approve")
                raise
        return ctx.resume_data

    workflow = Workflow("wf").then(Step("approve", None, None, approve_then_wait)).commit()
    run = await workflow.create_run()
    assert (await run.start()).status == "suspended"
    stream = await run.resume_stream(resume_data={"wait": True})
    await started.wait()
    stream.cancel()
    assert await stream.status == "canceled"
    assert await cancelled.wait() == ["approve"]
    assert run.status == "suspended"  # as its snapshot still says
    assert (await run.resume(resume_data={"wait": False})).result == {"wait": False}


async def test_a_first_stream_cancelled_through_the_stream_leaves_the_run_canceled() -> None:
    run = await Workflow("wf").then(inc()).commit().create_run()
    stream = await run.stream(input_data={"n": 1})
    stream.cancel()
    assert run.status == "canceled"
    with pytest.raises(RunStateError, match="canceled"):
        await run.stream(input_data={"n": 1})
