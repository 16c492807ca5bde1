"""Tools that stream, in the AI SDK v5 UI stream: data parts, and nested runs as bounded parts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pydantic_core
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rxagents.eventlog import chunk_json
from rxagents.events import parse_chunk
from tests.adapters.ai_sdk.test_ai_sdk import check_ui_stream, types, ui_now, ui_of
from tests.adapters.tool_streams import nested_agent, writer_agent, writer_workflow


async def wire_round_trip(stream: Any) -> list[Any]:
    """The run's chunks as a client reads them: dumped to JSON and parsed back."""
    return [parse_chunk(chunk_json(c)) async for c in stream]


def around_the_call(parts: Sequence[dict[str, Any]], call_id: str = "call-1") -> list[Any]:
    """The parts between the call's ``tool-input-available`` and its output."""
    kinds = [(p["type"], p.get("toolCallId")) for p in parts]
    first = kinds.index(("tool-input-available", call_id))
    last = kinds.index(("tool-output-available", call_id))
    return list(parts[first + 1 : last])


WRITER_PARTS = [
    {"type": "data-fromwrite", "data": {"a": 1}},  # a data-* value written: unwrapped
    {"type": "data-progress", "data": {"pct": 75}},
    {"type": "data-progress", "data": {"pct": 80}, "id": "p1", "transient": True},
    {"type": "data-progress", "data": {"pct": 81}},  # the extra key dropped
    # not-data-prefixed and the chunk without data: dropped
]


async def test_data_chunks_and_data_values_become_data_parts() -> None:
    parts = await ui_of(await writer_agent().stream("go"))
    check_ui_stream(parts)
    assert around_the_call(parts) == WRITER_PARTS
    assert types(parts)[-1] == "finish"


async def test_the_wire_form_converts_the_same() -> None:
    local = await ui_of(await writer_agent().stream("go"))
    remote = ui_now(await wire_round_trip(await writer_agent().stream("go")))
    assert around_the_call(remote) == around_the_call(local) == WRITER_PARTS


@pytest.mark.parametrize("sub_agents", [False, True])
async def test_plain_written_values_and_piped_text_stay_dropped(sub_agents: bool) -> None:
    agent = nested_agent("text-pipe-agent", text_only=True)
    parts = await ui_of(await agent.stream("go"), sub_agents=sub_agents)
    check_ui_stream(parts)
    assert around_the_call(parts) == []
    output = next(p for p in parts if p["type"] == "tool-output-available")
    assert output["output"] == "w0 w1 w2 "


async def test_a_nested_run_is_dropped_by_default_but_its_data_chunks_pass() -> None:
    parts = await ui_of(await nested_agent().stream("go"))
    check_ui_stream(parts)
    assert around_the_call(parts) == [
        {"type": "data-lookup", "data": {"topic": "dolphins"}, "id": "l1"}
    ]


def nested_parts(parts: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    between = around_the_call(parts)
    run_ids = {p["data"]["runId"] for p in between if p["type"].startswith("data-tool-agent")}
    assert len(run_ids) == 1
    return run_ids.pop(), between


@pytest.mark.parametrize("wire", [False, True])
async def test_sub_agents_shows_a_nested_run_as_bounded_parts(wire: bool) -> None:
    stream = await nested_agent().stream("go")
    if wire:
        parts = ui_now(await wire_round_trip(stream), sub_agents=True)
    else:
        parts = await ui_of(stream, sub_agents=True)
    check_ui_stream(parts)
    run, between = nested_parts(parts)
    about = {"toolCallId": "call-1", "runId": run}
    agent = {"agentId": "researcher"}
    call = {"toolCallId": "inner-1", "toolName": "lookup", "input": {"topic": "dolphins"}}
    tool_id = f"{run}:inner-1"
    assert between == [
        {
            "type": "data-tool-agent-tool",
            "id": tool_id,
            "data": {
                **about,
                "agentId": "researcher",
                "call": {**call, "state": "input-available"},
            },
        },
        # the nested tool's plain write is dropped; its data chunk passes
        {"type": "data-lookup", "data": {"topic": "dolphins"}, "id": "l1"},
        {
            "type": "data-tool-agent-tool",
            "id": tool_id,
            "data": {
                **about,
                **agent,
                "call": {**call, "state": "output-available", "output": "facts about dolphins"},
            },
        },
        *(
            {
                "type": "data-tool-agent-delta",
                "data": {**about, "type": "text", "id": "t1", "delta": word},
                "transient": True,
            }
            for word in ("w0 ", "w1 ", "w2 ")
        ),
        {
            "type": "data-tool-agent-text",
            "id": f"{run}:text:t1",
            "data": {
                **about,
                "agentId": "researcher",
                "type": "text",
                "id": "t1",
                "text": "w0 w1 w2 ",
            },
        },
    ]


def _envelope(kind: str, payload: dict[str, Any], run: str = "outer") -> dict[str, Any]:
    return {"type": kind, "runId": run, "from": "AGENT", "payload": payload}


def _written(inner: dict[str, Any]) -> dict[str, Any]:
    payload = {"output": inner, "toolCallId": "c1", "toolName": "ask"}
    return {**_envelope("tool-output", payload), "from": "USER"}


def test_a_nested_block_cut_short_is_sent_as_it_stands() -> None:
    call = {"toolCallId": "c1", "toolName": "ask", "args": {}}
    ended = {"text": "", "usage": {}}
    chunks = [
        _envelope("start", {"id": "a", "messageId": "m"}),
        _envelope("step-start", {"messageId": "m"}),
        _envelope("tool-call", call),
        _written(_envelope("text-start", {"id": "t"}, "inner")),
        _written(_envelope("text-delta", {"id": "t", "text": "half"}, "inner")),
        _envelope("tool-error", {**call, "error": {"name": "Error", "message": "cancelled"}}),
        _envelope("step-finish", {"stepResult": {"reason": "stop"}, "output": ended}),
    ]
    parts = ui_now(chunks, sub_agents=True)
    check_ui_stream(parts)
    texts = [p for p in parts if p["type"] == "data-tool-agent-text"]
    assert texts == [
        {
            "type": "data-tool-agent-text",
            "id": "inner:text:t",
            "data": {
                "toolCallId": "c1",
                "runId": "inner",
                "type": "text",
                "id": "t",
                "text": "half",
            },
        }
    ]
    assert types(parts).index("data-tool-agent-text") < types(parts).index("tool-output-error")


def test_a_nested_block_open_when_the_run_is_aborted_is_kept() -> None:
    call = {"toolCallId": "c1", "toolName": "ask", "args": {}}
    chunks = [
        _envelope("start", {"id": "a", "messageId": "m"}),
        _envelope("step-start", {"messageId": "m"}),
        _envelope("tool-call", call),
        _written(_envelope("text-delta", {"id": "t", "text": "so far"}, "inner")),
        _envelope("abort", {}),
    ]
    parts = ui_now(chunks, sub_agents=True)
    assert types(parts)[-3:] == ["data-tool-agent-text", "finish-step", "abort"]
    assert parts[-3]["data"]["text"] == "so far"


async def test_bytes_sent_grow_linearly_with_the_nested_output() -> None:
    """Each word adds the same bytes to the UI stream, however long the nested run already is.

    Mastra's cumulative ``data-tool-agent`` snapshots re-send everything so far at each chunk,
    so their n-th word costs O(n) and the stream O(n²).
    """

    async def sizes(words: int) -> tuple[int, int]:
        stream = await nested_agent(words=words).stream("go")
        chunks = [c async for c in stream]
        nested = sum(len(chunk_json(c)) for c in chunks if c.type == "tool-output")
        parts = ui_now(chunks, sub_agents=True)
        check_ui_stream(parts)
        sent = sum(len(pydantic_core.to_json(p)) for p in parts)
        return nested, sent

    measured = {n: await sizes(n) for n in (20, 40, 80, 160)}
    nested = {n: m[0] for n, m in measured.items()}
    sent = {n: m[1] for n, m in measured.items()}
    spans = ((20, 40), (40, 80), (80, 160))
    per_word = [(sent[b] - sent[a]) / (b - a) for a, b in spans]
    assert per_word[0] == per_word[1] == per_word[2]  # words of one width: exactly linear
    nested_per_word = [(nested[b] - nested[a]) / (b - a) for a, b in spans]
    assert per_word[0] < nested_per_word[0]  # less than the nested run's own chunks
    assert all(sent[n] < nested[n] for n in sent)


@given(st.lists(st.text(max_size=30), max_size=60))
def test_nested_text_costs_its_json_twice_at_most_plus_a_bound_per_delta(
    deltas: list[str],
) -> None:
    call = {"toolCallId": "c1", "toolName": "ask", "args": {}}
    chunks = [
        _envelope("start", {"id": "a", "messageId": "m"}),
        _envelope("step-start", {"messageId": "m"}),
        _envelope("tool-call", call),
        _written(_envelope("text-start", {"id": "t"}, "inner")),
        *(_written(_envelope("text-delta", {"id": "t", "text": d}, "inner")) for d in deltas),
        _written(_envelope("text-end", {"id": "t"}, "inner")),
        _envelope("tool-result", {**call, "result": "x"}),
    ]
    parts = ui_now(chunks, sub_agents=True)
    check_ui_stream(parts)
    nested = [p for p in parts if p["type"].startswith("data-tool-agent-")]
    sent = sum(len(pydantic_core.to_json(p)) for p in nested)
    text = sum(len(pydantic_core.to_json(d)) for d in deltas)
    assert sent <= 2 * text + 160 * (len(deltas) + 1)
    [kept] = [p["data"]["text"] for p in nested if p["type"] == "data-tool-agent-text"]
    assert kept == "".join(deltas)


def test_data_chunks_without_data_or_prefix_are_dropped() -> None:
    start = {"type": "start", "runId": "r", "from": "AGENT", "payload": {"id": "a"}}
    parts = ui_now(
        [
            start,
            {"type": "data-x"},
            {"type": "other-kind", "data": 1},
            {"type": "data-x", "data": None, "transient": False, "more": 1},
        ]
    )
    assert parts[1:-1] == [{"type": "data-x", "data": None, "transient": False}]


async def test_a_workflow_agent_step_shows_its_tools_data_parts() -> None:
    run = await writer_workflow().create_run()
    parts = await ui_of(await run.stream({}), "workflow")
    check_ui_stream(parts)
    data = [
        p for p in parts if p["type"] not in ("data-workflow",) and p["type"].startswith("data-")
    ]
    assert data == [
        {"type": "data-fromwrite", "data": {"a": 1}},
        {"type": "data-progress", "data": {"pct": 75}},
        {"type": "data-progress", "data": {"pct": 80}, "id": "p1"},  # nested: no transient
        {"type": "data-progress", "data": {"pct": 81}},
    ]
