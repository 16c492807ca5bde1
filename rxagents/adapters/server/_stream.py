r"""Write a run's Observable to an HTTP response: SSE or records, pings, disconnects.

One handler task per response. The Observable's callbacks run on the event loop and only encode
each chunk and append the bytes to a list; the handler task wakes once per loop callback that
produced chunks and writes them all with one ``write`` (coalescing). While nothing arrives, the
task wakes every ``disconnect_check`` seconds to look at the transport (aiohttp does not cancel a
handler whose client left) and, for SSE, sends ``: ping`` after ``ping_interval`` of silence.

When the client leaves, the subscription is disposed: a run streamed directly is cancelled (the
model's HTTP request closes, tools are cancelled); a run read from its event log only loses a
reader (the orphan grace decides). Once the response started, failures are in-band: the
framing's error bytes, then its normal end; never a 5xx.

Buffering: unbounded. Rx has no backpressure; while a slow client drains, encoded chunks wait
in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pydantic_core
from aiohttp import web
from reactivex import Observable, abc

from rxagents.events import ErrorInfo

__all__ = (
    "RECORDS",
    "SSE_CHUNKS",
    "SSE_UI",
    "Framing",
    "StreamSettings",
    "record_log_frames",
    "sse_log_frames",
    "stream_frames",
    "stream_observable",
)

_log = logging.getLogger("rxagents.adapters.server")

_DONE: Final = b"data: [DONE]\n\n"
_PING: Final = b": ping\n\n"


def _model_json(chunks: list[Any]) -> list[bytes]:
    return [type(c).__pydantic_serializer__.to_json(c, by_alias=True) for c in chunks]


def _sse_chunks(chunks: list[Any]) -> bytes:
    return b"data: " + b"\n\ndata: ".join(_model_json(chunks)) + b"\n\n"


def _records(chunks: list[Any]) -> bytes:
    return b"\x1e".join(_model_json(chunks)) + b"\x1e"


def _sse_dicts(parts: list[Any]) -> bytes:
    to_json = pydantic_core.to_json
    return b"data: " + b"\n\ndata: ".join([to_json(p) for p in parts]) + b"\n\n"


def _sse_dict(part: Any) -> bytes:
    return b"data: " + pydantic_core.to_json(part) + b"\n\n"


def _error_json(error: BaseException) -> dict[str, Any]:
    return ErrorInfo.from_exception(error).model_dump(by_alias=True)


def _agent_error_tail(error: BaseException, run_id: str, source: str) -> bytes:
    chunk = {
        "type": "error",
        "runId": run_id,
        "from": source,
        "payload": {"error": _error_json(error)},
    }
    if source != "AGENT":
        return b"data: " + pydantic_core.to_json(chunk) + b"\n\n"
    finish = {
        "type": "finish",
        "runId": run_id,
        "from": "AGENT",
        "payload": {
            "stepResult": {"reason": "error", "isContinued": False},
            "output": {
                "text": "",
                "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
            },
        },
    }
    return b"".join(b"data: " + pydantic_core.to_json(c) + b"\n\n" for c in (chunk, finish))


def _workflow_error_tail(error: BaseException, run_id: str, source: str) -> bytes:
    info = _error_json(error)
    chunk = {"type": "error", "runId": run_id, "from": "WORKFLOW", "payload": {"error": info}}
    finish = {
        "type": "workflow-finish",
        "runId": run_id,
        "from": "WORKFLOW",
        "payload": {
            "workflowStatus": "failed",
            "output": {"usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}},
            "metadata": {"error": info, "errorMessage": info["message"]},
        },
    }
    return b"".join(pydantic_core.to_json(c) + b"\x1e" for c in (chunk, finish))


def _ui_error_tail(error: BaseException, run_id: str, source: str) -> bytes:
    return _sse_dict({"type": "error", "errorText": str(error) or type(error).__name__})


@dataclass(frozen=True)
class Framing:
    """How chunks become bytes on one kind of route."""

    headers: Mapping[str, str]
    """Response headers (the content type among them)."""
    encode: Callable[[list[Any]], bytes]
    """Encode a batch of chunks (those pushed in one event-loop callback) as one write."""
    tail: bytes
    """Written after the last chunk (``data: [DONE]``)."""
    error_tail: Callable[[BaseException, str, str], bytes]
    """The in-band error for ``(error, run id, source)`` (before ``tail``)."""
    ping: bytes | None = None
    """A heartbeat for silent streams, or ``None`` where the framing has no comments."""


_SSE_HEADERS: Final = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}

SSE_CHUNKS: Final = Framing(
    headers=_SSE_HEADERS,
    encode=_sse_chunks,
    tail=_DONE,
    error_tail=_agent_error_tail,
    ping=_PING,
)
"""Mastra's agent and network framing: ``data: <json>\\n\\n`` … ``data: [DONE]\\n\\n``."""

RECORDS: Final = Framing(
    headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache"},
    encode=_records,
    tail=b"",
    error_tail=_workflow_error_tail,
)
"""Mastra's workflow framing: each chunk is ``JSON + \\x1e``; the stream ends with the body."""

SSE_UI: Final = Framing(
    headers={**_SSE_HEADERS, "x-vercel-ai-ui-message-stream": "v1"},
    encode=_sse_dicts,
    tail=_DONE,
    error_tail=_ui_error_tail,
    ping=_PING,
)
"""The AI SDK v5 UI message stream: UI chunk dicts as SSE, then ``data: [DONE]``."""


@dataclass(frozen=True)
class StreamSettings:
    """Timing of a streaming response."""

    ping_interval: float = 15.0
    """Seconds of silence before an SSE ``: ping``."""
    disconnect_check: float = 0.25
    """How often a silent stream looks at the connection, in seconds."""
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    """Headers added to every streaming response."""


class _Pump:
    """The Observable's side: collect each chunk and wake the writer (encoding is batched)."""

    __slots__ = ("chunks", "done", "ended", "error", "waiter")

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.done = False
        self.ended = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None

    def on_next(self, chunk: Any) -> None:
        if self.done:
            return
        self.chunks.append(chunk)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def on_batch(self, chunks: list[Any]) -> None:
        if self.done:
            return
        self.chunks.extend(chunks)
        self._wake()

    def on_error(self, error: Exception) -> None:
        self.ended = True
        if not self.done:
            self.error = error
            self.done = True
            self._wake()

    def on_completed(self) -> None:
        self.ended = True
        self.done = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)


class _Encoder:
    """Encode batches; on a chunk that cannot be encoded, keep the good ones and stop."""

    __slots__ = ("_encode", "run_id", "source")

    def __init__(self, encode: Callable[[list[Any]], bytes], run_id: str) -> None:
        self._encode = encode
        self.run_id = run_id
        self.source = "AGENT"

    def encode(self, pump: _Pump, chunks: list[Any]) -> bytes:
        if not self.run_id:
            first = chunks[0]
            self.run_id = str(getattr(first, "run_id", "") or "")
            self.source = str(getattr(first, "from_", "AGENT"))
        try:
            return self._encode(chunks)
        except Exception:
            good: list[bytes] = []
            for chunk in chunks:
                try:
                    good.append(self._encode([chunk]))
                except Exception as err:  # a chunk that cannot be encoded ends the stream
                    _log.warning("cannot encode a %s chunk: %s", getattr(chunk, "type", "?"), err)
                    pump.error = err
                    pump.done = True
                    break
            return b"".join(good)


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _is_gone(request: web.BaseRequest) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def stream_observable(
    request: web.Request,
    source: Observable[Any],
    framing: Framing,
    settings: StreamSettings,
    *,
    run_id: str = "",
    on_abandon: Callable[[], None] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Start the response, subscribe to ``source`` and write its chunks until it ends.

    Returns when the source ended (the framing's tail written) or the client left (the
    subscription disposed, so the run is cancelled). Never raises except on cancellation.

    Args:
        request: The request being answered.
        source: The chunks (for a shared stream's ``observable``, pass ``on_abandon``).
        framing: How chunks become bytes.
        settings: Pings and disconnect checks.
        run_id: The run's id, for an in-band error before the first chunk.
        on_abandon: Called when the response ends before the source did (the client left,
            or the server is shutting down): cancels a run that disposal alone does not stop.
        headers: Headers of this response (besides the framing's and the settings').
    """
    response = web.StreamResponse(
        status=200, headers={**framing.headers, **settings.extra_headers, **(headers or {})}
    )
    pump = _Pump()
    encoder = _Encoder(framing.encode, run_id)
    subscription: abc.DisposableBase | None = None
    try:
        await response.prepare(request)
        try:
            subscription = source.subscribe(pump.on_next, pump.on_error, pump.on_completed)
        except Exception as err:
            _log.warning("a run failed to start: %s", err)
            pump.on_error(err)
        if await _write_until_done(request, response, pump, encoder, framing, settings):
            tail = framing.tail
            if pump.error is not None:
                tail = framing.error_tail(pump.error, encoder.run_id, encoder.source) + tail
            if tail:
                await response.write(tail)
            await response.write_eof()
        else:
            _log.info("client left %s; cancelling the run", request.path)
    except ConnectionError:
        _log.info("client left %s; cancelling the run", request.path)
    except Exception:
        # A bug while streaming: the status line is gone, so end the response as it is.
        _log.exception("streaming %s failed", request.path)
    finally:
        if subscription is not None:
            subscription.dispose()
        if on_abandon is not None and not pump.ended:
            on_abandon()
    return response


async def _write_until_done(
    request: web.Request,
    response: web.StreamResponse,
    pump: _Pump,
    encoder: _Encoder,
    framing: Framing,
    settings: StreamSettings,
) -> bool:
    """Write what the pump collects until it is done; ``False`` when the client left."""
    loop = asyncio.get_running_loop()
    ping = framing.ping
    interval = settings.ping_interval
    check = settings.disconnect_check
    last_write = loop.time()
    while True:
        chunks = pump.chunks
        if chunks:
            pump.chunks = []
            data = encoder.encode(pump, chunks)
            if data:
                await response.write(data)
                last_write = loop.time()
            continue
        if pump.done:
            return True
        if _is_gone(request):
            return False
        now = loop.time()
        delay = check
        if ping is not None:
            if now - last_write >= interval:
                await response.write(ping)
                last_write = now
                continue
            delay = min(delay, last_write + interval - now)
        waiter: asyncio.Future[None] = loop.create_future()
        pump.waiter = waiter
        handle = loop.call_later(delay, _release, waiter)
        try:
            await waiter
        finally:
            handle.cancel()
            pump.waiter = None


def sse_log_frames(ids: bool) -> Callable[[list[Any]], bytes]:
    """Encode ``(position, wire JSON)`` pairs as SSE, with ``id: <position>`` lines if asked."""
    if not ids:

        def plain(frames: list[Any]) -> bytes:
            return b"".join([b"data: " + data + b"\n\n" for _, data in frames])

        return plain

    def with_ids(frames: list[Any]) -> bytes:
        return b"".join([b"id: %d\ndata: %s\n\n" % (pos, data) for pos, data in frames])

    return with_ids


def record_log_frames(frames: list[Any]) -> bytes:
    r"""Encode ``(position, wire JSON)`` pairs as records (``JSON + \x1e``)."""
    return b"".join([data + b"\x1e" for _, data in frames])


async def stream_frames(
    request: web.Request,
    frames: AsyncIterator[list[tuple[int, bytes]]],
    framing: Framing,
    settings: StreamSettings,
    *,
    encode: Callable[[list[Any]], bytes],
    run_id: str,
    source: str,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Start the response and write ``(position, wire JSON)`` frames read from a run's log.

    A reader task pulls the frames, a batch at a time; the handler writes what it collected,
    once per wake (coalescing), pings silent SSE streams and watches the connection. A read
    error (a lost run) becomes the framing's in-band error, then its normal end.

    Returns when the log's end was written or the client left; never raises except on
    cancellation. ``headers`` are added to the response's.
    """
    response = web.StreamResponse(
        status=200, headers={**framing.headers, **settings.extra_headers, **(headers or {})}
    )
    pump = _Pump()
    encoder = _Encoder(encode, run_id)
    encoder.source = source

    async def pull() -> None:
        first = True
        try:
            async for batch in frames:
                if first:  # an in-band error names the run as its chunks do
                    first = False
                    with contextlib.suppress(ValueError):
                        encoder.run_id = str(
                            pydantic_core.from_json(batch[0][1]).get("runId", run_id)
                        )
                pump.on_batch(batch)
        except Exception as err:
            _log.warning("reading run %s failed: %s", run_id, err)
            pump.on_error(err)
        else:
            pump.on_completed()

    reader: asyncio.Task[None] | None = None
    try:
        await response.prepare(request)
        reader = asyncio.get_running_loop().create_task(pull())
        if await _write_until_done(request, response, pump, encoder, framing, settings):
            tail = framing.tail
            if pump.error is not None:
                tail = framing.error_tail(pump.error, encoder.run_id, encoder.source) + tail
            if tail:
                await response.write(tail)
            await response.write_eof()
        else:
            _log.info("client left %s", request.path)
    except ConnectionError:
        _log.info("client left %s", request.path)
    except Exception:
        _log.exception("streaming %s failed", request.path)
    finally:
        if reader is not None and not reader.done():
            # not awaited: the built-in logs' readers stop at once, but another EventLog's may
            # take a while to let go, and the response is over now (its run's grace starts)
            reader.cancel()
            _LEAVING.add(reader)
            reader.add_done_callback(_LEAVING.discard)
    return response


_LEAVING: set[asyncio.Task[None]] = set()
"""Cancelled log readers still winding down (kept referenced until they are done)."""
