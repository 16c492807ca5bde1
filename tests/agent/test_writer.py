"""The tool writer: tool-output and data chunks inside a call's window, nested agents, usage."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rxagents.agent import Agent, ToolContext, ToolWriter, tool
from rxagents.errors import InvalidInputError, WriterClosedError
from rxagents.events import DataChunk, ToolOutput, ToolResult, parse_chunk
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.operators import reduce_usage
from rxagents.usage import Usage
from tests.agent.conftest import text_step, tool_step


def calling(name: str, args: dict[str, Any], *, then: str = "done") -> ScriptedModel:
    """A model that calls ``name`` once, then answers ``then``."""
    return ScriptedModel([tool_step(("call-1", name, json.dumps(args))), text_step(then)])


def inner_agent(*deltas: str, i: int = 3, o: int = 4) -> Agent:
    return Agent("inner", model=ScriptedModel([text_step(*deltas, i=i, o=o)], cycle=True))


def wire(chunks: list[Any]) -> list[dict[str, Any]]:
    return [c.model_dump(by_alias=True) for c in chunks]


async def total_of(stream: Any) -> Usage:
    totals: list[Usage] = []
    stream.observable.pipe(reduce_usage()).subscribe(totals.append)
    await stream.text
    return totals[0]


async def test_write_and_custom_land_between_the_call_and_its_result_as_in_mastra() -> None:
    @tool(description="Works in steps.")
    async def w1(n: int, ctx: ToolContext) -> dict[str, int]:
        await ctx.writer.write({"status": "working", "pct": 50})
        await ctx.writer.write("plain string")
        await ctx.writer.custom({"type": "data-progress", "data": {"pct": 75}})
        await ctx.writer.custom({"type": "not-data-prefixed", "data": {"x": 1}})
        return {"n": n}

    stream = await Agent("a", model=calling("w1", {"n": 1}), tools=[w1]).stream("go")
    chunks = [c async for c in stream]
    assert [c.type for c in chunks] == [
        "start",
        "step-start",
        "tool-call",
        "tool-output",
        "tool-output",
        "data-progress",
        "not-data-prefixed",
        "tool-result",
        "step-finish",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    dumped = wire(chunks)
    assert dumped[3] == {
        "type": "tool-output",
        "runId": stream.run_id,
        "from": "USER",
        "payload": {
            "output": {"status": "working", "pct": 50},
            "toolCallId": "call-1",
            "toolName": "w1",
        },
    }
    assert dumped[4]["payload"]["output"] == "plain string"
    assert dumped[5] == {"type": "data-progress", "data": {"pct": 75}}
    assert dumped[6] == {"type": "not-data-prefixed", "data": {"x": 1}}
    assert isinstance(chunks[5], DataChunk)
    assert chunks[5].run_id == stream.run_id
    assert "usage" not in dumped[7]["payload"]  # nothing nested: the result is Mastra's
    for chunk in dumped:  # every chunk reads back to the same wire form
        assert parse_chunk(json.dumps(chunk)).model_dump(by_alias=True) == chunk


async def test_custom_keeps_every_key_verbatim_and_write_wraps_even_data_values() -> None:
    @tool(description="Writes data.")
    async def w(ctx: ToolContext) -> int:
        await ctx.writer.custom(
            {"type": "data-progress", "id": "p1", "data": {"pct": 80}, "transient": True, "k": 1}
        )
        await ctx.writer.write({"type": "data-fromwrite", "data": {"a": 1}})
        return 0

    stream = await Agent("a", model=calling("w", {}), tools=[w]).stream("go")
    dumped = wire([c async for c in stream])
    assert dumped[3] == {
        "type": "data-progress",
        "id": "p1",
        "data": {"pct": 80},
        "transient": True,
        "k": 1,
    }
    assert dumped[4]["type"] == "tool-output"
    assert dumped[4]["payload"]["output"] == {"type": "data-fromwrite", "data": {"a": 1}}


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        ({"data": 1}, "string 'type'"),
        ({"type": "text-delta", "data": 1}, "vocabulary"),
        ({"type": "data-x", "runId": "r", "data": 1}, "no envelope"),
        ({"type": "data-x", "payload": {}}, "no envelope"),
        ({"type": "data-x", "data": float("nan")}, "NaN"),
        ({"type": "data-x", "data": object()}, "not JSON-compatible"),
    ],
)
async def test_custom_refuses_what_could_not_be_read_back(
    chunk: dict[str, Any], message: str
) -> None:
    writer = ToolWriter("r", "c", "t")
    with pytest.raises(InvalidInputError, match=message):
        await writer.custom(chunk)
    assert writer.written == []


async def test_a_bad_write_is_the_calls_error_and_the_run_goes_on() -> None:
    @tool(description="Writes a set.")
    async def w(ctx: ToolContext) -> int:
        await ctx.writer.write({1, 2})
        return 0

    stream = await Agent("a", model=calling("w", {}), tools=[w]).stream("go")
    chunks = [c async for c in stream]
    assert [c.type for c in chunks][2:4] == ["tool-call", "tool-error"]
    assert "not JSON-compatible" in chunks[3].payload.error.message
    assert await stream.text == "done"


async def test_nested_text_pipe_gives_one_output_per_delta_and_carries_its_usage() -> None:
    inner = inner_agent("inner ", "says hi", i=3, o=4)

    @tool(description="Asks another agent.")
    async def ask(q: str, ctx: ToolContext) -> str:
        nested = await inner.stream(q)
        await ctx.writer.pipe_text(nested)
        return await nested.text

    stream = await Agent("a", model=calling("ask", {"q": "hi"}), tools=[ask]).stream("go")
    chunks = [c async for c in stream]
    outputs = [c for c in chunks if isinstance(c, ToolOutput)]
    assert [o.payload.output for o in outputs] == ["inner ", "says hi"]
    result = next(c for c in chunks if isinstance(c, ToolResult))
    assert result.payload.result == "inner says hi"
    assert result.payload.usage == Usage(input_tokens=3, output_tokens=4, total_tokens=7)
    expected = Usage(input_tokens=15 + 10 + 3, output_tokens=5 + 5 + 4)
    assert await stream.usage == expected
    assert await total_of(stream) == expected
    assert chunks[-1].payload.output.usage.input_tokens == expected.input_tokens


async def test_nested_full_pipe_gives_every_inner_chunk_whole_with_its_own_run_id() -> None:
    inner = inner_agent("inner says hi", i=3, o=4)
    inner_ids: list[str] = []

    @tool(description="Asks another agent.")
    async def ask(q: str, ctx: ToolContext) -> str:
        nested = await inner.stream(q)
        inner_ids.append(nested.run_id)
        await ctx.writer.pipe(nested)
        return await nested.text

    stream = await Agent("a", model=calling("ask", {"q": "hi"}), tools=[ask]).stream("go")
    chunks = [c async for c in stream]
    nested = [c.payload.output for c in chunks if isinstance(c, ToolOutput)]
    assert [c.type for c in nested] == [
        "start",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    assert {c.run_id for c in nested} == set(inner_ids)
    assert {c.from_ for c in nested} == {"AGENT"}
    result = next(c for c in chunks if isinstance(c, ToolResult))
    assert "usage" not in result.payload.model_dump(by_alias=True)  # the step-finish shows it
    expected = Usage(input_tokens=15 + 10 + 3, output_tokens=5 + 5 + 4)
    assert await stream.usage == expected
    assert await total_of(stream) == expected
    dumped = wire(chunks)
    assert [parse_chunk(d).model_dump(by_alias=True) for d in dumped] == dumped


async def test_the_writer_is_an_rx_observer_of_a_nested_stream() -> None:
    inner = inner_agent("a", "b")

    @tool(description="Asks another agent.")
    async def ask(ctx: ToolContext) -> str:
        nested = await inner.stream("q")
        nested.observable.subscribe(ctx.writer)
        return await nested.text

    stream = await Agent("a", model=calling("ask", {}), tools=[ask]).stream("go")
    outputs = [c async for c in stream if isinstance(c, ToolOutput)]
    assert [o.payload.output.type for o in outputs][-1] == "finish"
    assert (await stream.usage).input_tokens == 15 + 10 + 3


async def test_a_sync_tool_writes_from_its_thread_before_its_result() -> None:
    threads: list[int] = []

    @tool(description="Counts in a thread.")
    def count(n: int, ctx: ToolContext) -> int:
        threads.append(threading.get_ident())
        for i in range(n):
            ctx.writer.write(i)  # not awaited: a sync tool
        return n

    stream = await Agent("a", model=calling("count", {"n": 50}), tools=[count]).stream("go")
    chunks = [c async for c in stream]
    assert threads[0] != threading.get_ident()
    kinds = [c.type for c in chunks]
    first, result = kinds.index("tool-output"), kinds.index("tool-result")
    assert kinds[first:result] == ["tool-output"] * 50
    assert [c.payload.output for c in chunks[first:result]] == list(range(50))


async def test_writing_after_the_call_ended_is_refused_and_emits_nothing() -> None:
    kept: list[ToolContext] = []

    @tool(description="Keeps its context.")
    async def keep(ctx: ToolContext) -> int:
        kept.append(ctx)
        return 1

    stream = await Agent("a", model=calling("keep", {}), tools=[keep]).stream("go")
    await stream.text
    before = len(stream.chunks)
    assert kept[0].writer.closed
    with pytest.raises(WriterClosedError, match="after its call ended"):
        await kept[0].writer.write("late")
    with pytest.raises(WriterClosedError):
        await kept[0].writer.custom({"type": "data-late", "data": 1})
    with pytest.raises(WriterClosedError):
        kept[0].writer.on_next("late")
    assert len(stream.chunks) == before


async def test_outputs_of_concurrent_calls_stay_inside_their_own_windows() -> None:
    release = asyncio.Event()

    @tool(description="Writes, waits, writes.")
    async def slow(tag: str, ctx: ToolContext) -> str:
        await ctx.writer.write(f"{tag}-1")
        if tag == "a":
            await release.wait()
        else:
            release.set()
        await ctx.writer.write(f"{tag}-2")
        return tag

    model = ScriptedModel(
        [
            tool_step(("c-a", "slow", '{"tag": "a"}'), ("c-b", "slow", '{"tag": "b"}')),
            text_step("ok"),
        ]
    )
    stream = await Agent("a", model=model, tools=[slow]).stream("go")
    chunks = [c async for c in stream]
    for call_id in ("c-a", "c-b"):
        positions = [
            i
            for i, c in enumerate(chunks)
            if c.type in ("tool-call", "tool-output", "tool-result")
            and c.payload.tool_call_id == call_id
        ]
        kinds = [chunks[i].type for i in positions]
        assert kinds == ["tool-call", "tool-output", "tool-output", "tool-result"]


async def test_cancelling_the_run_cancels_the_nested_agent_a_tool_pipes() -> None:
    started = asyncio.Event()
    closed = asyncio.Event()

    async def blocking(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"type": "text-start", "id": "t"}
            yield {"type": "text-delta", "id": "t", "delta": "thinking"}
            started.set()
            await asyncio.Event().wait()
            yield {"type": "finish", "finishReason": "stop"}
        finally:
            closed.set()

    inner = Agent("inner", model=FunctionModel(blocking))
    nested_streams: list[Any] = []

    @tool(description="Asks another agent.")
    async def ask(ctx: ToolContext) -> str:
        nested = await inner.stream("q")
        nested_streams.append(nested)
        await ctx.writer.pipe(nested)
        return "never"

    stream = await Agent("a", model=calling("ask", {}), tools=[ask]).stream("go")
    await asyncio.wait_for(started.wait(), 5)
    stream.cancel()
    await asyncio.wait_for(closed.wait(), 5)
    assert nested_streams[0].cancelled
    assert await stream.finish_reason == "abort"
    assert not any(c.type == "tool-result" for c in stream.chunks)


async def test_a_tool_run_alone_keeps_what_it_wrote() -> None:
    @tool(description="Reports.")
    async def report(ctx: ToolContext) -> int:
        await ctx.writer.write("half")
        await ctx.writer.custom({"type": "data-done", "data": True})
        return 1

    ctx = ToolContext("run", "call", "report")
    assert await report.run({}, ctx) == 1
    assert [c.model_dump(by_alias=True) for c in ctx.writer.written] == [
        {
            "type": "tool-output",
            "runId": "run",
            "from": "USER",
            "payload": {"output": "half", "toolCallId": "call", "toolName": "report"},
        },
        {"type": "data-done", "data": True},
    ]


async def test_usage_of_a_failed_nested_text_pipe_still_counts() -> None:
    inner = inner_agent("partial", i=2, o=1)

    @tool(description="Asks, then fails.")
    async def ask(ctx: ToolContext) -> str:
        await ctx.writer.pipe_text(await inner.stream("q"))
        raise RuntimeError("gave up")

    stream = await Agent("a", model=calling("ask", {}), tools=[ask]).stream("go")
    chunks = [c async for c in stream]
    error = next(c for c in chunks if c.type == "tool-error")
    assert error.payload.usage == Usage(input_tokens=2, output_tokens=1)
    assert await stream.usage == await total_of(stream)
    assert (await stream.usage).input_tokens == 15 + 10 + 2
