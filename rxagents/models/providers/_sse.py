"""A small incremental server-sent-events parser for provider streams (WHATWG framing)."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ("SSEEvent", "SSEParser")


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event."""

    event: str
    """The ``event:`` field, ``"message"`` when absent."""
    data: str
    """The ``data:`` lines joined with newlines."""


class SSEParser:
    """Split bytes into events; bytes may be cut anywhere, even inside a UTF-8 character.

    Lines end with LF, CRLF or CR; a blank line dispatches the event; comments
    (``:``) and ``id``/``retry`` fields are ignored; an event without ``data`` is not
    dispatched; an unterminated event at the end of the body is dropped, as the standard says.
    """

    __slots__ = ("_buffer", "_data", "_decoder", "_event", "_pending_cr", "_started")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._pending_cr = False
        self._started = False
        self._data: list[str] = []
        self._event = ""

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Return the events completed by ``data``."""
        text = self._decoder.decode(data)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = text.endswith("\r")
        if not text:
            return []
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = (self._buffer + text).split("\n")
        self._buffer = lines.pop()
        events: list[SSEEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(SSEEvent(self._event or "message", "\n".join(self._data)))
                self._data = []
                self._event = ""
                continue
            if line[0] == ":":
                continue
            name, colon, value = line.partition(":")
            if colon and value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
        return events
