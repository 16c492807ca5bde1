"""Cancelling a network stops the active primitive and the loop; the stream ends with abort."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import pytest
import reactivex
from reactivex import operators as ops

from rxagents import Agent, tool
from rxagents.errors import RunError
from rxagents.events import Chunk
from rxagents.models import FunctionModel, ModelCall
from rxagents.network import NetworkStream
from rxagents.operators import filter_type, reduce_usage
from rxagents.testing import assert_well_formed
from rxagents.usage import Usage
from rxagents.workflow import StepContext

from .conftest import (
    MEMORY,
    ReportIn,
    Router,
    is_routing,
    network_agent,
    report_workflow,
    route,
    text_parts,
    verdict,
)


class Stall:
    """Something that starts, then waits until cancelled; records both."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def wait(self) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def stalling_agent(stall: Stall) -> Agent:
    async def reply(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        yield {"type": "text-start", "id": "t"}
        yield {"type": "text-delta", "id": "t", "delta": "Thinking"}
        await stall.wait()
        yield {"type": "text-end", "id": "t"}  # pragma: no cover - never reached

    return Agent("research", model=FunctionModel(reply))


async def read_until(stream: NetworkStream, kind: str) -> list[Chunk]:
    seen: list[Chunk] = []
    async for chunk in stream:
        seen.append(chunk)
        if chunk.type == kind:
            return seen
    raise AssertionError(f"{kind} never came")


def usage_of_stream(chunks: list[Chunk]) -> Usage:
    out: list[Usage] = []
    reactivex.from_iterable(chunks).pipe(reduce_usage()).subscribe(out.append)
    return out[0]


async def assert_cancelled(stream: NetworkStream) -> list[Chunk]:
    chunks = list(stream.chunks)
    assert stream.done
    assert stream.cancelled
    assert chunks[-1].type == "abort"
    assert chunks[-1].from_ == "NETWORK"
    assert chunks[-1].run_id == stream.run_id
    assert_well_formed(chunks)
    assert await stream.status == "canceled"
    assert await stream.usage == usage_of_stream(chunks)
    with pytest.raises(RunError, match="cancelled"):
        await stream.result
    return chunks


async def test_cancelling_during_a_sub_agent_aborts_it() -> None:
    stall = Stall()
    router = Router([route("research", "agent", "Think")])
    agent = network_agent(router, agents={"research": stalling_agent(stall)})
    stream = await agent.network("Task", memory=MEMORY)
    await read_until(stream, "agent-execution-event-text-delta")
    await stall.started.wait()
    stream.cancel()
    chunks = await assert_cancelled(stream)
    assert [c.type for c in chunks[-3:]] == [
        "agent-execution-event-text-end",
        "agent-execution-event-abort",
        "abort",
    ]
    await asyncio.wait_for(stall.cancelled.wait(), 5)
    assert len(router.check_calls) == 0  # the loop stopped


async def test_cancelling_during_a_tool_cancels_its_task() -> None:
    stall = Stall()

    @tool
    async def slow(text: str) -> str:
        """Wait forever."""
        await stall.wait()
        return text  # pragma: no cover - never reached

    router = Router([route("slow", "tool", {"text": "x"})])
    stream = await network_agent(router, tools={"slow": slow}).network("Task", memory=MEMORY)
    await read_until(stream, "tool-execution-start")
    await stall.started.wait()
    stream.cancel()
    chunks = await assert_cancelled(stream)
    assert [c.type for c in chunks[-2:]] == ["tool-execution-start", "abort"]
    await asyncio.wait_for(stall.cancelled.wait(), 5)


async def test_cancelling_during_a_workflow_cancels_its_steps() -> None:
    stall = Stall()

    async def step(ctx: StepContext[ReportIn]) -> dict[str, str]:
        await stall.wait()
        return {"report": "never"}  # pragma: no cover - never reached

    router = Router([route("report", "workflow", {"topic": "x"})])
    agent = network_agent(router, workflows={"report": report_workflow(step)})
    stream = await agent.network("Task", memory=MEMORY)
    await read_until(stream, "workflow-execution-event-workflow-step-start")
    await stall.started.wait()
    stream.cancel()
    chunks = await assert_cancelled(stream)
    finish: Any = chunks[-2]
    assert finish.type == "workflow-execution-event-workflow-finish"
    assert finish.payload.payload.workflow_status == "canceled"
    await asyncio.wait_for(stall.cancelled.wait(), 5)


async def test_cancelling_during_routing_stops_the_router_call() -> None:
    stall = Stall()

    async def answer(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        assert is_routing(call)
        await stall.wait()
        yield {"type": "finish"}  # pragma: no cover - never reached

    router = Router([])
    router.model = FunctionModel(answer)
    agent = network_agent(router)
    stream = await agent.network("Task", memory=MEMORY)
    await read_until(stream, "routing-agent-start")
    await stall.started.wait()
    stream.cancel()
    chunks = await assert_cancelled(stream)
    assert [c.type for c in chunks] == ["routing-agent-start", "abort"]
    await asyncio.wait_for(stall.cancelled.wait(), 5)


async def test_the_last_reader_leaving_early_cancels_the_run() -> None:
    stall = Stall()
    router = Router([route("research", "agent", "Think")])
    agent = network_agent(router, agents={"research": stalling_agent(stall)})
    stream = await agent.network("Task", memory=MEMORY)
    reader = cast(AsyncGenerator[Chunk, None], aiter(stream))
    async for chunk in reader:
        if chunk.type == "agent-execution-event-text-delta":
            break
    await reader.aclose()  # what leaving ``async for`` does once the generator is finalised
    await assert_cancelled(stream)
    await asyncio.wait_for(stall.cancelled.wait(), 5)


async def test_cancelling_the_task_awaiting_the_result_cancels_the_run() -> None:
    stall = Stall()
    router = Router([route("research", "agent", "Think")])
    agent = network_agent(router, agents={"research": stalling_agent(stall)})
    stream = await agent.network("Task", memory=MEMORY)
    waiter = asyncio.ensure_future(_result(stream))
    await stall.started.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await assert_cancelled(stream)
    await asyncio.wait_for(stall.cancelled.wait(), 5)


async def _result(stream: NetworkStream) -> Any:
    return await stream.result


async def test_disposing_observe_network_stops_the_primitive() -> None:
    stall = Stall()
    router = Router([route("research", "agent", "Think")], [verdict(True, "done")])
    agent = network_agent(router, agents={"research": stalling_agent(stall)})
    seen: list[Chunk] = []
    subscription = agent.observe_network("Task", memory=MEMORY).subscribe(seen.append)
    await stall.started.wait()
    subscription.dispose()
    await asyncio.wait_for(stall.cancelled.wait(), 5)
    assert seen[-1].type == "agent-execution-event-text-delta"  # no abort: the subscriber left
    assert router.check_calls == []


async def test_a_network_can_be_cut_short_with_rx_operators() -> None:
    router = Router([route("research", "agent", "x")] * 3, default_check=verdict(False))
    agent = network_agent(router)
    source = agent.observe_network("Task", memory=MEMORY)
    first_end: Any = await source.pipe(filter_type("agent-execution-end"), ops.first())
    assert first_end.payload.result == "Dolphins are mammals."
    assert len(router.routing_calls) == 1


def test_text_parts_helper_splits_text() -> None:
    assert [p.get("delta") for p in text_parts("abcdef", pieces=3) if "delta" in p] == [
        "ab",
        "cd",
        "ef",
    ]


async def test_cancelling_before_the_sub_agent_started_leaves_no_inner_stream() -> None:
    router = Router([route("research", "agent", "Think")])
    stream = await network_agent(router).network("Task", memory=MEMORY)
    await read_until(stream, "agent-execution-start")  # the sub-agent starts on the next callback
    stream.cancel()
    chunks = await assert_cancelled(stream)
    assert [c.type for c in chunks[-2:]] == ["agent-execution-start", "abort"]
