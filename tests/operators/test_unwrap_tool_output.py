from __future__ import annotations

from typing import Any

import pytest
import reactivex
from hypothesis import given
from reactivex import operators as ops

from rxagents.agent import Agent, ToolContext, tool
from rxagents.errors import InvalidInputError
from rxagents.events import (
    Chunk,
    DataChunk,
    TextDelta,
    TextDeltaPayload,
    ToolCall,
    ToolCallPayload,
    ToolOutput,
    ToolOutputPayload,
    parse_chunk,
)
from rxagents.models import ScriptedModel
from rxagents.operators import unwrap_tool_output
from rxagents.testing import assert_well_formed, chunk_records, run_marbles
from rxagents.testing.strategies import agent_chunk_streams


def delta(text: str, run_id: str = "sub-1") -> TextDelta:
    return TextDelta(run_id=run_id, payload=TextDeltaPayload(id="t1", text=text))


def output(value: Any, call_id: str = "c1", name: str = "agent-research") -> ToolOutput:
    payload = ToolOutputPayload(output=value, tool_call_id=call_id, tool_name=name)
    return ToolOutput(run_id="run-1", payload=payload)


def tool_call(call_id: str = "c1", name: str = "agent-research") -> ToolCall:
    payload = ToolCallPayload(tool_call_id=call_id, tool_name=name, args={"prompt": "go"})
    return ToolCall(run_id="run-1", payload=payload)


def collect(chunks: list[Any], *operators: Any) -> list[Any]:
    out: list[Any] = []
    reactivex.from_iterable(chunks).pipe(*operators).subscribe(out.append)
    return out


def test_unwrap_tool_output_emits_nested_chunks_and_drops_the_rest() -> None:
    a, b = delta("a"), delta("b")
    chunks: list[Chunk] = [tool_call(), output(a), output({"pct": 50}), output("text"), output(b)]

    result = run_marbles(unwrap_tool_output(), chunk_records(chunks))

    assert result.values == [a, b]
    assert result.times == [220.0, 250.0]
    assert result.completed
    assert [(s.subscribe, s.unsubscribe) for s in result.subscriptions] == [(200, 260)]


def test_unwrap_tool_output_forwards_errors() -> None:
    boom = RuntimeError("boom")

    result = run_marbles(unwrap_tool_output(), chunk_records([output(delta("a"))], error=boom))

    assert result.values == [delta("a")]
    assert result.error is boom
    assert [(s.subscribe, s.unsubscribe) for s in result.subscriptions] == [(200, 220)]


def test_unwrap_tool_output_disposal_reaches_the_source() -> None:
    records = chunk_records([output(delta("a")), output(delta("b"))], interval=500)

    result = run_marbles(unwrap_tool_output(), records, disposed=400)

    assert result.values == [delta("a")]
    assert [(s.subscribe, s.unsubscribe) for s in result.subscriptions] == [(200, 400)]


def test_unwrap_tool_output_keeps_one_tool_or_one_call() -> None:
    chunks = [
        output(delta("a", "r-a"), "c1", "agent-a"),
        output(delta("b", "r-b"), "c2", "agent-b"),
        output(delta("c", "r-c"), "c3", "agent-a"),
    ]

    assert collect(chunks, unwrap_tool_output("agent-a")) == [
        delta("a", "r-a"),
        delta("c", "r-c"),
    ]
    assert collect(chunks, unwrap_tool_output(tool_call_id="c2")) == [delta("b", "r-b")]
    assert collect(chunks, unwrap_tool_output("agent-a", "c2")) == []


def test_unwrap_tool_output_gives_data_outputs_as_data_chunks() -> None:
    nested = DataChunk.model_validate({"type": "data-progress", "data": 1, "run_id": "sub-1"})
    wire_data = {"type": "data-status", "data": {"ok": True}, "id": "s1"}
    chunks = [output(nested), output(wire_data), output({"type": "status", "data": 1})]

    out = collect(chunks, unwrap_tool_output())

    assert out[0] is nested
    assert isinstance(out[1], DataChunk)
    assert out[1].model_dump(by_alias=True) == wire_data
    assert len(out) == 2


def test_unwrap_tool_output_skips_data_outputs_that_are_no_data_chunk() -> None:
    bad = {"type": "data-x", "id": 5}  # an id must be a string

    assert collect([output(bad)], unwrap_tool_output()) == []


def test_unwrap_tool_output_removes_one_level_unless_recursive() -> None:
    deepest = delta("deep", "sub-sub-1")
    middle = ToolOutput(
        run_id="sub-1",
        payload=ToolOutputPayload(output=deepest, tool_call_id="s1", tool_name="agent-inner"),
    )
    progress = ToolOutput(
        run_id="sub-1",
        payload=ToolOutputPayload(output={"pct": 1}, tool_call_id="s1", tool_name="agent-inner"),
    )
    chunks = [output(delta("a")), output(middle), output(progress)]

    assert collect(chunks, unwrap_tool_output()) == [delta("a"), middle, progress]
    assert collect(chunks, unwrap_tool_output(recursive=True)) == [delta("a"), deepest, progress]
    twice = collect(chunks, unwrap_tool_output(), unwrap_tool_output())
    assert twice == [deepest]


def test_unwrap_tool_output_reads_parsed_wire_streams() -> None:
    chunks = [tool_call(), output(delta("a")), output({"pct": 5})]
    wire = [parse_chunk(chunk.model_dump(by_alias=True)) for chunk in chunks]

    assert collect(wire, unwrap_tool_output()) == [delta("a")]


@pytest.mark.parametrize("bad", [{"tool_name": ""}, {"tool_call_id": 3}, {"tool_name": b"x"}])
def test_unwrap_tool_output_rejects_bad_filters(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="non-empty str"):
        unwrap_tool_output(**bad)


@given(agent_chunk_streams(run_id="sub-1", include_aborts=True, include_errors=True))
def test_unwrap_tool_output_gives_back_a_piped_stream(stream: list[Chunk]) -> None:
    wrapped = [tool_call(), *(output(chunk) for chunk in stream)]

    out = collect(wrapped, unwrap_tool_output("agent-research", "c1"))

    assert out == stream
    assert all(a is b for a, b in zip(out, stream, strict=True))


@given(agent_chunk_streams(run_id="sub-1"), agent_chunk_streams(run_id="sub-2"))
def test_group_by_run_separates_interleaved_nested_runs(
    first: list[Chunk], second: list[Chunk]
) -> None:
    a, b = [output(c, "c1") for c in first], [output(c, "c2") for c in second]
    mixed = [x for pair in zip(a, b, strict=False) for x in pair]
    mixed += a[len(b) :] + b[len(a) :]  # alternate, then the rest of the longer one
    groups: dict[str, list[Chunk]] = {}

    reactivex.from_iterable(mixed).pipe(
        unwrap_tool_output(),
        ops.group_by(lambda chunk: chunk.run_id),
        ops.flat_map(lambda group: group.pipe(ops.to_list())),
    ).subscribe(lambda chunks: groups.setdefault(chunks[0].run_id, chunks))

    assert groups == {"sub-1": first, "sub-2": second}


def text_step(text: str) -> list[dict[str, Any]]:
    usage = {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}
    return [
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": text},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop", "usage": usage},
    ]


async def test_unwrap_tool_output_gives_back_the_stream_a_tool_piped() -> None:
    inner_chunks: list[Chunk] = []

    @tool(description="Ask the researcher.")
    async def research(ctx: ToolContext) -> str:
        researcher = Agent("researcher", model=ScriptedModel([text_step("42")]))
        nested = await researcher.stream("find the answer")
        await ctx.writer.write({"status": "asking"})
        await ctx.writer.pipe(nested)
        inner_chunks.extend([chunk async for chunk in nested])
        return await nested.text

    call = {"type": "tool-call", "toolCallId": "c1", "toolName": "research", "input": "{}"}
    finish = {"type": "finish", "finishReason": "tool-calls"}
    model = ScriptedModel([[call, finish], text_step("It is 42.")])
    stream = await Agent("boss", model=model, tools=[research]).stream("what is it?")
    chunks = [chunk async for chunk in stream]
    out: list[Chunk] = []

    stream.observable.pipe(unwrap_tool_output("research")).subscribe(out.append)

    assert out == inner_chunks
    assert [chunk.type for chunk in out] == [
        "start",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    assert {chunk.run_id for chunk in out} == {inner_chunks[0].run_id} != {stream.run_id}
    assert_well_formed(chunks)
    assert_well_formed(out)
