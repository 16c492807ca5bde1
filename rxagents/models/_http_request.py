"""What a provider hands the HTTP layer: one request, a body decoder, secrets to redact."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rxagents.models._parts import ModelPart

__all__ = ("HttpStreamRequest", "StreamDecoder", "error_message", "redact")


class StreamDecoder(Protocol):
    """Turns a provider's response body into model parts; one instance per attempt."""

    @property
    def is_done(self) -> bool:
        """Whether the protocol's end marker (``[DONE]``, ``message_stop``) was seen."""
        ...

    @property
    def is_complete(self) -> bool:
        """Whether the body may end here without having been cut off."""
        ...

    def feed(self, data: bytes, parts: list[ModelPart]) -> None:
        """Decode the next bytes of the body, appending the parts they complete to ``parts``.

        Raises:
            RunError: The stream is malformed or reported an error; the parts appended before
                the failure are still delivered.
        """
        ...

    def end(self) -> list[ModelPart]:
        """Return the parts that close the stream (open blocks, tool calls, ``finish``)."""
        ...


@dataclass(frozen=True)
class HttpStreamRequest:
    """One streaming POST to a provider, with how to read its answer."""

    provider: str
    """The provider's name, used in error messages."""
    url: str
    """Where to POST."""
    headers: Mapping[str, str]
    """Request headers (credentials included)."""
    body: Mapping[str, Any]
    """The JSON body."""
    decoder: Callable[[], StreamDecoder]
    """Makes a fresh decoder for each attempt."""
    secrets: Sequence[str] = ()
    """Strings that must never appear in an error (the API key)."""
    warnings: Sequence[Any] = ()
    """Settings the provider does not support, sent in the ``stream-start`` part."""


def redact(text: str, secrets: Sequence[str]) -> str:
    """Return ``text`` with every secret (of 4 characters or more) replaced."""
    for secret in secrets:
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, "[redacted]")
    return text


def error_message(body: str) -> str | None:
    """Return the provider's error message from an error body, when it has one.

    Understands ``{"error": {"message", "type"}}`` (OpenAI and Anthropic), ``{"error": str}``,
    ``{"message": str}`` and ``{"detail": str}`` (FastAPI-based servers such as vLLM).
    """
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error", data)
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail")
        kind = error.get("type") or error.get("code")
        if isinstance(message, str):
            return f"{message} ({kind})" if isinstance(kind, str) and kind else message
    return None
