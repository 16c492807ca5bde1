"""The one SSE decoder: framing per the WHATWG rules, bytes cut anywhere, linear and bounded."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rxagents._core.http import DEFAULT_MAX_EVENT_SIZE, SSEDecoder
from rxagents.errors import ConfigurationError, MalformedStreamError


@dataclass(frozen=True)
class SSEEvent:
    """What a provider reads of an event."""

    event: str
    data: str


def feed_all(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    return [SSEEvent(e.event, e.data) for chunk in chunks for e in decoder.feed(chunk)]


STREAM = (
    "\ufeff: comment\r\n"
    "event: message_start\r\n"
    'data: {"a":1}\r\n'
    "\r\n"
    "data: line one\n"
    "data:line two\n"
    "id: 7\n"
    "retry: 100\n"
    "\n"
    "event: only-event-no-data\n"
    "\n"
    "data: héllo wörld ✓\r"
    "\r"
    "data: unterminated"
).encode()

EXPECTED = [
    SSEEvent("message_start", '{"a":1}'),
    SSEEvent("message", "line one\nline two"),
    SSEEvent("message", "héllo wörld ✓"),
]


def test_sse_parser_reads_whole_stream() -> None:
    assert feed_all([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_sse_parser_is_indifferent_to_where_bytes_are_cut(size: int) -> None:
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert feed_all(chunks) == EXPECTED


def test_sse_parser_treats_crlf_split_across_chunks_as_one_line_end() -> None:
    assert feed_all([b"data: x\r", b"\n\r", b"\n"]) == [SSEEvent("message", "x")]


def test_sse_parser_keeps_value_spaces_after_the_first() -> None:
    assert feed_all([b"data:  two spaces\n\n"]) == [SSEEvent("message", " two spaces")]


# --- linear and bounded ------------------------------------------------------------------------


def test_a_long_line_in_many_pieces_is_joined_once() -> None:
    # A 64 MiB data line read 64 KiB at a time: the decoder keeps the pieces and joins them
    # once, when the line ends, so what it holds grows by one piece per read (never re-copied).
    piece = b"x" * (64 * 1024)
    decoder = SSEDecoder(max_event_size=None)
    decoder.feed(b"data: ")
    held: list[int] = []
    for _ in range(1024):
        assert decoder.feed(piece) == []
        held.append(decoder.buffered)
    assert held == [6 + len(piece) * n for n in range(1, 1025)]
    (payload,) = decoder.feed_data(b"\n\n")
    assert len(payload) == 64 * 1024 * 1024
    assert decoder.buffered == 0


def test_the_default_cap_is_16_mib() -> None:
    assert DEFAULT_MAX_EVENT_SIZE == 16 * 1024 * 1024
    with pytest.raises(ConfigurationError):
        SSEDecoder(max_event_size=0)


def test_a_line_over_the_cap_fails_and_the_decoder_stops_buffering() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    decoder.feed(b"data: ")
    for _ in range(9):
        decoder.feed(b"z" * 100)
    assert decoder.buffered == 906
    with pytest.raises(MalformedStreamError, match="larger than 1000 bytes"):
        decoder.feed(b"z" * 100)
    assert decoder.buffered == 0
    with pytest.raises(MalformedStreamError):
        decoder.feed(b"more\n\n")
    assert decoder.buffered == 0
    with pytest.raises(MalformedStreamError):
        decoder.finish()
    assert decoder.feed(b"data: a new stream\n\n")[0].data == "a new stream"


def test_many_data_lines_over_the_cap_fail() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    for _ in range(19):
        decoder.feed_data(b"data: " + b"z" * 50 + b"\n")
    assert decoder.buffered == 19 * 51
    with pytest.raises(MalformedStreamError):
        decoder.feed_data(b"data: " + b"z" * 50 + b"\n")
    assert decoder.buffered == 0


def test_events_completed_before_an_overflow_are_delivered_first() -> None:
    decoder = SSEDecoder(max_event_size=100)
    assert decoder.feed_data(b"data: a\n\ndata: " + b"z" * 200) == [b"a"]
    assert decoder.buffered == 0
    with pytest.raises(MalformedStreamError):
        decoder.check()
    with pytest.raises(MalformedStreamError):
        decoder.feed_data(b"\n\n")


def test_events_up_to_the_cap_pass() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    for _ in range(50):
        assert decoder.feed_data(b"data: " + b"z" * 900 + b"\n\n") == [b"z" * 900]
