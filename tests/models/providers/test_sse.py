"""The private SSE parser: framing per the WHATWG rules, bytes cut anywhere."""

from __future__ import annotations

import pytest

from rxagents.models.providers._sse import SSEEvent, SSEParser


def feed_all(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


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
