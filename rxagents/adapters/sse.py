r"""Server-sent events: encode typed chunks as SSE, decode SSE byte streams incrementally.

Framing follows the HTML standard's event stream interpretation
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
UTF-8, a BOM stripped at the start, ``CRLF``, ``LF`` or ``CR`` line endings, ``:`` comments,
``event``/``data``/``id``/``retry`` fields, one leading space after the colon stripped, data lines
joined with ``\n``, an event dispatched on a blank line, and an unterminated last event dropped.

Mastra streams chunks as ``data: <json>\n\n`` events and ends with ``data: [DONE]\n\n``:
:func:`encode_chunk` and :data:`DONE` write that, :func:`iter_sse_chunks` reads it back.

:class:`SSEDecoder` is the library's one decoder (model providers and the remote client read
with it too): linear in the bytes read however they are cut, and bounded: one event may buffer
at most ``max_event_size`` bytes (16 MiB by default); a larger one raises
:class:`~rxagents.errors.MalformedStreamError` and the decoder stops buffering.

Example:
    >>> decoder = SSEDecoder()
    >>> decoder.feed(b"data: hel")
    []
    >>> decoder.feed(b"lo\r\n\r\n")
    [SSEEvent(event='message', data='hello', id='', retry=None)]
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from typing import TYPE_CHECKING, Final

from rxagents._core.http import SSEDecoder, SSEEvent
from rxagents.errors import InvalidInputError, MalformedStreamError
from rxagents.events import DataChunk, parse_chunk

if TYPE_CHECKING:
    from rxagents.events import Chunk, ChunkBase

__all__ = (
    "CONTENT_TYPE",
    "DONE",
    "SSEDecoder",
    "SSEEvent",
    "encode_chunk",
    "encode_comment",
    "encode_sse",
    "iter_sse",
    "iter_sse_chunks",
)

CONTENT_TYPE: Final = "text/event-stream"
"""The media type of an SSE response."""

DONE: Final = b"data: [DONE]\n\n"
"""The event that ends a Mastra chunk stream."""

_DONE_DATA: Final = b"[DONE]"


# --- encoding -------------------------------------------------------------------------------


def _lines(value: bytes) -> list[bytes]:
    """Split on every SSE line ending (CRLF, LF, CR)."""
    if b"\r" in value:
        value = value.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return value.split(b"\n")


def _single_line(name: str, value: str) -> bytes:
    if "\n" in value or "\r" in value:
        raise InvalidInputError(f"SSE {name} must be a single line, got {value!r}")
    return value.encode()


def encode_sse(
    data: str | bytes,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    r"""Encode one server-sent event, terminated by a blank line.

    Multi-line data becomes one ``data:`` line per line; any of ``CRLF``, ``LF`` or ``CR``
    separates lines, so a ``CR`` in the data reads back as ``LF`` (SSE cannot carry ``CR``).
    Lines end with ``LF``.

    Args:
        data: The event's data (text, or UTF-8 bytes).
        event: The event type; readers default to ``"message"``.
        id: The event id (sets the reader's last event id; ``""`` resets it).
        retry: The reconnection time in milliseconds.

    Returns:
        The encoded event.

    Raises:
        InvalidInputError: ``event`` or ``id`` spans several lines, ``id`` contains NUL, or
            ``retry`` is negative.

    Example:
        >>> encode_sse("a\nb", event="note")
        b'event: note\ndata: a\ndata: b\n\n'
    """
    raw = data.encode() if isinstance(data, str) else data
    if event is None and id is None and retry is None and b"\n" not in raw and b"\r" not in raw:
        return b"data: " + raw + b"\n\n"
    parts: list[bytes] = []
    if event is not None:
        parts.append(b"event: " + _single_line("event", event) + b"\n")
    if id is not None:
        if "\0" in id:
            raise InvalidInputError(f"SSE id must not contain NUL, got {id!r}")
        parts.append(b"id: " + _single_line("id", id) + b"\n")
    if retry is not None:
        if retry < 0:
            raise InvalidInputError(f"SSE retry must be a non-negative integer, got {retry!r}")
        parts.append(b"retry: %d\n" % retry)
    parts.extend(b"data: " + line + b"\n" for line in _lines(raw))
    parts.append(b"\n")
    return b"".join(parts)


def encode_comment(text: str = "") -> bytes:
    r"""Encode a comment (readers ignore it), e.g. a heartbeat: ``encode_comment("ping")``.

    Multi-line text becomes one comment line per line. The comment ends with a blank line, which
    readers ignore outside an event.

    Returns:
        The encoded comment, ``b": ping\n\n"`` for ``"ping"``.
    """
    if not text:
        return b":\n\n"
    return b"".join(b": " + line + b"\n" for line in _lines(text.encode())) + b"\n"


def encode_chunk(chunk: ChunkBase) -> bytes:
    r"""Encode a typed chunk as ``data: <json>\n\n``, the way Mastra streams chunks.

    The JSON is the chunk's wire form (camelCase keys, absent optional fields left out),
    identical to ``chunk.model_dump_json(by_alias=True)``, written by pydantic-core directly.
    JSON escapes newlines, so the event is always a single ``data:`` line.
    """
    return b"data: " + type(chunk).__pydantic_serializer__.to_json(chunk, by_alias=True) + b"\n\n"


# --- decoding -------------------------------------------------------------------------------


async def iter_sse(
    byte_chunks: AsyncIterable[bytes],
    *,
    on_comment: Callable[[str], None] | None = None,
    strict: bool = False,
) -> AsyncGenerator[SSEEvent, None]:
    """Decode an SSE byte stream (e.g. ``response.content.iter_any()``) into events.

    The stream ends when ``byte_chunks`` ends. Leaving the iteration early (or closing it)
    closes ``byte_chunks`` if it has an ``aclose()``; errors from ``byte_chunks`` propagate.
    Buffering: one partial line and event at most (16 MiB; a larger event raises
    :class:`~rxagents.errors.MalformedStreamError`).

    Args:
        byte_chunks: The stream's bytes, in pieces of any size.
        on_comment: Called with each comment's text (heartbeats).
        strict: Raise instead of silently dropping an unterminated last event.

    Yields:
        Each event as soon as its blank line arrives.

    Raises:
        MalformedStreamError: ``strict`` is set and the stream ended in the middle of an event,
            or an event is larger than the decoder's cap (16 MiB).
    """
    decoder = SSEDecoder(on_comment=on_comment)
    iterator = aiter(byte_chunks)
    try:
        async for piece in iterator:
            for event in decoder.feed(piece):
                yield event
        if decoder.finish() and strict:
            raise MalformedStreamError("the SSE stream ended in the middle of an event")
    finally:
        await _aclose(iterator)


async def iter_sse_chunks(byte_chunks: AsyncIterable[bytes]) -> AsyncGenerator[Chunk, None]:
    """Decode a Mastra chunk stream (``data: <json>`` events, then ``data: [DONE]``).

    Every event's data is parsed as a chunk whatever its event type, as Mastra's client does;
    comments (heartbeats) are skipped. A custom data chunk, whose wire form has no ``runId``,
    is given the run id of the chunk before it (the stream's run). Iteration stops at
    ``[DONE]``, without reading further, and closes ``byte_chunks`` if it has an ``aclose()``
    (also when the consumer leaves early).

    Args:
        byte_chunks: The response body's bytes, in pieces of any size.

    Yields:
        Typed chunks, in stream order.

    Raises:
        MalformedStreamError: The stream ended before ``[DONE]`` (the message says whether it
            stopped in the middle of an event), or an event is larger than the decoder's cap
            (16 MiB).
        ChunkParseError: An event's data is not a valid chunk.
    """
    decoder = SSEDecoder()
    iterator = aiter(byte_chunks)
    run_id = ""
    try:
        async for piece in iterator:
            for data in decoder.feed_data(piece):
                if data == _DONE_DATA:
                    return
                chunk = parse_chunk(data)
                if type(chunk) is DataChunk:
                    if run_id and not chunk.run_id:
                        chunk = chunk.model_copy(update={"run_id": run_id})
                else:
                    run_id = chunk.run_id
                yield chunk
        where = "in the middle of an event" if decoder.finish() else "between events"
        raise MalformedStreamError(
            f"the SSE chunk stream ended {where} without the final 'data: [DONE]' "
            "(the server stopped early or the connection was cut)"
        )
    finally:
        await _aclose(iterator)


async def _aclose(iterator: AsyncIterator[bytes]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
