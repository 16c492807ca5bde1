r"""The one incremental server-sent-events decoder: providers and the client read with it.

Framing follows the HTML standard's event stream interpretation
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
UTF-8, a BOM stripped at the start, ``CRLF``, ``LF`` or ``CR`` line endings, ``:`` comments,
``event``/``data``/``id``/``retry`` fields, one leading space after the colon stripped, data lines
joined with ``\n``, an event dispatched on a blank line, and an unterminated last event dropped.

Decoding is linear in the bytes read, however they are cut: an unterminated line is kept as a
list of pieces joined once, when its line ends. Memory is bounded: one event (its unterminated
line plus its data lines) may hold at most ``max_event_size`` bytes
(:data:`DEFAULT_MAX_EVENT_SIZE`, 16 MiB, unless the caller sets another cap). Past it the
decoder drops what it buffered and raises :class:`~rxagents.errors.MalformedStreamError`; when
the same piece completed events before the overflow, those are returned first and the error is
raised by :meth:`SSEDecoder.check`, the next feed, or :meth:`SSEDecoder.finish`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, final, overload

from rxagents.errors import ConfigurationError, MalformedStreamError

__all__ = ("DEFAULT_MAX_EVENT_SIZE", "SSEDecoder", "SSEEvent")

DEFAULT_MAX_EVENT_SIZE: Final = 16 * 1024 * 1024
"""The largest event (bytes of its lines) a decoder buffers unless told otherwise: 16 MiB."""

_BOM: Final = b"\xef\xbb\xbf"
_LF: Final = 0x0A
_CR: Final = 0x0D


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
        "_data_size",
        "_event",
        "_event_retry",
        "_id_buffer",
        "_in_event",
        "_max_event_size",
        "_on_comment",
        "_overflowed",
        "_tail",
        "_tail_size",
        "comments",
        "last_event_id",
        "retry",
    )

    def __init__(
        self,
        *,
        on_comment: Callable[[str], None] | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        """Create a decoder for one stream.

        Args:
            on_comment: Called with each comment's text (one leading space stripped).
            max_event_size: The most bytes one event may buffer (its unterminated line and its
                data lines); ``None`` lifts the cap.

        Raises:
            ConfigurationError: ``max_event_size`` is not positive.
        """
        if max_event_size is not None and max_event_size < 1:
            raise ConfigurationError("SSEDecoder.max_event_size must be a positive int or None")
        self._on_comment = on_comment
        self._max_event_size = max_event_size
        self._overflowed = False
        self.comments = 0
        """How many comment lines were read."""
        self.last_event_id = ""
        """The id of the last dispatched event (what a reconnecting client sends back)."""
        self.retry: int | None = None
        """The last reconnection time (ms) the stream set, or ``None``."""
        self._reset()

    def _reset(self) -> None:
        self._tail: list[bytes] = []
        self._tail_size = 0
        self._at_start = True
        self._after_cr = False
        self._data: list[bytes] = []
        self._data_size = 0
        self._event = ""
        self._event_retry: int | None = None
        self._id_buffer = ""
        self._in_event = False

    @property
    def buffered(self) -> int:
        """How many bytes the decoder holds for the event in progress (at most the cap)."""
        return self._tail_size + self._data_size

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode the next bytes of the stream.

        Args:
            chunk: Any piece of the stream: lines, and even UTF-8 sequences, may be split.

        Returns:
            The events completed by this piece, in order (often none).

        Raises:
            MalformedStreamError: An event grew past ``max_event_size`` (now or before).
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

        Raises:
            MalformedStreamError: An event grew past ``max_event_size`` (now or before).
        """
        return self._decode(chunk, True)

    def _is_over_cap(self) -> bool:
        if self._overflowed:
            return True
        cap = self._max_event_size
        if cap is None or self._tail_size + self._data_size <= cap:
            return False
        self._overflowed = True
        self._reset()  # stop buffering: memory stays bounded whatever the stream sends next
        return True

    def _overflow(self) -> MalformedStreamError:
        return MalformedStreamError(
            f"an SSE event is larger than {self._max_event_size} bytes (the decoder's "
            "max_event_size); the stream was abandoned"
        )

    def _keep(self, piece: bytes) -> None:
        """Buffer part of an unterminated line (joined once the line ends: linear)."""
        self._tail.append(piece)
        self._tail_size += len(piece)

    def _lines(self, chunk: bytes) -> tuple[list[bytes], bytes]:
        """Return the lines this piece completes and its unterminated rest."""
        if self._after_cr and chunk:
            # A CR ended the previous piece: an LF starting this one is the same line ending.
            self._after_cr = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if self._at_start:
            if self._tail:
                chunk = b"".join(self._tail) + chunk
                self._tail = []
                self._tail_size = 0
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                return [], chunk
            self._at_start = False
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if b"\n" not in chunk and b"\r" not in chunk:
            return [], chunk
        if self._tail:
            self._tail.append(chunk)
            chunk = b"".join(self._tail)
            self._tail = []
            self._tail_size = 0
        if b"\r" in chunk:
            if chunk[-1] == _CR:
                self._after_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        return lines, lines.pop()

    @overload
    def _decode(self, chunk: bytes, raw: Literal[False]) -> list[SSEEvent]: ...
    @overload
    def _decode(self, chunk: bytes, raw: Literal[True]) -> list[bytes]: ...
    def _decode(self, chunk: bytes, raw: bool) -> list[SSEEvent] | list[bytes]:
        if self._overflowed:
            raise self._overflow()
        out: list[Any] = []
        data = self._data
        cap = self._max_event_size
        lines, rest = self._lines(chunk)
        size = self._data_size  # the lines of a piece with line ends leave no tail behind
        for line in lines:
            if not line:  # a blank line dispatches the event
                self._in_event = False
                self.last_event_id = self._id_buffer
                if data:
                    payload = data[0] if len(data) == 1 else b"\n".join(data)
                    data.clear()
                    size = 0
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
                continue
            value: bytes | None
            if line[:5] == b"data:":
                value = line[6:] if line[5:6] == b" " else line[5:]
                data.append(value)
                self._in_event = True
            else:
                value = self._field(line)
                if value is None:
                    continue
            size += len(value) + 1
            if cap is not None and size > cap:
                break
        self._data_size = size
        if not self._is_over_cap() and rest:
            self._keep(rest)
        # Events completed before an overflow are delivered; the error comes with the next feed.
        if self._is_over_cap() and not out:
            raise self._overflow()
        return out

    def _field(self, line: bytes) -> bytes | None:
        """Apply one non-``data:`` line; return the data it added, if any."""
        colon = line.find(b":")
        if colon == 0:
            self.comments += 1
            if self._on_comment is not None:
                text = line[2:] if line[1:2] == b" " else line[1:]
                self._on_comment(text.decode("utf-8", "replace"))
            return None
        self._in_event = True
        if colon < 0:
            name, value = line, b""
        else:
            name, value = line[:colon], line[colon + 1 :]
            if value[:1] == b" ":
                value = value[1:]
        if name == b"data":
            self._data.append(value)
            return value
        if name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id_buffer = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII digits only
            self.retry = self._event_retry = int(value)
        # Other field names are ignored, as the standard says.
        return None

    def check(self) -> None:
        """Raise the error the last feed found after the events it returned, if any.

        A piece that completes events and then overflows returns those events; call this after
        handling them to fail at once rather than at the next feed.

        Raises:
            MalformedStreamError: An event grew past ``max_event_size``.
        """
        if self._overflowed:
            raise self._overflow()

    def finish(self) -> bool:
        """End the stream: drop any unterminated event and get ready for a new stream.

        :attr:`last_event_id` and :attr:`retry` are kept, as a reconnecting ``EventSource`` keeps
        them.

        Returns:
            Whether the stream ended in the middle of an event (a field line without the blank
            line that dispatches it, or an unterminated line), which a client may treat as a
            truncated stream.

        Raises:
            MalformedStreamError: An event grew past ``max_event_size``.
        """
        is_pending = self._in_event or bool(self._tail)
        overflowed = self._overflowed
        self._overflowed = False
        self._reset()
        if overflowed:
            raise self._overflow()
        return is_pending
