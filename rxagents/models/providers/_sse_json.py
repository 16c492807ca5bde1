"""The part both providers' stream decoders share: server-sent events carrying JSON objects."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from rxagents._core.http import DEFAULT_MAX_EVENT_SIZE, SSEDecoder, SSEEvent
from rxagents.errors import MalformedStreamError
from rxagents.models._http_request import redact
from rxagents.models._parts import ModelPart

__all__ = ("SSEJsonDecoder",)


class SSEJsonDecoder(ABC):
    """Feed a provider's SSE body through the one decoder, one JSON object per event.

    Subclasses set up their own state in :meth:`_start`, handle each event (:meth:`_on_sse`)
    and set ``_done`` when the protocol's end marker arrives; events after it are ignored.
    """

    _unit: ClassVar[str] = "an event"
    """How error messages name one event of this protocol."""

    def __init__(
        self,
        provider: str,
        secrets: Sequence[str] = (),
        *,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        self._provider = provider
        self._secrets = secrets
        self._sse = SSEDecoder(max_event_size=max_event_size)
        self._done = False
        self._start()

    @abstractmethod
    def _start(self) -> None:
        """Set up the subclass's decoding state (called once, by ``__init__``)."""

    @property
    def is_done(self) -> bool:
        """Whether the protocol's end marker arrived."""
        return self._done

    def feed(self, data: bytes, parts: list[ModelPart]) -> None:
        """Decode the next bytes, appending the parts they complete to ``parts``.

        Raises:
            MalformedStreamError: An event is not a JSON object, has the wrong shape, or is
                larger than ``max_event_size``.
            ProviderError: The server reported an error inside the stream.
        """
        for event in self._sse.feed(data):
            if self._done:
                break
            self._on_sse(event, parts)
        if not self._done:
            self._sse.check()  # an event past the size cap, after the events before it

    @abstractmethod
    def _on_sse(self, event: SSEEvent, parts: list[ModelPart]) -> None:
        """Handle one event, appending the parts it completes."""

    def _decode(self, data: str) -> dict[str, Any]:
        try:
            value = json.loads(data)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            snippet = redact(data[:120], self._secrets)
            raise MalformedStreamError(
                f"{self._provider} sent {self._unit} that is not a JSON object: {snippet!r}"
            )
        return value
