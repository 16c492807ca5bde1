"""A remote server's base URL, credentials and HTTP behaviour, shared by its remote objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from reactivex import Observable

from rxagents._core.http import RetryPolicy
from rxagents.adapters.client._http import (
    DEFAULT_CLIENT_RETRY,
    Framing,
    RemoteCall,
    remote_stream,
    request_json,
)
from rxagents.errors import ConfigurationError
from rxagents.events import Chunk

__all__ = ("Endpoint", "is_name")


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def is_name(value: object) -> bool:
    """Whether ``value`` is a non-empty string."""
    return isinstance(value, str) and bool(value)


class Endpoint:
    """A server's base URL, credentials and HTTP behaviour, shared by its remote objects."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None,
        token: str | None,
        session: aiohttp.ClientSession | None,
        retry: RetryPolicy | None,
        timeout: float | None,
        api_prefix: str,
    ) -> None:
        if not _is_url(base_url):
            raise ConfigurationError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base = base_url.rstrip("/") + "/" + api_prefix.strip("/")
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        self.session = session
        self.retry = retry if retry is not None else DEFAULT_CLIENT_RETRY
        self.timeout = timeout

    def url(self, *parts: str, **query: str) -> str:
        path = "/".join(quote(part, safe="") for part in parts)
        url = f"{self.base}/{path}"
        if query:
            url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return url

    def stream(
        self,
        url: str,
        body: Mapping[str, Any],
        framing: Framing,
        *,
        resume: Callable[[int], tuple[str, Mapping[str, Any]]] | None = None,
        offset: int | None = 0,
    ) -> Observable[Chunk]:
        """Stream a route; with ``resume``, re-attach when the connection breaks mid-stream.

        ``resume`` maps a position to the observe route's URL and body; ``offset`` is the run
        position of the answer's first chunk (``None``: the server names it, in its
        ``X-Run-Offset`` header, or the answer is not re-attached).
        """
        return remote_stream(self._call(url, body, framing, resume, offset))

    def _call(
        self,
        url: str,
        body: Mapping[str, Any],
        framing: Framing,
        resume: Callable[[int], tuple[str, Mapping[str, Any]]] | None,
        offset: int | None,
    ) -> RemoteCall:
        again: Callable[[int], RemoteCall] | None = None
        if resume is not None:

            def again(position: int) -> RemoteCall:
                url, body = resume(position)
                return self._call(url, body, framing, None, position)

        return RemoteCall(
            url,
            body,
            self.headers,
            framing,
            self.session,
            self.retry,
            self.timeout,
            resume=again,
            offset=offset,
        )

    async def json(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> Any:
        return await request_json(
            method,
            url,
            body or {},
            headers=self.headers,
            session=self.session,
            retry=self.retry,
            seconds=self.timeout,
        )
