"""How a provider model reaches its server: credentials, session, timeouts, retries, caps."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from reactivex import Observable

from rxagents._core.http import RetryPolicy
from rxagents.errors import ConfigurationError, MissingApiKeyError
from rxagents.models._http import http_stream
from rxagents.models._http_request import HttpStreamRequest, StreamDecoder
from rxagents.models._parts import ModelPart
from rxagents.models.providers._common import SettingWarning, env_value, merge_headers

__all__ = ("DEFAULT_RETRY", "DecoderFactory", "Transport", "api_key_for")

DEFAULT_RETRY = RetryPolicy()
"""The policy used when a model is given none."""

DecoderFactory = Callable[[Sequence[str], int | None], StreamDecoder]
"""Makes a body decoder from the secrets to redact and the SSE event size cap."""


def api_key_for(owner: str, given: str | None, env: str, url: str, hosted: str) -> str | None:
    """Return the API key (``given``, else ``$env``), ``None`` when there is none.

    Raises:
        MissingApiKeyError: There is no key and ``url`` is the provider's hosted API.
    """
    key = given if given is not None else env_value(env)
    if not key and url == hosted:
        raise MissingApiKeyError(
            f"{owner} needs an API key for {hosted}: pass api_key=... or set {env}",
            variable=env,
        )
    return key or None


@dataclass(frozen=True)
class Transport:
    """A model's HTTP settings, checked once, and the streamed request they make."""

    credentials: Mapping[str, str]
    """The header carrying the API key (empty without a key)."""
    secret: str | None
    """The API key, redacted from every error."""
    headers: Mapping[str, str]
    """The model's own headers, sent with every request."""
    session: aiohttp.ClientSession | None
    """The caller's session (never closed here), or ``None`` for the shared one."""
    timeout: float | None
    """Seconds allowed for the response headers and between two reads."""
    retry: RetryPolicy
    """When to retry before the first part."""
    max_event_size: int | None
    """The most bytes one server-sent event may hold."""

    @classmethod
    def checked(
        cls,
        owner: str,
        *,
        credentials: Mapping[str, str],
        secret: str | None,
        headers: Mapping[str, str],
        session: aiohttp.ClientSession | None,
        timeout: float | None,
        retry: RetryPolicy | None,
        max_event_size: int | None,
    ) -> Transport:
        """Return the settings of the model ``owner``.

        Raises:
            ConfigurationError: ``timeout`` or ``max_event_size`` is not positive.
        """
        if timeout is not None and not timeout > 0:
            raise ConfigurationError(f"{owner}: timeout must be positive seconds or None")
        if max_event_size is not None and max_event_size < 1:
            raise ConfigurationError(f"{owner}: max_event_size must be positive bytes or None")
        return cls(
            credentials, secret, headers, session, timeout, retry or DEFAULT_RETRY, max_event_size
        )

    def stream(
        self,
        provider: str,
        url: str,
        body: Mapping[str, Any],
        warnings: Sequence[SettingWarning],
        call_headers: Mapping[str, str] | None,
        decoder: DecoderFactory,
    ) -> Observable[ModelPart]:
        """Return the cold Observable of one streamed POST of ``body`` to ``url``."""
        secrets = (self.secret,) if self.secret else ()
        cap = self.max_event_size
        request = HttpStreamRequest(
            provider=provider,
            url=url,
            headers=merge_headers(
                {"Accept": "text/event-stream"}, self.credentials, self.headers, call_headers
            ),
            body=body,
            decoder=lambda: decoder(secrets, cap),
            secrets=secrets,
            warnings=warnings,
        )
        return http_stream(request, session=self.session, timeout=self.timeout, retry=self.retry)
