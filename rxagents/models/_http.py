"""HTTP for model providers: one streamed request as a cold ``Observable[ModelPart]``.

A provider describes one request (:class:`~rxagents.models._http_request.HttpStreamRequest`)
and how to decode its body (a :class:`~rxagents.models._http_request.StreamDecoder`);
:func:`http_stream` turns that into a cold ``Observable[ModelPart]`` over the shared HTTP layer
(:mod:`rxagents._core.http`: session, retry engine, one task per subscription):

- subscribing starts one ``asyncio.Task``; disposing cancels it, which closes the HTTP response
  (the server sees the disconnect);
- an *attempt* lasts from the request until the first part goes downstream; connect errors,
  timeouts, retryable statuses and drops before that point are retried under a
  :class:`~rxagents._core.http.RetryPolicy`, honouring ``Retry-After`` and the providers'
  rate-limit reset headers; nothing is retried after the first part, so no text is ever
  duplicated, and cancellation is never retried;
- a failure before the provider answered ``200`` is sent as ``on_error`` (a
  :class:`~rxagents.errors.ProviderError` with status, truncated body and headers); a failure
  while reading the stream (a drop, malformed data such as an event over the SSE decoder's size
  cap, an idle timeout) becomes an ``error`` part followed by ``finish`` with reason ``error``,
  and the parts before it stay delivered.

Error messages, bodies and headers never contain the API key: every secret of the request is
redacted before an error leaves this module.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import logging
from collections.abc import Mapping
from typing import final

import aiohttp
from reactivex import Observable, abc

from rxagents._core import http
from rxagents.errors import IdleTimeoutError, ProviderError, RunError
from rxagents.models._http_request import HttpStreamRequest, error_message, redact
from rxagents.models._parts import FinishPart, ModelErrorPart, ModelPart, StreamStartPart

__all__ = ("http_stream",)

_log = logging.getLogger(__name__)


def _user_agent() -> str:
    try:
        return f"rxagents/{importlib.metadata.version('rxagents')}"
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "rxagents"


_USER_AGENT = _user_agent()
_BODY_IN_ERROR = 2000
_CONNECT_TIMEOUT = 30.0
_HELD_PARTS = frozenset({"stream-start", "response-metadata"})
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)


def http_stream(
    request: HttpStreamRequest,
    *,
    session: aiohttp.ClientSession | None,
    timeout: float | None,
    retry: http.RetryPolicy,
) -> Observable[ModelPart]:
    """Return a cold Observable streaming one provider request as model parts.

    Args:
        request: What to send and how to decode the answer.
        session: The caller's session (never closed here), or ``None`` for the shared one.
        timeout: Seconds allowed for the response headers and between two reads of the body
            (connecting gets at most 30 s of it); ``None`` waits forever.
        retry: When to retry before the first part.
    """
    return http.task_observable(_Stream(request, session, timeout, retry).run)


@final
class _Stream:
    def __init__(
        self,
        request: HttpStreamRequest,
        session: aiohttp.ClientSession | None,
        timeout: float | None,
        retry: http.RetryPolicy,
    ) -> None:
        self._request = request
        self._session = session
        self._timeout = timeout
        self._connect_timeout = None if timeout is None else min(timeout, _CONNECT_TIMEOUT)
        self._retry = retry
        # Credentials passed as plain headers (Azure's api-key, a proxy's token) are secrets too.
        credentials = [
            value.removeprefix("Bearer ").strip()
            for name, value in request.headers.items()
            if name.lower() in _SECRET_HEADERS
        ]
        self._secrets = (*request.secrets, *credentials)
        self._body = json.dumps(request.body).encode()
        self._headers = {
            "User-Agent": _USER_AGENT,
            "Content-Type": "application/json",
            **request.headers,
        }

    async def run(self, observer: abc.ObserverBase[ModelPart], state: http.TaskState) -> None:
        try:
            await http.retry_transient(
                lambda: self._attempt(observer, state),
                self._retry,
                what=f"{self._request.provider} request",
                log=_log,
                may_retry=lambda: not (state.emitted or state.disposed),
            )
        except asyncio.CancelledError:
            raise
        except RunError as err:
            self._fail(observer, state, err)
        except Exception as err:  # a bug in a decoder: still end the stream with an error
            _log.exception("%s stream failed", self._request.provider)
            self._fail(observer, state, RunError(self._redact(f"{type(err).__name__}: {err}")))

    def _fail(
        self, observer: abc.ObserverBase[ModelPart], state: http.TaskState, err: RunError
    ) -> None:
        if state.disposed:
            return
        if not state.in_body:
            observer.on_error(err)
            return
        observer.on_next(ModelErrorPart(error=err))
        if not state.disposed:
            observer.on_next(FinishPart(finish_reason="error"))
        if not state.disposed:
            observer.on_completed()

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def _attempt(self, observer: abc.ObserverBase[ModelPart], state: http.TaskState) -> None:
        request = self._request
        state.in_body = False
        session = self._session if self._session is not None else await http.shared_session()
        try:
            async with asyncio.timeout(self._timeout):
                response = await session.post(
                    request.url,
                    data=self._body,
                    headers=self._headers,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout),
                )
        except TimeoutError as err:
            raise http.Retryable(
                ProviderError(
                    f"{request.provider} did not answer within {self._timeout:g} s",
                    provider=request.provider,
                )
            ) from err
        except aiohttp.ClientError as err:
            raise http.Retryable(
                ProviderError(
                    self._redact(f"could not reach {request.provider}: {err}"),
                    provider=request.provider,
                )
            ) from None
        finished = False
        try:
            if response.status != 200:
                raise await self._status_error(response)
            content_type = response.headers.get("Content-Type", "")
            if "text/event-stream" not in content_type:
                raise await self._status_error(response, unexpected=content_type)
            state.in_body = True
            await self._read(response, observer, state)
            finished = True
        finally:
            if finished:
                response.release()
            else:
                # Closing (not releasing) drops the connection: the server sees the client leave.
                response.close()

    async def _read(
        self,
        response: aiohttp.ClientResponse,
        observer: abc.ObserverBase[ModelPart],
        state: http.TaskState,
    ) -> None:
        request = self._request
        decoder = request.decoder()
        held: list[ModelPart] = [StreamStartPart(warnings=list(request.warnings))]

        def emit(parts: list[ModelPart]) -> None:
            for part in parts:
                if state.disposed:
                    return
                if part.type in _HELD_PARTS:
                    # Metadata waits for the first real part, so a retry never repeats it.
                    held.append(part)
                    continue
                if held:
                    for early in held:
                        observer.on_next(early)
                    held.clear()
                state.emitted = True
                observer.on_next(part)

        content = response.content
        while True:
            try:
                async with asyncio.timeout(self._timeout):
                    data = await content.readany()
            except TimeoutError as err:
                assert self._timeout is not None
                raise http.Retryable(IdleTimeoutError(self._timeout)) from err
            except (aiohttp.ClientError, ConnectionError) as err:
                raise http.Retryable(self._dropped(f" ({err})")) from None
            if not data:
                if not decoder.is_complete:
                    raise http.Retryable(self._dropped(""))
                break
            parts: list[ModelPart] = []
            try:
                decoder.feed(data, parts)
            finally:
                emit(parts)  # what came before a failure in the same read stays delivered
            if decoder.is_done:
                break
        emit(decoder.end())
        if not state.disposed:
            observer.on_completed()

    def _dropped(self, detail: str) -> ProviderError:
        provider = self._request.provider
        return ProviderError(
            self._redact(f"the connection to {provider} closed before the stream ended{detail}"),
            provider=provider,
        )

    async def _status_error(
        self, response: aiohttp.ClientResponse, *, unexpected: str | None = None
    ) -> Exception:
        request = self._request
        raw = await http.read_prefix(response, seconds=self._timeout)
        body = self._redact(raw.decode("utf-8", "replace"))
        headers = {
            k: self._redact(v)
            for k, v in response.headers.items()
            if k.lower() not in _SECRET_HEADERS
        }
        detail = error_message(body) or response.reason or ""
        status = response.status
        if unexpected is not None:
            what = f"{request.provider} answered {status} with {unexpected or 'no content type'}"
            message = f"{what} instead of an event stream: {detail or body[:200]}"
        else:
            message = f"{request.provider} answered {status}: {detail}"
            if status in (401, 403):
                message += " (check the API key)"
        error = ProviderError(
            self._redact(message),
            status=status,
            body=body[:_BODY_IN_ERROR],
            headers=headers,
            provider=request.provider,
        )
        if unexpected is None and _should_retry(status, headers, self._retry):
            return http.Retryable(error, http.retry_after_seconds(headers))
        return error


def _should_retry(status: int, headers: Mapping[str, str], policy: http.RetryPolicy) -> bool:
    # OpenAI and Anthropic say explicitly when a retry is (not) useful; their SDKs obey.
    hint = next((v for k, v in headers.items() if k.lower() == "x-should-retry"), "").lower()
    if hint in ("true", "false"):
        return hint == "true"
    return status in policy.retry_statuses
