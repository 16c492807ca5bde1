r"""Server-sent events: encode typed chunks as SSE, decode SSE byte streams incrementally.

Framing follows the HTML standard's event stream interpretation
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
UTF-8, a BOM stripped at the start, ``CRLF``, ``LF`` or ``CR`` line endings, ``:`` comments,
``event``/``data``/``id``/``retry`` fields, one leading space after the colon stripped, data lines
joined with ``\n``, an event dispatched on a blank line, and an unterminated last event dropped.

Mastra streams chunks as ``data: <json>\n\n`` events and ends with ``data: [DONE]\n\n``:
:func:`encode_chunk` and :data:`DONE` write that, :func:`iter_sse_chunks` reads it back.

Example:
    >>> decoder = SSEDecoder()
    >>> decoder.feed(b"data: hel")
    []
    >>> decoder.feed(b"lo\r\n\r\n")
    [SSEEvent(event='message', data='hello', id='', retry=None)]
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, final, overload

from rxagents.errors import InvalidInputError, MalformedStreamError
from rxagents.events import parse_chunk

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
_BOM: Final = b"\xef\xbb\xbf"
_LF: Final = 0x0A
_CR: Final = 0x0D


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


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class SSEEvent:
    """One dispatched server-sent event, as an ``EventSource`` would see it."""

    event: str = "message"
    """The event type (``"message"`` when the stream gave none)."""
    data: str = ""
    r"""The data lines joined with ``"\n"``."""
    id: str = ""
    """The last event id at dispatch time (it persists across events, as in ``EventSource``)."""
    retry: int | None = None
    """The reconnection time (ms) sent in this event's block, if any."""


@final
class SSEDecoder:
    r"""Decode an SSE byte stream incrementally: feed bytes in pieces of any size, get events.

    Comments are not events; they are counted in :attr:`comments` and passed to ``on_comment``
    (so a client can see heartbeats). Call :meth:`finish` at the end of the stream: it drops an
    unterminated last event, as the standard says, and tells whether there was one.

    Example:
        >>> decoder = SSEDecoder()
        >>> [event.data for event in decoder.feed(b": ping\n\ndata: a\ndata: b\n\n")]
        ['a\nb']
        >>> decoder.comments
        1
    """

    __slots__ = (
        "_after_cr",
        "_at_start",
        "_data",
        "_event",
        "_event_retry",
        "_id_buffer",
        "_in_event",
        "_on_comment",
        "_tail",
        "comments",
        "last_event_id",
        "retry",
    )

    def __init__(self, *, on_comment: Callable[[str], None] | None = None) -> None:
        """Create a decoder for one stream.

        Args:
            on_comment: Called with each comment's text (one leading space stripped).
        """
        self._on_comment = on_comment
        self.comments = 0
        """How many comment lines were read."""
        self.last_event_id = ""
        """The id of the last dispatched event (what a reconnecting client sends back)."""
        self.retry: int | None = None
        """The last reconnection time (ms) the stream set, or ``None``."""
        self._reset()

    def _reset(self) -> None:
        self._tail: list[bytes] = []
        self._at_start = True
        self._after_cr = False
        self._data: list[bytes] = []
        self._event = ""
        self._event_retry: int | None = None
        self._id_buffer = ""
        self._in_event = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode the next bytes of the stream.

        Args:
            chunk: Any piece of the stream: lines, and even UTF-8 sequences, may be split.

        Returns:
            The events completed by this piece, in order (often none).
        """
        return self._decode(chunk, False)

    def feed_data(self, chunk: bytes) -> list[bytes]:
        r"""Decode the next bytes of the stream, returning only each event's data, undecoded.

        The fast path for streams where only the data matters, such as JSON chunk streams
        (pydantic-core parses the bytes directly, no :class:`SSEEvent` is built). Event types are
        ignored; ids, ``retry`` and comments are tracked as by :meth:`feed`.

        Args:
            chunk: Any piece of the stream.

        Returns:
            The data (lines joined with ``\n``, UTF-8 bytes, not validated) of each event
            completed by this piece, in order.
        """
        return self._decode(chunk, True)

    def _lines(self, chunk: bytes) -> list[bytes]:
        """Return the lines this piece completes; keep the unterminated rest for later."""
        if self._after_cr and chunk:
            # A CR ended the previous piece: an LF starting this one is the same line ending.
            self._after_cr = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if self._at_start:
            if self._tail:
                chunk = b"".join(self._tail) + chunk
                self._tail = []
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                if chunk:
                    self._tail.append(chunk)
                return []
            self._at_start = False
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._tail.append(chunk)  # joined once the line ends: no quadratic copying
            return []
        if self._tail:
            self._tail.append(chunk)
            chunk = b"".join(self._tail)
            self._tail = []
        if b"\r" in chunk:
            if chunk[-1] == _CR:
                self._after_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if tail:
            self._tail.append(tail)
        return lines

    @overload
    def _decode(self, chunk: bytes, raw: Literal[False]) -> list[SSEEvent]: ...
    @overload
    def _decode(self, chunk: bytes, raw: Literal[True]) -> list[bytes]: ...
    def _decode(self, chunk: bytes, raw: bool) -> list[SSEEvent] | list[bytes]:
        out: list[Any] = []
        data = self._data
        for line in self._lines(chunk):
            if not line:  # a blank line dispatches the event
                self._in_event = False
                self.last_event_id = self._id_buffer
                if data:
                    payload = data[0] if len(data) == 1 else b"\n".join(data)
                    data.clear()
                    if raw:
                        out.append(payload)
                    else:
                        out.append(
                            SSEEvent(
                                event=self._event or "message",
                                data=payload.decode("utf-8", "replace"),
                                id=self._id_buffer,
                                retry=self._event_retry,
                            )
                        )
                self._event = ""
                self._event_retry = None
            elif line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
                self._in_event = True
            else:
                self._field(line)
        return out

    def _field(self, line: bytes) -> None:
        colon = line.find(b":")
        if colon == 0:
            self.comments += 1
            if self._on_comment is not None:
                text = line[2:] if line[1:2] == b" " else line[1:]
                self._on_comment(text.decode("utf-8", "replace"))
            return
        self._in_event = True
        if colon < 0:
            name, value = line, b""
        else:
            name, value = line[:colon], line[colon + 1 :]
            if value[:1] == b" ":
                value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id_buffer = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII digits only
            self.retry = self._event_retry = int(value)
        # Other field names are ignored, as the standard says.

    def finish(self) -> bool:
        """End the stream: drop any unterminated event and get ready for a new stream.

        :attr:`last_event_id` and :attr:`retry` are kept, as a reconnecting ``EventSource`` keeps
        them.

        Returns:
            Whether the stream ended in the middle of an event (a field line without the blank
            line that dispatches it, or an unterminated line), which a client may treat as a
            truncated stream.
        """
        is_pending = self._in_event or bool(self._tail)
        self._reset()
        return is_pending


async def iter_sse(
    byte_chunks: AsyncIterable[bytes],
    *,
    on_comment: Callable[[str], None] | None = None,
    strict: bool = False,
) -> AsyncGenerator[SSEEvent, None]:
    """Decode an SSE byte stream (e.g. ``response.content.iter_any()``) into events.

    The stream ends when ``byte_chunks`` ends. Leaving the iteration early (or closing it)
    closes ``byte_chunks`` if it has an ``aclose()``; errors from ``byte_chunks`` propagate.
    Buffering: one partial line and event at most.

    Args:
        byte_chunks: The stream's bytes, in pieces of any size.
        on_comment: Called with each comment's text (heartbeats).
        strict: Raise instead of silently dropping an unterminated last event.

    Yields:
        Each event as soon as its blank line arrives.

    Raises:
        MalformedStreamError: ``strict`` is set and the stream ended in the middle of an event.
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
    comments (heartbeats) are skipped. Iteration stops at ``[DONE]``, without reading further,
    and closes ``byte_chunks`` if it has an ``aclose()`` (also when the consumer leaves early).

    Args:
        byte_chunks: The response body's bytes, in pieces of any size.

    Yields:
        Typed chunks, in stream order.

    Raises:
        MalformedStreamError: The stream ended before ``[DONE]`` (the message says whether it
            stopped in the middle of an event).
        ChunkParseError: An event's data is not a valid chunk.
    """
    decoder = SSEDecoder()
    iterator = aiter(byte_chunks)
    try:
        async for piece in iterator:
            for data in decoder.feed_data(piece):
                if data == _DONE_DATA:
                    return
                yield parse_chunk(data)
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
