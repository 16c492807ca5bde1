"""Cancellation: cancel(), the last reader leaving, task cancellation, running tools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from rxagents.agent import Agent, tool
from rxagents.models import FunctionModel, ModelCall
from rxagents.testing import assert_well_formed


class SlowModel:
    """A model streaming one delta, then waiting on an event; records when it is closed."""

    def __init__(self) -> None:
        self.first_sent = asyncio.Event()
        self.release = asyncio.Event()
        self.closed = asyncio.Event()

    def model(self) -> FunctionModel:
        async def fn(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
            try:
                yield {"type": "text-start", "id": "t"}
                yield {"type": "text-delta", "id": "t", "delta": "partial"}
                self.first_sent.set()
                await self.release.wait()
                yield {"type": "text-delta", "id": "t", "delta": " rest"}
                yield {"type": "text-end", "id": "t"}
                yield {"type": "finish", "finishReason": "stop"}
            finally:
                self.closed.set()

        return FunctionModel(fn)


async def wait_for(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), timeout=5)


async def test_cancel_disposes_the_model_and_ends_with_abort() -> None:
    slow = SlowModel()
    stream = await Agent("a", model=slow.model()).stream("hi")
    await wait_for(slow.first_sent)
    stream.cancel()
    await wait_for(slow.closed)
    chunks = [c async for c in stream]
    assert [c.type for c in chunks] == [
        "start",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "abort",
    ]
    assert_well_formed(chunks)
    assert await stream.text == "partial"
    assert await stream.finish_reason == "abort"
    assert stream.cancelled


async def test_last_reader_leaving_early_cancels_the_run() -> None:
    slow = SlowModel()
    stream = await Agent("a", model=slow.model()).stream("hi")
    async for chunk in stream:
        if chunk.type == "text-delta":
            break
    await wait_for(slow.closed)
    assert stream.cancelled
    assert stream.chunks[-1].type == "abort"


async def test_a_reader_leaving_while_another_reads_does_not_cancel() -> None:
    slow = SlowModel()
    stream = await Agent("a", model=slow.model()).stream("hi")
    other_started = asyncio.Event()

    async def keep_reading() -> list[str]:
        seen = []
        async for chunk in stream:
            seen.append(chunk.type)
            other_started.set()
        return seen

    other = asyncio.create_task(keep_reading())
    await wait_for(other_started)
    async for chunk in stream:
        if chunk.type == "text-delta":
            break
    await asyncio.sleep(0)
    assert not stream.cancelled
    slow.release.set()
    seen = await asyncio.wait_for(other, 5)
    assert seen[-1] == "finish"


async def test_an_awaiting_reader_keeps_the_run_alive() -> None:
    slow = SlowModel()
    stream = await Agent("a", model=slow.model()).stream("hi")
    text = asyncio.create_task(_await(stream.text))
    await wait_for(slow.first_sent)
    async for _ in stream:
        break
    await asyncio.sleep(0)
    assert not stream.cancelled
    slow.release.set()
    assert await asyncio.wait_for(text, 5) == "partial rest"


async def _await(awaitable: Any) -> Any:
    return await awaitable


async def test_cancelling_the_consuming_task_cancels_the_run() -> None:
    slow = SlowModel()

    async def consume() -> None:
        stream = await Agent("a", model=slow.model()).stream("hi")
        async for _ in stream:
            pass

    task = asyncio.create_task(consume())
    await wait_for(slow.first_sent)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    await wait_for(slow.closed)


async def test_cancelling_a_task_awaiting_text_cancels_the_run() -> None:
    slow = SlowModel()
    stream = await Agent("a", model=slow.model()).stream("hi")
    task = asyncio.create_task(_await(stream.text))
    await wait_for(slow.first_sent)
    task.cancel()
    (outcome,) = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)
    await wait_for(slow.closed)
    assert stream.cancelled
    assert await stream.text == "partial"  # the shared result survived the waiter's cancellation
    assert await stream.finish_reason == "abort"


async def test_cancel_cancels_a_running_tool() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    @tool
    async def wait_forever(x: int) -> int:
        """Block until cancelled."""
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return x

    def fn(call: ModelCall) -> list[dict[str, Any]]:
        return [
            {
                "type": "tool-call",
                "toolCallId": "c",
                "toolName": "wait_forever",
                "input": '{"x":1}',
            },
            {"type": "finish", "finishReason": "tool-calls"},
        ]

    stream = await Agent("a", model=FunctionModel(fn), tools=[wait_forever]).stream("hi")
    await wait_for(started)
    stream.cancel()
    await wait_for(cancelled)
    assert stream.chunks[-1].type == "abort"


async def test_disposing_observe_stops_emission() -> None:
    slow = SlowModel()
    seen: list[str] = []
    subscription = (
        Agent("a", model=slow.model()).observe("hi").subscribe(lambda c: seen.append(c.type))
    )
    await wait_for(slow.first_sent)
    subscription.dispose()
    await wait_for(slow.closed)
    count = len(seen)
    slow.release.set()
    await asyncio.sleep(0)
    assert len(seen) == count
    assert "abort" not in seen


async def test_cancel_after_the_end_changes_nothing() -> None:
    stream = await Agent(
        "a",
        model=FunctionModel(lambda call: [{"type": "text-delta", "id": "t", "delta": "x"}]),
    ).stream("hi")
    assert await stream.text == "x"
    stream.cancel()
    assert stream.chunks[-1].type == "finish"
    assert not stream.cancelled
