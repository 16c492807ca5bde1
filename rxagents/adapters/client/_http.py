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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import aiohttp
import pydantic_core
from pydantic import ValidationError
from reactivex import Observable, abc

from rxagents._core.http import (
    DEFAULT_MAX_EVENT_SIZE,
    Retryable,
    RetryPolicy,
    SSEDecoder,
    TaskState,
    read_prefix,
    retry_after_seconds,
    retry_transient,
    shared_session,
    task_observable,
)
from rxagents.errors import MalformedStreamError, RemoteError, UnknownChunkTypeError
from rxagents.events import CHUNK_ADAPTER, Chunk, DataChunk, parse_chunk

__all__ = (
    "DEFAULT_CLIENT_RETRY",
    "RECONNECTS",
    "RUN_OFFSET_HEADER",
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

_DONE: Final = b"[DONE]"


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
    resume: Callable[[int], RemoteCall] | None = None
    """The call that re-attaches to the run from a position (an observe route), or ``None``:
    when set, a connection that breaks mid-stream is followed by that call, from the first
    chunk not yet delivered (at most :data:`RECONNECTS` times in a row, with backoff)."""
    offset: int | None = 0
    """The run position of the first chunk this call's answer holds; the answer's
    :data:`RUN_OFFSET_HEADER` overrides it. ``None``: only the server knows (a continuation of
    a paused run); without the header, a broken answer is not re-attached."""


RECONNECTS: Final = 5
"""How many re-attaches in a row a broken stream tries before it fails."""

RUN_OFFSET_HEADER: Final = "X-Run-Offset"
"""The response header in which a server names the run position of the answer's first chunk."""

_RECONNECT_BACKOFF: Final = RetryPolicy(initial_backoff=0.05, max_backoff=2.0)


class _Broken(MalformedStreamError):
    """The connection broke before the stream's end (a re-attach may continue it)."""


class _SSEChunks:
    """Mastra's SSE framing: each event's data is a chunk, ``data: [DONE]`` ends the stream."""

    __slots__ = ("_decoder", "is_done")

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self.is_done = False

    def feed(self, data: bytes) -> list[bytes]:
        payloads = self._decoder.feed_data(data)
        for index, payload in enumerate(payloads):
            if payload == _DONE:
                self.is_done = True
                return payloads[:index]
        return payloads

    def has_partial(self) -> bool:
        return self._decoder.finish()


class _Records:
    """Workflow framing: a JSON record and an ASCII record separator per chunk.

    A record may hold at most the SSE decoder's event cap (16 MiB); a longer one fails the
    stream with :class:`~rxagents.errors.MalformedStreamError` instead of growing the buffer.
    """

    __slots__ = ("_size", "_tail", "is_done")

    def __init__(self) -> None:
        self._tail: list[bytes] = []
        self._size = 0
        self.is_done = False

    def feed(self, data: bytes) -> list[bytes]:
        if b"\x1e" not in data:
            self._tail.append(data)  # joined once the record ends: linear
            self._size += len(data)
            if self._size > DEFAULT_MAX_EVENT_SIZE:
                self._tail = []
                raise MalformedStreamError(
                    f"a record is larger than {DEFAULT_MAX_EVENT_SIZE} bytes; "
                    "the stream was abandoned"
                )
            return []
        if self._tail:
            self._tail.append(data)
            data = b"".join(self._tail)
        records = data.split(b"\x1e")
        last = records.pop()
        self._tail = [last] if last else []
        self._size = len(last)
        return [r for r in records if r.strip()]

    def has_partial(self) -> bool:
        return bool(b"".join(self._tail).strip())


def _parse(data: bytes) -> Chunk | None:
    """Parse one chunk; ``None`` for an enveloped chunk of a type outside the vocabulary.

    A custom chunk without the envelope (what ``writer.custom()`` emits) is a
    :class:`~rxagents.events.DataChunk`.

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


def _with_run_id(chunk: DataChunk, run_id: str) -> DataChunk:
    """Name the run of a data chunk, which its wire form leaves out: the stream's run so far."""
    if chunk.run_id or not run_id:
        return chunk
    return chunk.model_copy(update={"run_id": run_id})


def remote_stream(call: RemoteCall) -> Observable[Chunk]:
    """Return a cold Observable: each subscription makes the request and streams its chunks."""

    async def run(observer: abc.ObserverBase[Chunk], state: TaskState) -> None:
        await _run(call, observer, state)

    return task_observable(run)


async def _run(call: RemoteCall, observer: abc.ObserverBase[Chunk], state: TaskState) -> None:
    current = call
    failures = 0
    while True:
        try:
            response = await _open(current, state)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if not state.disposed:
                observer.on_error(err)
            return
        first = _first_position(current, response)
        delivered = [0]  # payloads of this answer passed on: the next position is first + this
        finished = False
        try:
            await _read(current, response, observer, state, delivered)
            finished = True
            return
        except asyncio.CancelledError:
            raise
        except _Broken as err:
            if delivered[0]:
                failures = 0
            failures += 1
            if call.resume is None or first is None or state.disposed or failures > RECONNECTS:
                if not state.disposed:
                    observer.on_error(err)
                return
            position = first + delivered[0]
            _log.info("%s; re-attaching at position %d", err, position)
        except Exception as err:
            if not state.disposed:
                observer.on_error(err)
            return
        finally:
            if finished:
                response.release()
            else:
                response.close()  # drops the connection: the server sees the client leave
        await asyncio.sleep(_RECONNECT_BACKOFF.backoff(failures))
        if _disposed(state):  # the reader left during the backoff
            return
        current = call.resume(position)


def _first_position(call: RemoteCall, response: aiohttp.ClientResponse) -> int | None:
    """The run position of the answer's first chunk: the server's header, else the call's."""
    named = response.headers.get(RUN_OFFSET_HEADER, "")
    if named.isdigit():
        return int(named)
    return call.offset


def _disposed(state: TaskState) -> bool:
    return state.disposed


async def _open(call: RemoteCall, state: TaskState) -> aiohttp.ClientResponse:
    return await retry_transient(
        lambda: _attempt(call),
        call.retry,
        what=call.url,
        log=_log,
        may_retry=lambda: not state.disposed,
    )


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
        raise Retryable(
            RemoteError(0, {"error": f"{call.url} did not answer within {call.timeout:g} s"})
        ) from err
    except aiohttp.ClientConnectionError as err:
        raise Retryable(err) from None
    if response.status < 300:
        return response
    try:
        error = await _error_body(response, call.timeout)
    finally:
        response.release()
    failure = RemoteError(response.status, error)
    if response.status in call.retry.retry_statuses:
        raise Retryable(failure, retry_after_seconds(response.headers))
    raise failure


async def _error_body(response: aiohttp.ClientResponse, seconds: float | None) -> Any:
    raw = await read_prefix(response, seconds=seconds)
    try:
        return pydantic_core.from_json(raw)
    except ValueError:
        text = raw.decode("utf-8", "replace").strip()
        return {"error": text or response.reason or f"HTTP {response.status}"}


async def _read(
    call: RemoteCall,
    response: aiohttp.ClientResponse,
    observer: abc.ObserverBase[Chunk],
    state: TaskState,
    delivered: list[int],
) -> None:
    decoder: _SSEChunks | _Records = _SSEChunks() if call.framing == "sse" else _Records()
    content = response.content
    on_next = observer.on_next
    named = call.body.get("runId")
    last_run_id = named if isinstance(named, str) else ""  # a re-attach may open on a data chunk
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
            raise _Broken(
                f"the connection to {call.url} broke before the stream ended: {err}"
            ) from None
        if not data:
            break
        for payload in decoder.feed(data):
            delivered[0] += 1
            chunk = _parse(payload)
            if chunk is None:
                continue
            if type(chunk) is DataChunk:
                chunk = _with_run_id(chunk, last_run_id)
            else:
                last_run_id = chunk.run_id
            on_next(chunk)
            if state.disposed:
                return
        if decoder.is_done:
            break
    if decoder.has_partial():
        raise _Broken(
            f"the stream from {call.url} ended in the middle of "
            f"{'an event' if call.framing == 'sse' else 'a record'} (the connection was cut)"
        )
    if call.framing == "sse" and not decoder.is_done:
        raise _Broken(
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
    response = await _open(call, TaskState())
    try:
        raw = await response.read()
    finally:
        response.release()
    try:
        return parse(pydantic_core.from_json(raw) if raw.strip() else None)
    except ValueError as err:
        raise MalformedStreamError(f"{url} answered with invalid JSON: {err}") from None
