r"""One POST to a Mastra-protocol server, streamed back as an Observable of chunks.

Subscribing starts one ``asyncio.Task``; disposing cancels it, which closes the HTTP connection
(the server sees the client leave and cancels its run). Only connection failures before the
response and 502/503/504 answers are retried, under a :class:`RetryPolicy`; the first chunk
can only come after the status line, so nothing is ever retried after a chunk went downstream.
A non-2xx answer is an ``on_error`` of :class:`~rxagents.errors.RemoteError` before any chunk.

The framing is chosen by route, not content type (Mastra sends records as ``text/plain``):

- ``"sse"``: ``data: <json>`` events, ended by ``data: [DONE]``; a stream that ends without it
  (or in the middle of an event) is a :class:`~rxagents.errors.MalformedStreamError`;
- ``"records"``: ``JSON + \x1e`` per chunk, ended by the end of the body; a trailing partial
  record is a :class:`~rxagents.errors.MalformedStreamError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import aiohttp
import pydantic_core
from pydantic import ValidationError
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents._core.http import RetryPolicy, retry_after_seconds, shared_session
from rxagents.adapters.sse import SSEDecoder
from rxagents.errors import MalformedStreamError, RemoteError, UnknownChunkTypeError
from rxagents.events import CHUNK_ADAPTER, Chunk, parse_chunk

__all__ = (
    "DEFAULT_CLIENT_RETRY",
    "Framing",
    "RemoteCall",
    "remote_stream",
    "request_json",
)

_log = logging.getLogger("rxagents.adapters.client")

Framing = Literal["sse", "records"]
"""How a route frames its chunks."""

DEFAULT_CLIENT_RETRY: Final = RetryPolicy(retry_statuses=frozenset({502, 503, 504}))
"""Connection errors and 502/503/504 before the first chunk, three attempts in all."""

_MAX_ERROR_BODY: Final = 64 * 1024
_DONE: Final = b"[DONE]"
_TASKS: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class RemoteCall:
    """One request to a remote server: where, what, and how to read the answer."""

    url: str
    """The full URL."""
    body: Mapping[str, Any]
    """The JSON body."""
    headers: Mapping[str, str]
    """Request headers (the bearer token among them)."""
    framing: Framing
    """How the answer is framed."""
    session: aiohttp.ClientSession | None
    """The caller's session (never closed here), or ``None`` for the shared one."""
    retry: RetryPolicy
    """When to retry before the answer."""
    timeout: float | None
    """Seconds allowed to connect and get the status line, and between two reads."""
    method: str = "POST"
    """The HTTP method (``GET`` sends no body)."""


class _Retryable(Exception):
    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _SSEChunks:
    """Mastra's SSE framing, fast path: blocks split on a blank line, one ``data:`` line each.

    Anything else (CR line endings, multi-line events, other fields) goes through the
    spec-following :class:`SSEDecoder` from then on.
    """

    __slots__ = ("_general", "_tail", "is_done")

    def __init__(self) -> None:
        self._tail: list[bytes] = []
        self._general: SSEDecoder | None = None
        self.is_done = False

    def feed(self, data: bytes) -> list[bytes]:
        if self._general is not None or b"\r" in data:
            if self._tail:
                data = b"".join(self._tail) + data
                self._tail = []
            return self._feed_general(data)
        if b"\n" not in data:
            self._tail.append(data)  # joined once a line ends: no quadratic copying
            return []
        if self._tail:
            self._tail.append(data)
            data = b"".join(self._tail)
        blocks = data.split(b"\n\n")
        last = blocks.pop()
        self._tail = [last] if last else []
        result: list[bytes] = []
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:
                payload = block[6:]
                if payload == _DONE:
                    self.is_done = True
                    return result
                result.append(payload)
            elif block and block[:1] != b":":
                for event in SSEDecoder().feed(block + b"\n\n"):  # other fields, several lines
                    payload = event.data.encode()
                    if payload == _DONE:
                        self.is_done = True
                        return result
                    result.append(payload)
        return result

    def _feed_general(self, data: bytes) -> list[bytes]:
        if self._general is None:
            self._general = SSEDecoder()
        result: list[bytes] = []
        for event in self._general.feed(data):
            payload = event.data.encode()
            if payload == _DONE:
                self.is_done = True
                break
            result.append(payload)
        return result

    def has_partial(self) -> bool:
        if self._general is not None:
            return self._general.finish()
        return bool(b"".join(self._tail).strip())


class _Records:
    """Workflow framing: a JSON record and an ASCII record separator per chunk."""

    __slots__ = ("_tail", "is_done")

    def __init__(self) -> None:
        self._tail: list[bytes] = []
        self.is_done = False

    def feed(self, data: bytes) -> list[bytes]:
        if b"\x1e" not in data:
            self._tail.append(data)
            return []
        if self._tail:
            self._tail.append(data)
            data = b"".join(self._tail)
        records = data.split(b"\x1e")
        last = records.pop()
        self._tail = [last] if last else []
        return [r for r in records if r.strip()]

    def has_partial(self) -> bool:
        return bool(b"".join(self._tail).strip())


def _parse(data: bytes) -> Chunk | None:
    """Parse one chunk; ``None`` for a custom type (Mastra's ``writer.custom()`` events).

    Raises:
        ChunkParseError: A chunk of a known type is malformed, or the data is not JSON.
    """
    try:
        return CHUNK_ADAPTER.validate_json(data)
    except ValidationError:
        try:
            return parse_chunk(data)  # raises the library's error, naming the bad field
        except UnknownChunkTypeError as err:
            _log.debug("skipping a chunk of custom type %r", err.chunk_type)
            return None


def remote_stream(call: RemoteCall) -> Observable[Chunk]:
    """Return a cold Observable: each subscription makes the request and streams its chunks."""

    def subscribe(
        observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        state = _State()
        task = asyncio.get_running_loop().create_task(_run(call, observer, state))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

        def dispose() -> None:
            state.disposed = True
            task.cancel()

        return Disposable(dispose)

    return Observable(subscribe)


class _State:
    __slots__ = ("disposed",)

    def __init__(self) -> None:
        self.disposed = False


async def _run(call: RemoteCall, observer: abc.ObserverBase[Chunk], state: _State) -> None:
    try:
        response = await _open(call, state)
    except asyncio.CancelledError:
        raise
    except Exception as err:
        if not state.disposed:
            observer.on_error(err)
        return
    finished = False
    try:
        await _read(call, response, observer, state)
        finished = True
    except asyncio.CancelledError:
        raise
    except Exception as err:
        if not state.disposed:
            observer.on_error(err)
    finally:
        if finished:
            response.release()
        else:
            response.close()  # drops the connection: the server sees the client leave


async def _open(call: RemoteCall, state: _State) -> aiohttp.ClientResponse:
    policy = call.retry
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await _attempt(call)
        except _Retryable as failure:
            wait = failure.retry_after
            if wait is None or not policy.respect_retry_after:
                wait = policy.backoff(attempt)
            elapsed = time.monotonic() - started
            if (
                state.disposed
                or attempt >= policy.max_attempts
                or wait > policy.max_retry_after
                or elapsed + wait > policy.max_elapsed
            ):
                raise failure.error from None
            _log.info(
                "retrying %s (attempt %d failed: %s); waiting %.2f s",
                call.url,
                attempt,
                failure.error,
                wait,
            )
            await policy.sleep(wait)


async def _attempt(call: RemoteCall) -> aiohttp.ClientResponse:
    session = call.session if call.session is not None else await shared_session()
    try:
        async with asyncio.timeout(call.timeout):
            response = await session.request(
                call.method,
                call.url,
                data=pydantic_core.to_json(call.body) if call.method != "GET" else None,
                headers={"Content-Type": "application/json", **call.headers},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=call.timeout),
            )
    except TimeoutError as err:
        raise _Retryable(
            RemoteError(0, {"error": f"{call.url} did not answer within {call.timeout:g} s"})
        ) from err
    except aiohttp.ClientConnectionError as err:
        raise _Retryable(err) from None
    if response.status < 300:
        return response
    try:
        error = await _error_body(response, call.timeout)
    finally:
        response.release()
    failure = RemoteError(response.status, error)
    if response.status in call.retry.retry_statuses:
        raise _Retryable(failure, retry_after_seconds(response.headers))
    raise failure


async def _error_body(response: aiohttp.ClientResponse, seconds: float | None) -> Any:
    raw = b""
    try:
        async with asyncio.timeout(seconds):
            raw = await response.content.read(_MAX_ERROR_BODY)
    except (aiohttp.ClientError, TimeoutError, ConnectionError):
        pass
    try:
        return pydantic_core.from_json(raw)
    except ValueError:
        text = raw.decode("utf-8", "replace").strip()
        return {"error": text or response.reason or f"HTTP {response.status}"}


async def _read(
    call: RemoteCall,
    response: aiohttp.ClientResponse,
    observer: abc.ObserverBase[Chunk],
    state: _State,
) -> None:
    decoder: _SSEChunks | _Records = _SSEChunks() if call.framing == "sse" else _Records()
    content = response.content
    on_next = observer.on_next
    timeout = call.timeout
    while True:
        try:
            if timeout is None:
                data = await content.readany()
            else:
                async with asyncio.timeout(timeout):
                    data = await content.readany()
        except TimeoutError as err:
            raise MalformedStreamError(
                f"no data from {call.url} for {timeout:g} s; the stream was abandoned"
            ) from err
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as err:
            raise MalformedStreamError(
                f"the connection to {call.url} broke before the stream ended: {err}"
            ) from None
        if not data:
            break
        for payload in decoder.feed(data):
            chunk = _parse(payload)
            if chunk is not None:
                on_next(chunk)
            if state.disposed:
                return
        if decoder.is_done:
            break
    if decoder.has_partial():
        raise MalformedStreamError(
            f"the stream from {call.url} ended in the middle of "
            f"{'an event' if call.framing == 'sse' else 'a record'} (the connection was cut)"
        )
    if call.framing == "sse" and not decoder.is_done:
        raise MalformedStreamError(
            f"the SSE stream from {call.url} ended without 'data: [DONE]' "
            "(the server stopped early or the connection was cut)"
        )
    if not state.disposed:
        observer.on_completed()


async def request_json(
    method: str,
    url: str,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str],
    session: aiohttp.ClientSession | None,
    retry: RetryPolicy,
    seconds: float | None,
    parse: Callable[[Any], Any] = lambda value: value,
) -> Any:
    """Send a JSON request and return the decoded JSON answer (retried like a stream).

    Raises:
        RemoteError: The server answered with a non-2xx status.
        aiohttp.ClientConnectionError: The server could not be reached.
    """
    call = RemoteCall(url, body, headers, "records", session, retry, seconds, method)
    response = await _open(call, _State())
    try:
        raw = await response.read()
    finally:
        response.release()
    try:
        return parse(pydantic_core.from_json(raw) if raw.strip() else None)
    except ValueError as err:
        raise MalformedStreamError(f"{url} answered with invalid JSON: {err}") from None
