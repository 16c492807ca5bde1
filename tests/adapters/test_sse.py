"""SSE framing: encoding, the incremental decoder (HTML standard rules), Mastra chunk streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpClient

from rxagents.adapters.sse import (
    CONTENT_TYPE,
    DONE,
    SSEDecoder,
    SSEEvent,
    encode_chunk,
    encode_comment,
    encode_sse,
    iter_sse,
    iter_sse_chunks,
)
from rxagents.errors import ChunkParseError, InvalidInputError, MalformedStreamError
from rxagents.events import Chunk, DataChunk, parse_chunk
from rxagents.testing.strategies import chunks

WIRE_CHUNKS: list[dict[str, Any]] = [
    {
        "type": "text-delta",
        "runId": "r1",
        "from": "AGENT",
        "payload": {"id": "t1", "text": 'Hé "quoted"\nnext line 🐬'},
    },
    {
        "type": "tool-error",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "toolCallId": "c1",
            "toolName": "get_weather",
            "args": {"city": "Oslo"},
            "error": {"__error__": {"name": "TypeError", "message": "bad city"}},
        },
    },
    {
        "type": "step-finish",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "messageId": "m1",
            "stepResult": {"reason": "stop", "isContinued": False, "warnings": []},
            "output": {
                "text": "hi",
                "toolCalls": [],
                "usage": {"inputTokens": 15, "outputTokens": 5, "totalTokens": 20, "raw": {"x": 1}},
            },
            "metadata": {"modelId": "scripted"},
        },
    },
    {
        "type": "text-end",
        "runId": "r1",
        "from": "AGENT",
        "payload": {"id": "t1", "type": "text-end"},
    },
    {
        "type": "workflow-step-output",
        "runId": "w1",
        "from": "USER",
        "payload": {
            "stepName": "s",
            "runId": "w1",
            "output": {
                "type": "text-delta",
                "runId": "r2",
                "from": "AGENT",
                "payload": {"id": "t", "text": "x"},
            },
        },
    },
    {
        "type": "agent-execution-event-text-delta",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "type": "text-delta",
            "runId": "r3",
            "from": "AGENT",
            "payload": {"id": "t", "text": "y"},
        },
    },
]
CHUNKS: list[Chunk] = [parse_chunk(wire) for wire in WIRE_CHUNKS]


def decode_all(pieces: Iterable[bytes]) -> tuple[list[SSEEvent], bool]:
    """Feed every piece to one decoder; return the events and what ``finish()`` said."""
    decoder = SSEDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events, decoder.finish()


async def drain(items: AsyncIterator[Any], into: list[Any]) -> None:
    """Append every item to ``into`` (so a test can check what came before an error)."""
    async for item in items:
        into.append(item)


async def pieces_of(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        await asyncio.sleep(0)
        yield piece


# --- encoding -------------------------------------------------------------------------------


def test_encode_sse_writes_a_data_line_and_a_blank_line() -> None:
    assert encode_sse("hello") == b"data: hello\n\n"
    assert encode_sse(b"raw bytes") == b"data: raw bytes\n\n"
    assert encode_sse("") == b"data: \n\n"


def test_encode_sse_splits_multi_line_data_on_every_line_ending() -> None:
    assert encode_sse("a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    assert encode_sse("end\n") == b"data: end\ndata: \n\n"


def test_encode_sse_writes_event_id_and_retry_fields() -> None:
    encoded = encode_sse("x", event="update", id="7", retry=1500)
    assert encoded == b"event: update\nid: 7\nretry: 1500\ndata: x\n\n"
    assert decode_all([encoded]) == (
        [SSEEvent(event="update", data="x", id="7", retry=1500)],
        False,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event": "a\nb"}, "event must be a single line"),
        ({"id": "1\r2"}, "id must be a single line"),
        ({"id": "1\x002"}, "id must not contain NUL"),
        ({"retry": -1}, "retry must be a non-negative integer"),
    ],
)
def test_encode_sse_refuses_fields_that_would_break_framing(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        encode_sse("x", **kwargs)


def test_encode_comment_writes_heartbeats() -> None:
    assert encode_comment("ping") == b": ping\n\n"
    assert encode_comment() == b":\n\n"
    assert encode_comment("two\nlines") == b": two\n: lines\n\n"


@pytest.mark.parametrize("chunk", CHUNKS, ids=lambda chunk: chunk.type)
def test_encode_chunk_matches_model_dump_json_and_round_trips(chunk: Chunk) -> None:
    encoded = encode_chunk(chunk)

    assert encoded == b"data: " + chunk.model_dump_json(by_alias=True).encode() + b"\n\n"
    assert encoded.count(b"\n") == 2  # JSON escapes newlines: always one data line
    [event] = SSEDecoder().feed(encoded)
    assert parse_chunk(event.data) == chunk
    assert parse_chunk(event.data).model_dump(by_alias=True) == chunk.model_dump(by_alias=True)


@given(chunks())
def test_encode_chunk_matches_model_dump_json_for_any_chunk(chunk: Chunk) -> None:
    encoded = encode_chunk(chunk)

    assert encoded == b"data: " + chunk.model_dump_json(by_alias=True).encode() + b"\n\n"
    [data] = SSEDecoder().feed_data(encoded)
    assert parse_chunk(data).model_dump(by_alias=True) == chunk.model_dump(by_alias=True)


def test_encode_chunk_leaves_absent_optional_fields_out() -> None:
    step_finish = CHUNKS[2]
    encoded = encode_chunk(step_finish)

    assert b'"metadata":{"modelId":"scripted"}' in encoded
    assert b"provider" not in encoded
    assert b"null" not in encoded


def test_done_is_mastras_end_marker() -> None:
    assert DONE == b"data: [DONE]\n\n"
    assert CONTENT_TYPE == "text/event-stream"


# --- decoding: the standard's examples and rules --------------------------------------------


def test_decoder_joins_data_lines_with_newlines() -> None:
    stream = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert decode_all([stream]) == ([SSEEvent(data="YHOO\n+2\n10")], False)


def test_decoder_follows_the_standards_id_and_comment_example() -> None:
    stream = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n"
    )
    events, was_pending = decode_all([stream])

    assert events == [
        SSEEvent(data="first event", id="1"),
        SSEEvent(data="second event", id=""),
    ]
    assert was_pending  # "third event" never got its blank line


def test_decoder_dispatches_empty_data_and_drops_the_unterminated_last_event() -> None:
    events, was_pending = decode_all([b"data\n\ndata\ndata\n\ndata:"])

    assert [event.data for event in events] == ["", "\n"]
    assert was_pending


def test_decoder_strips_exactly_one_leading_space() -> None:
    events, _ = decode_all([b"data:test\n\ndata: test\n\ndata:  test\n\n"])
    assert [event.data for event in events] == ["test", "test", " test"]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_decoder_accepts_every_line_ending(newline: bytes) -> None:
    stream = newline.join([b"event: add", b"data: a", b"data: b", b"", b"data: c", b"", b""])
    events, was_pending = decode_all([stream])

    assert events == [SSEEvent(event="add", data="a\nb"), SSEEvent(data="c")]
    assert not was_pending


def test_decoder_reads_a_crlf_split_between_two_pieces_as_one_line_ending() -> None:
    events, was_pending = decode_all([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])

    assert events == [SSEEvent(data="a\nb")]
    assert not was_pending


def test_decoder_strips_a_bom_at_the_start_only() -> None:
    bom = b"\xef\xbb\xbf"
    assert decode_all([bom + b"data: a\n\n"])[0] == [SSEEvent(data="a")]
    assert decode_all([bom[:1], bom[1:2], bom[2:] + b"data: a\n\n"])[0] == [SSEEvent(data="a")]
    # A second BOM is part of the line: the field name is then not "data", so it is ignored.
    assert decode_all([bom + bom + b"data: a\n\n"])[0] == []


def test_decoder_keeps_the_last_event_id_across_events_and_ignores_nul_ids() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x003\ndata: c\n\nid\ndata: d\n\n")

    assert [(event.data, event.id) for event in events] == [
        ("a", "1"),
        ("b", "1"),
        ("c", "1"),
        ("d", ""),
    ]
    assert decoder.last_event_id == ""


def test_decoder_sets_the_last_event_id_on_blank_lines_without_data() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 9\n\n") == []
    assert decoder.last_event_id == "9"


def test_decoder_accepts_only_ascii_digit_retry_values() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(
        b"retry: 3000\ndata: a\n\n"
        b"retry: 1x\ndata: b\n\n"
        b"retry: \xd9\xa3\ndata: c\n\n"  # ARABIC-INDIC DIGIT THREE is not an ASCII digit
        b"retry:  5\ndata: d\n\n"  # only one leading space is stripped
    )

    assert [event.retry for event in events] == [3000, None, None, None]
    assert decoder.retry == 3000


def test_decoder_resets_the_event_type_after_each_event() -> None:
    events, _ = decode_all([b"event: custom\ndata: a\n\ndata: b\n\nevent: lonely\n\ndata: c\n\n"])
    assert [(event.event, event.data) for event in events] == [
        ("custom", "a"),
        ("message", "b"),
        ("message", "c"),
    ]


def test_decoder_ignores_unknown_fields_and_reads_fields_without_a_colon() -> None:
    events, _ = decode_all([b"foo: bar\nDATA: shouted\ndata\ndata: x\n\n"])
    assert events == [SSEEvent(data="\nx")]


def test_decoder_counts_comments_and_reports_their_text() -> None:
    seen: list[str] = []
    decoder = SSEDecoder(on_comment=seen.append)

    events = decoder.feed(b": ping\n\n:\n:no space\ndata: a\n: inside an event\n\n")

    assert events == [SSEEvent(data="a")]
    assert decoder.comments == 4
    assert seen == ["ping", "", "no space", "inside an event"]
    assert not decoder.finish()


def test_decoder_finish_reports_pending_input() -> None:
    assert decode_all([b"data: a\n\n"])[1] is False
    assert decode_all([b"data: a\n\n: ping\n\n"])[1] is False
    assert decode_all([b"data: a\n"])[1] is True  # a field without its blank line
    assert decode_all([b"data: a\n\ndata: partial"])[1] is True  # an unterminated line
    assert decode_all([b"event: x\n"])[1] is True


def test_decoder_can_decode_a_new_stream_after_finish() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 10\nid: 5\ndata: a\n\ndata: cut") == [
        SSEEvent(data="a", id="5", retry=10)
    ]
    assert decoder.finish()

    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == [SSEEvent(data="b")]
    assert decoder.retry == 10


def test_decoder_feed_data_returns_raw_data_and_tracks_ids_and_comments() -> None:
    decoder = SSEDecoder()
    stream = b": hi\n\nevent: e\nid: 3\nretry: 5\ndata: {\ndata: }\n\ndata: \xff\n\n"

    assert decoder.feed_data(stream) == [b"{\n}", b"\xff"]
    assert (decoder.comments, decoder.last_event_id, decoder.retry) == (1, "3", 5)


def test_decoder_decodes_utf8_split_inside_a_character_and_replaces_invalid_bytes() -> None:
    encoded = encode_sse("dolphin 🐬 é")
    cut = encoded.index("🐬".encode()) + 2
    assert decode_all([encoded[:cut], encoded[cut:]])[0] == [SSEEvent(data="dolphin 🐬 é")]
    assert decode_all([b"data: \xff\xfe ok\n\n"])[0] == [SSEEvent(data="\ufffd\ufffd ok")]


MIXED_STREAM = b"".join(
    [
        b"\xef\xbb\xbf: hello\r\n",
        encode_sse("line one\nline two", event="multi", id="1"),
        encode_comment("ping"),
        b"data: crlf\r\n\r\nretry: 250\rdata: cr\r\r",
        encode_sse("unicode ✓ 🐬", id="2"),
        encode_chunk(CHUNKS[0]),
        DONE,
    ]
)


def test_decoder_gives_the_same_events_for_every_two_piece_split() -> None:
    expected = decode_all([MIXED_STREAM])
    assert len(expected[0]) == 6

    for cut in range(len(MIXED_STREAM) + 1):
        assert decode_all([MIXED_STREAM[:cut], MIXED_STREAM[cut:]]) == expected, cut


def test_decoder_gives_the_same_events_fed_one_byte_at_a_time() -> None:
    one_by_one = [MIXED_STREAM[index : index + 1] for index in range(len(MIXED_STREAM))]
    assert decode_all(one_by_one) == decode_all([MIXED_STREAM])


# --- properties -----------------------------------------------------------------------------

_single_line_text = st.text(st.characters(exclude_characters="\r\n\x00", codec="utf-8"), max_size=8)
_events = st.fixed_dictionaries(
    {"data": st.text(st.characters(codec="utf-8"), max_size=20)},
    optional={
        "event": _single_line_text,
        "id": _single_line_text,
        "retry": st.integers(min_value=0, max_value=10**9),
    },
)


def _expected(specs: list[dict[str, Any]]) -> list[SSEEvent]:
    last_id = ""
    events = []
    for spec in specs:
        last_id = spec.get("id", last_id)
        data = spec["data"].replace("\r\n", "\n").replace("\r", "\n")
        events.append(
            SSEEvent(
                event=spec.get("event") or "message", data=data, id=last_id, retry=spec.get("retry")
            )
        )
    return events


@given(
    specs=st.lists(_events, max_size=6),
    comments=st.lists(_single_line_text, max_size=3),
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    data=st.data(),
)
def test_any_split_of_an_encoded_stream_decodes_to_the_encoded_events(
    specs: list[dict[str, Any]], comments: list[str], newline: bytes, data: st.DataObject
) -> None:
    parts = [encode_sse(**spec) for spec in specs]
    for comment in comments:
        parts.insert(data.draw(st.integers(0, len(parts))), encode_comment(comment))
    stream = b"".join(parts).replace(b"\n", newline)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    pieces = [
        stream[start:end] for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True)
    ]

    events, was_pending = decode_all(pieces)

    assert events == _expected(specs)
    assert not was_pending
    data_decoder = SSEDecoder()
    data_only = [data for piece in pieces for data in data_decoder.feed_data(piece)]
    assert data_only == [event.data.encode() for event in events]
    assert data_decoder.last_event_id == (events[-1].id if events else "")


# --- async iteration ------------------------------------------------------------------------


async def test_iter_sse_yields_events_across_pieces_and_reports_comments() -> None:
    comments: list[str] = []
    events = [
        event
        async for event in iter_sse(
            pieces_of(b"data: a\nda", b"ta: b\n\n: ping\n\nevent: x\ndata: c\n\n"),
            on_comment=comments.append,
        )
    ]

    assert events == [SSEEvent(data="a\nb"), SSEEvent(event="x", data="c")]
    assert comments == ["ping"]


async def test_iter_sse_drops_an_unterminated_event_unless_strict() -> None:
    assert [event async for event in iter_sse(pieces_of(b"data: a\n\ndata: b"))] == [
        SSEEvent(data="a")
    ]

    received: list[SSEEvent] = []
    with pytest.raises(MalformedStreamError, match="middle of an event"):
        await drain(iter_sse(pieces_of(b"data: a\n\ndata: b"), strict=True), received)
    assert received == [SSEEvent(data="a")]


async def test_iter_sse_closes_the_byte_source_when_the_consumer_leaves() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                await asyncio.sleep(0)
                yield b"data: tick\n\n"
        finally:
            closed.set()

    async with asyncio.timeout(5):
        events = iter_sse(endless())
        assert await anext(events) == SSEEvent(data="tick")
        await events.aclose()

    assert closed.is_set()


async def test_iter_sse_chunks_parses_chunks_and_stops_at_done_without_reading_further() -> None:
    pulled_after_done = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled_after_done
        yield encode_comment("ping")
        for chunk in CHUNKS:
            yield encode_chunk(chunk)
        yield DONE + b"data: not json\n\n"
        pulled_after_done = True
        yield b"data: never read\n\n"

    received = [chunk async for chunk in iter_sse_chunks(body())]

    assert received == CHUNKS
    assert not pulled_after_done


async def test_iter_sse_chunks_gives_data_chunks_the_run_of_the_stream() -> None:
    data = DataChunk(type="data-progress", run_id="r1", data={"pct": 5}, transient=True)
    encoded = encode_chunk(data)
    assert encoded == b'data: {"type":"data-progress","data":{"pct":5},"transient":true}\n\n'

    async def body() -> AsyncIterator[bytes]:
        yield encoded  # before any chunk naming a run: left unnamed
        yield encode_chunk(CHUNKS[0])
        yield encoded
        yield DONE

    first, _, named = [chunk async for chunk in iter_sse_chunks(body())]
    assert first == data.model_copy(update={"run_id": ""})
    assert named == data.model_copy(update={"run_id": CHUNKS[0].run_id})


async def test_iter_sse_chunks_raises_when_the_stream_ends_without_done() -> None:
    stream = b"".join(encode_chunk(chunk) for chunk in CHUNKS[:2])
    received: list[Chunk] = []

    with pytest.raises(MalformedStreamError, match="ended between events without"):
        await drain(iter_sse_chunks(pieces_of(stream)), received)
    assert received == CHUNKS[:2]

    with pytest.raises(MalformedStreamError, match="ended in the middle of an event"):
        await drain(iter_sse_chunks(pieces_of(stream, encode_chunk(CHUNKS[2])[:-1])), [])


async def test_iter_sse_chunks_raises_chunk_parse_error_for_bad_data() -> None:
    with pytest.raises(ChunkParseError):
        await drain(iter_sse_chunks(pieces_of(b"data: {not json}\n\n", DONE)), [])


# --- over a real aiohttp loopback connection ------------------------------------------------


def _streaming_app(*, send_done: bool) -> web.Application:
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE})
        await response.prepare(request)
        await response.write(encode_comment("ping"))
        for chunk in CHUNKS:
            encoded = encode_chunk(chunk)
            middle = len(encoded) // 2  # split each event over two writes
            await response.write(encoded[:middle])
            await response.write(encoded[middle:])
        if send_done:
            await response.write(DONE)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/stream", stream)
    return app


async def test_iter_sse_chunks_reads_a_real_aiohttp_stream(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(_streaming_app(send_done=True))

    async with client.get("/stream") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith(CONTENT_TYPE)
        received = [chunk async for chunk in iter_sse_chunks(response.content.iter_any())]

    assert received == CHUNKS
    assert [chunk.model_dump(by_alias=True) for chunk in received] == WIRE_CHUNKS


async def test_iter_sse_chunks_detects_a_real_stream_cut_before_done(
    aiohttp_client: AiohttpClient,
) -> None:
    client = await aiohttp_client(_streaming_app(send_done=False))
    received: list[Chunk] = []

    async with client.get("/stream") as response:
        with pytest.raises(MalformedStreamError, match="without the final"):
            await drain(iter_sse_chunks(response.content.iter_any()), received)

    assert received == CHUNKS


async def test_iter_sse_chunks_refuses_an_event_over_the_cap() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"data: "
        for _ in range(17):
            yield b"x" * (1024 * 1024)

    with pytest.raises(MalformedStreamError, match="larger than 16777216 bytes"):
        async for _ in iter_sse_chunks(body()):
            pass
