"""Runs served from the event log: own a started run, then answer with what its log holds.

Every streaming route that starts a run (``/stream``, ``/network``, ``/chat``, the approval
routes, the workflow routes) hands the run to :class:`~._runs.ServedRuns` and answers by
reading the run's log: a client that leaves is one reader less, not a cancel (the orphan grace
decides), and any process sharing the log serves a re-attach.

Responses name what they hold: ``X-Run-Id`` (the run, which a ``/chat`` client has no other
way to learn) and, on chunk streams, ``X-Run-Offset`` (the run position of the response's
first chunk: ``0`` for a new run, the offset asked for by an observe, the number of the run's
earlier chunks for a continuation), so a client whose connection broke re-attaches from the
right position.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from aiohttp import web
from reactivex import Observable, abc

from rxagents._core.http import TaskState, task_observable
from rxagents.adapters.ai_sdk import to_ai_sdk_v5_stream
from rxagents.adapters.server._config import CONFIG
from rxagents.adapters.server._http import ApiError
from rxagents.adapters.server._runs import ServedRuns, SharedRun
from rxagents.adapters.server._stream import (
    SSE_CHUNKS,
    SSE_UI,
    Framing,
    sse_log_frames,
    stream_frames,
    stream_observable,
)
from rxagents.errors import RunExistsError, RunLostError, RunNotFoundError
from rxagents.eventlog import EventLog, RunKind
from rxagents.events import Chunk

__all__ = (
    "RUN_ID_HEADER",
    "RUN_OFFSET_HEADER",
    "check_run",
    "log_chunks",
    "observe_offset",
    "own",
    "own_continuation",
    "serve_continuation",
    "serve_frames",
    "serve_ui",
    "wants_ids",
)

RUN_ID_HEADER: Final = "X-Run-Id"
"""The response header naming the run a stream belongs to."""
RUN_OFFSET_HEADER: Final = "X-Run-Offset"
"""The response header giving the run position of a chunk stream's first chunk."""


def wants_ids(request: web.Request) -> bool:
    """Whether the client asked for ``id:`` lines.

    It did with a ``Last-Event-ID`` header, ``X-Event-Ids: 1`` or ``?eventIds=1``.
    """
    return (
        "Last-Event-ID" in request.headers
        or request.headers.get("X-Event-Ids", "") in ("1", "true")
        or request.query.get("eventIds", "") in ("1", "true")
    )


def observe_offset(request: web.Request, offset: object) -> int:
    """Return the first position wanted: ``offset``, else ``Last-Event-ID + 1``, else 0."""
    if offset is None:
        last = request.headers.get("Last-Event-ID")
        if last is None or not last.strip():
            return 0
        try:
            return int(last) + 1
        except ValueError:
            raise ApiError(400, f"Last-Event-ID must be a position, got {last!r}") from None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ApiError(400, f"offset must be a non-negative integer, got {offset!r}")
    return offset


async def own(runs: ServedRuns, run_id: str, kind: RunKind, stream: SharedRun) -> None:
    """Own a new run under its own id (its first segment).

    Raises:
        ApiError: 409 when the log already holds the run id, 503 when the log is unreachable
            (the run is cancelled either way).
    """
    try:
        await runs.start(run_id, run_id, kind, stream)
    except RunExistsError:
        raise ApiError(409, f"run {run_id!r} exists; use a new runId, or observe it") from None
    except RunLostError as err:
        raise ApiError(503, str(err)) from None


async def own_continuation(
    runs: ServedRuns, run_id: str, kind: RunKind, stream: SharedRun
) -> tuple[str, int]:
    """Own a continuation of ``run_id`` (a resumption) as the run's next segment.

    Returns the segment's key and the run position of its first chunk.

    Raises:
        ApiError: 409 when another process took the segment, 503 when the log is unreachable
            (the continuation is cancelled either way).
    """
    try:
        try:
            key, base = await runs.new_segment(run_id)
        except BaseException:
            stream.cancel()
            raise
        await runs.start(key, run_id, kind, stream)
    except RunExistsError:
        raise ApiError(409, f"run {run_id!r} is streaming elsewhere; observe it") from None
    except RunLostError as err:
        raise ApiError(503, str(err)) from None
    return key, base


async def check_run(runs: ServedRuns, key: str, missing: str) -> RunKind:
    """Return the kind of the run logged under ``key``.

    Raises:
        ApiError: 404 with ``missing`` when the log does not hold it (unknown or expired), 503
            when the log is unreachable.
    """
    try:
        info = await runs.log.info(key)
    except RunNotFoundError:
        raise ApiError(404, missing) from None
    except RunLostError as err:
        raise ApiError(503, str(err)) from None
    return info.kind


async def serve_frames(
    request: web.Request,
    runs: ServedRuns,
    run_id: str,
    frames: AsyncIterator[list[tuple[int, bytes]]],
    *,
    framing: Framing,
    encode: Callable[[list[Any]], bytes],
    source: str,
    offset: int,
) -> web.StreamResponse:
    """Answer with a run's batches of ``(position, wire JSON)``, counted as one of its readers.

    ``offset`` is the position of the first frame (sent as ``X-Run-Offset``).
    """
    async with runs.reading(run_id):
        return await stream_frames(
            request,
            frames,
            framing,
            request.app[CONFIG].stream,
            encode=encode,
            run_id=run_id,
            source=source,
            headers={RUN_ID_HEADER: run_id, RUN_OFFSET_HEADER: str(offset)},
        )


async def serve_continuation(
    request: web.Request, run_id: str, stream: SharedRun
) -> web.StreamResponse:
    """Own a resumed agent run as the run's next segment and stream that segment as SSE.

    Positions (``id:`` lines when asked, ``X-Run-Offset``) are the run's: the continuation's
    first chunk follows the last chunk of the run's earlier segments.
    """
    runs: ServedRuns = request.app[CONFIG].runs
    key, base = await own_continuation(runs, run_id, "agent", stream)
    return await serve_frames(
        request,
        runs,
        run_id,
        runs.read_segment_batches(key, base),
        framing=SSE_CHUNKS,
        encode=sse_log_frames(wants_ids(request)),
        source="AGENT",
        offset=base,
    )


def log_chunks(log: EventLog, key: str) -> Observable[Chunk]:
    """Return one log's chunks, from its start and then live, as a cold Observable.

    Each subscription reads the log in a task of its own; disposing cancels it. A read that
    fails (a lost run) is the Observable's error.
    """

    async def read(observer: abc.ObserverBase[Chunk], state: TaskState) -> None:
        try:
            async for _, chunk in log.read(key, 0):
                observer.on_next(chunk)
                if state.disposed:
                    return
        except Exception as err:
            if not state.disposed:
                observer.on_error(err)
            return
        if not state.disposed:
            observer.on_completed()

    return task_observable(read)


async def serve_ui(
    request: web.Request, runs: ServedRuns, run_id: str, key: str, kind: RunKind
) -> web.StreamResponse:
    """Answer with one segment of a run, from its start, as an AI SDK v5 UI message stream.

    The segment is read from the log (so the response is one reader of the run, not its
    owner) and mapped as the run's own ``/chat`` response maps it.
    """
    sub_agents = request.app[CONFIG].chat_sub_agents
    ui = to_ai_sdk_v5_stream(log_chunks(runs.log, key), kind, sub_agents=sub_agents)
    async with runs.reading(run_id):
        return await stream_observable(
            request,
            ui,
            SSE_UI,
            request.app[CONFIG].stream,
            run_id=run_id,
            headers={RUN_ID_HEADER: run_id},
        )
