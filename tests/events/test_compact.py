"""The compact form replay buffers keep: expanded chunks equal the originals and dump the same."""

from __future__ import annotations

import gc
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from reactivex import from_iterable

from rxagents.events import (
    ChunkBase,
    ReasoningDelta,
    ReasoningDeltaPayload,
    TextDelta,
    TextDeltaPayload,
    ToolCallDelta,
    ToolCallDeltaPayload,
    WrappedChunk,
    compact_chunk,
    compact_json,
    compact_text,
    expand_chunk,
    parse_chunk,
    text_delta_shape,
)
from rxagents.operators import prefix_events
from rxagents.operators._prefix_events import wrap_chunk
from rxagents.testing.strategies import agent_chunk_streams, chunks, network_chunk_streams


def _round_trip(chunk: ChunkBase) -> ChunkBase:
    form = compact_chunk(chunk)
    if form is chunk:
        return chunk
    assert type(form) is tuple
    return expand_chunk(form)


def _assert_same(expanded: ChunkBase, original: ChunkBase) -> None:
    assert type(expanded) is type(original)
    assert expanded == original
    assert expanded.model_dump(by_alias=True) == original.model_dump(by_alias=True)
    assert expanded.model_dump(by_alias=True, exclude_unset=True) == original.model_dump(
        by_alias=True, exclude_unset=True
    )
    assert expanded.model_dump_json(by_alias=True) == original.model_dump_json(by_alias=True)
    assert expanded.model_fields_set == original.model_fields_set


def test_compactable_classes_have_the_layout_the_compact_form_assumes() -> None:
    envelope = ("type", "run_id", "from_", "payload")
    payloads = {
        TextDelta: (TextDeltaPayload, ("id", "text")),
        ReasoningDelta: (ReasoningDeltaPayload, ("id", "text")),
        ToolCallDelta: (ToolCallDeltaPayload, ("tool_call_id", "tool_name", "args_text_delta")),
    }
    for cls, (payload_cls, names) in payloads.items():
        assert tuple(cls.model_fields) == envelope
        assert tuple(payload_cls.model_fields) == names
        assert not cls.__private_attributes__
        assert not payload_cls.__private_attributes__
    assert tuple(WrappedChunk.model_fields) == envelope
    assert not WrappedChunk.__private_attributes__


def test_compact_text_delta_is_a_tuple_of_strings_that_expands_equal() -> None:
    delta = TextDelta(run_id="r1", payload=TextDeltaPayload(id="t1", text="Hi"))
    form = compact_chunk(delta)
    assert form == (form[0], "r1", "t1", "Hi")
    assert compact_text(form) == ("text-delta", "Hi")
    _assert_same(expand_chunk(form), delta)


def test_compact_form_is_untracked_after_a_collection() -> None:
    wire = {
        "type": "text-delta",
        "runId": "r",
        "from": "AGENT",
        "payload": {"id": "t", "text": "x"},
    }
    forms = [compact_chunk(parse_chunk(wire)), compact_chunk(wrap_chunk(parse_chunk(wire), "p-"))]
    gc.collect()
    assert not any(gc.is_tracked(form) for form in forms)


def test_parsed_wire_chunks_survive_the_round_trip() -> None:
    wires: list[dict[str, Any]] = [
        {"type": "text-delta", "runId": "r", "from": "AGENT", "payload": {"id": "t", "text": "x"}},
        {
            "type": "reasoning-delta",
            "runId": "r",
            "from": "USER",
            "payload": {"id": "t", "text": ""},
        },
        {
            "type": "tool-call-delta",
            "runId": "r",
            "from": "AGENT",
            "payload": {"toolCallId": "c", "toolName": "n", "argsTextDelta": '{"a'},
        },
    ]
    for wire in wires:
        chunk = _round_trip(parse_chunk(wire))
        assert chunk.model_dump(by_alias=True) == wire


def test_chunks_with_extra_keys_are_kept_as_they_are() -> None:
    wire = {
        "type": "text-delta",
        "runId": "r",
        "from": "AGENT",
        "payload": {"id": "t", "text": "x", "providerMetadata": {"a": 1}},
        "note": "kept",
    }
    chunk = parse_chunk(wire)
    assert compact_chunk(chunk) is chunk
    inner = parse_chunk({**wire, "note": None} | {"payload": {"id": "t", "text": "x", "k": 1}})
    assert compact_chunk(wrap_chunk(inner, "agent-execution-event-")).type.startswith("agent")


def test_text_delta_shape_is_the_form_of_a_built_delta() -> None:
    built = TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text="x"))
    _assert_same(expand_chunk((text_delta_shape(), "r", "t", "x")), built)


def test_expanded_chunks_stay_usable_with_model_copy() -> None:
    delta = ToolCallDelta(
        run_id="r",
        payload=ToolCallDeltaPayload(tool_call_id="c", tool_name="n", args_text_delta="{"),
    )
    expanded = expand_chunk(compact_chunk(delta))
    copied = expanded.model_copy(update={"run_id": "other"})
    assert copied.run_id == "other"
    assert copied.model_fields_set == {"run_id", "payload"}
    assert expanded.model_fields_set == {"run_id", "payload"}


@given(chunks())
def test_any_chunk_round_trips(chunk: Any) -> None:
    _assert_same(_round_trip(chunk), chunk)
    wire = chunk.model_dump(by_alias=True)
    assert parse_chunk(wire).model_dump(by_alias=True) == wire


@given(agent_chunk_streams(), st.sampled_from(["", "agent-execution-event-"]))
def test_agent_streams_round_trip_chunk_by_chunk(stream: list[Any], prefix: str) -> None:
    if prefix:
        out: list[Any] = []
        from_iterable(stream).pipe(prefix_events(prefix)).subscribe(out.append)
        stream = out
    for chunk in stream:
        _assert_same(_round_trip(chunk), chunk)


@given(network_chunk_streams())
def test_network_streams_round_trip_chunk_by_chunk(stream: list[Any]) -> None:
    for chunk in stream:
        _assert_same(_round_trip(chunk), chunk)


def _wire_json(chunk: ChunkBase) -> bytes:
    return type(chunk).__pydantic_serializer__.to_json(chunk, by_alias=True)


_TRICKY = ["", "tok ", 'say "hi"', "back\\slash", "\n\r\t\b\f\x00\x1f\x7f", "é 漢 😀 \u2028\u2029"]


def test_compact_json_is_the_wire_json_of_the_chunk_byte_for_byte() -> None:
    shape = text_delta_shape()
    for run_id in ("r1", 'r"2', "r\\3"):
        for block in ("t1", "t\n2"):
            for text in _TRICKY:
                form = (shape, run_id, block, text)
                assert compact_json(form) == _wire_json(expand_chunk(form))


@given(
    st.sampled_from(["text", "reasoning", "tool"]),
    st.lists(st.tuples(st.sampled_from(["r1", "r2", "ü"]), st.text(), st.text()), min_size=1),
)
def test_compact_json_matches_pydantic_for_every_delta_kind(
    kind: str, values: list[tuple[str, str, str]]
) -> None:
    for run_id, first, second in values:  # ids change between forms: the cached head follows
        chunk: ChunkBase
        if kind == "text":
            chunk = TextDelta(run_id=run_id, payload=TextDeltaPayload(id=first, text=second))
        elif kind == "reasoning":
            chunk = ReasoningDelta(
                run_id=run_id, payload=ReasoningDeltaPayload(id=first, text=second)
            )
        else:
            chunk = ToolCallDelta(
                run_id=run_id,
                payload=ToolCallDeltaPayload(
                    tool_call_id=first, tool_name=second, args_text_delta=second + first
                ),
            )
        form = compact_chunk(chunk)
        assert type(form) is tuple
        assert compact_json(form) == _wire_json(chunk)


def test_compact_json_of_a_wrapped_chunk_is_its_wire_json() -> None:
    inner = TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text='a"\n'))
    wrapped = wrap_chunk(inner, "agent-execution-event-")
    form = compact_chunk(wrapped)
    assert type(form) is tuple
    assert compact_json(form) == _wire_json(wrapped)


@given(agent_chunk_streams())
def test_compact_json_of_any_compacted_chunk_of_a_stream_is_its_wire_json(
    stream: list[Any],
) -> None:
    for chunk in stream:
        form = compact_chunk(chunk)
        if form is not chunk:
            assert compact_json(form) == _wire_json(chunk)
