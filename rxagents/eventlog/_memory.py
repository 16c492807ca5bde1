"""The in-memory event log: one process, a list per run, no dependency."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from typing import Final, TypeVar, cast, final

from rxagents.errors import (
    ConfigurationError,
    InvalidInputError,
    RunExistsError,
    RunLostError,
    RunNotFoundError,
    RunStateError,
)
from rxagents.eventlog._protocol import (
    LostCallback,
    RunInfo,
    RunKind,
    RunStatus,
    chunk_json,
    lost_chunks,
    lost_message,
)
from rxagents.events import Chunk, ChunkBase, CompactChunk, expand_chunk

__all__ = ("InMemoryEventLog", "InMemoryRunLog")

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_BATCH = 1000
"""The most chunks one batch of a reader holds."""


@final
class InMemoryRunLog:
    """One run's log in memory: its chunk list is the replay buffer (see :class:`RunLog`).

    While no reader waits at the live edge, :meth:`append` is the list's own ``append`` (an
    instance attribute shadowing the method): the per-chunk cost is a bare list append. A
    waiting reader switches it to an append that wakes the readers, then it switches back.

    :meth:`append` also takes compact forms (``takes_compact``): they are stored as they are,
    rebuilt by ``read`` and encoded straight to wire JSON by ``read_json``.
    """

    takes_compact: Final = True

    def __init__(
        self,
        run_id: str,
        kind: RunKind,
        on_cancel: Callable[[], None] | None,
        on_lost: LostCallback | None,
    ) -> None:
        self.run_id = run_id
        self.kind: RunKind = kind
        self.chunks: list[ChunkBase | CompactChunk] = []
        self.status: RunStatus = "running"
        self.cancel_requested = False
        self._is_open = True
        self._on_cancel = on_cancel
        self._on_lost = on_lost
        self._waiters: list[asyncio.Future[None]] = []
        self._on_end: Callable[[], None] | None = None
        self._quiet_append()

    @property
    def length(self) -> int:
        """The number of chunks appended so far."""
        return len(self.chunks)

    @property
    def buffer(self) -> list[ChunkBase | CompactChunk]:
        """The run's chunk list itself (read-only for callers); may hold compact forms."""
        return self.chunks

    @property
    def is_open(self) -> bool:
        """Whether the log still takes chunks."""
        return self._is_open

    def append(self, chunk: ChunkBase | CompactChunk) -> None:
        """Append one chunk (or its compact form); dropped once the run was lost.

        Raises:
            RunStateError: The log was already ended.
        """
        if self._is_open:
            self.chunks.append(chunk)
            self._wake()
        elif self.status == "ended":
            raise RunStateError(f"the log of run {self.run_id!r} has ended; it takes no chunks")

    def _quiet_append(self) -> None:
        # no reader waits: appending is the list's own append
        self.append = self.chunks.append  # type: ignore[method-assign,assignment]  # shadows on purpose

    def _add_waiter(self, waiter: asyncio.Future[None]) -> None:
        self._waiters.append(waiter)
        if "append" in self.__dict__:
            del self.append  # the class's append: it wakes the readers

    def end(self) -> None:
        """Mark the end after the last chunk."""
        if self._is_open:
            self._finish("ended")

    async def flush(self) -> None:
        """Return at once (chunks are stored on append); raise if the run was lost."""
        if self.status == "lost":
            raise RunLostError(lost_message(self.run_id), run_id=self.run_id)

    def _finish(self, status: RunStatus) -> None:
        self._is_open = False
        if "append" in self.__dict__:
            del self.append
        self.status = status
        self._wake()
        if self._on_end is not None:
            self._on_end()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        if self._is_open:
            self._quiet_append()

    def _lose(self) -> None:
        self.chunks.extend(lost_chunks(self.run_id, self.kind))
        self._finish("lost")
        if self._on_lost is not None:
            _call(self._on_lost, RunLostError(lost_message(self.run_id), run_id=self.run_id))

    def _cancel(self) -> None:
        self.cancel_requested = True
        if self._on_cancel is not None:
            _call(self._on_cancel)


@final
class InMemoryEventLog:
    """Event logs in this process's memory: the default; nothing is shared with other processes.

    Each run's chunks live in one list, which the run stream can use as its replay buffer
    (:attr:`InMemoryRunLog.buffer`); readers are woken when chunks arrive. An ended run is kept
    for ``retention`` seconds, then forgotten. Runs are never lost while the process lives;
    :meth:`aclose` ends those still open as lost.

    Args:
        retention: Seconds a run's log is kept after its end.
    """

    def __init__(self, *, retention: float = 3600.0) -> None:
        if retention < 0:
            raise ConfigurationError(f"retention must be >= 0 seconds, got {retention}")
        self._retention = retention
        self._runs: dict[str, InMemoryRunLog] = {}
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._readers: dict[str, dict[str, float]] = {}
        self._closed = False

    def open(
        self,
        run_id: str,
        *,
        kind: RunKind,
        on_cancel: Callable[[], None] | None = None,
        on_lost: LostCallback | None = None,
    ) -> InMemoryRunLog:
        """Start the log of a new run (see :meth:`EventLog.open`).

        Raises:
            RunExistsError: A run with this id is in the log.
        """
        if self._closed:
            raise ConfigurationError("this event log is closed; create a new one")
        if run_id in self._runs:
            raise RunExistsError(run_id)
        loop = asyncio.get_running_loop()
        run = InMemoryRunLog(run_id, kind, on_cancel, on_lost)
        self._runs[run_id] = run

        def expire_later() -> None:
            loop.call_later(self._retention, self._expire, run)

        run._on_end = expire_later
        return run

    async def create(
        self,
        run_id: str,
        *,
        kind: RunKind,
        on_cancel: Callable[[], None] | None = None,
        on_lost: LostCallback | None = None,
    ) -> InMemoryRunLog:
        """Start the log of a new run (see :meth:`EventLog.create`)."""
        return self.open(run_id, kind=kind, on_cancel=on_cancel, on_lost=on_lost)

    async def read(self, run_id: str, offset: int = 0) -> AsyncIterator[tuple[int, Chunk]]:
        """Yield ``(position, chunk)`` from ``offset``, then live (see :meth:`EventLog.read`)."""
        async for batch in self._follow(run_id, offset, _as_chunk):
            for item in batch:
                yield item

    async def read_json(self, run_id: str, offset: int = 0) -> AsyncIterator[tuple[int, bytes]]:
        """Yield ``(position, wire JSON)`` from ``offset``, then live."""
        async for batch in self._follow(run_id, offset, chunk_json):
            for item in batch:
                yield item

    async def read_json_batches(
        self, run_id: str, offset: int = 0
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        """Yield lists of ``(position, wire JSON)``: the chunks appended since the last wake-up.

        A batch holds at most 1,000 chunks (a long replay comes in several).
        """
        async for batch in self._follow(run_id, offset, chunk_json):
            yield batch

    async def info(self, run_id: str) -> RunInfo:
        """Describe a run (see :meth:`EventLog.info`)."""
        run = self._get(run_id)
        return RunInfo(
            run_id=run_id,
            kind=run.kind,
            status=run.status,
            length=len(run.chunks),
            owner=self._owner if run.status == "running" else None,
            cancel_requested=run.cancel_requested,
        )

    async def request_cancel(self, run_id: str) -> bool:
        """Call the run's ``on_cancel`` now, once; ``False`` if it already ended."""
        run = self._get(run_id)
        if not run.is_open:
            return False
        if not run.cancel_requested:
            run._cancel()
        return True

    async def mark_reader(self, run_id: str, reader: str, ttl: float) -> None:
        """Note that ``reader`` reads the run for ``ttl`` seconds (see :meth:`count_readers`)."""
        deadline = asyncio.get_running_loop().time() + ttl
        self._readers.setdefault(run_id, {})[reader] = deadline

    async def unmark_reader(self, run_id: str, reader: str) -> None:
        """Remove ``reader``'s mark."""
        readers = self._readers.get(run_id)
        if readers is not None:
            readers.pop(reader, None)
            if not readers:
                del self._readers[run_id]

    async def count_readers(self, run_id: str) -> int:
        """How many readers hold an unexpired mark on the run."""
        now = asyncio.get_running_loop().time()
        readers = self._readers.get(run_id, {})
        for reader in [r for r, deadline in readers.items() if deadline <= now]:
            del readers[reader]
        return len(readers)

    async def aclose(self) -> None:
        """End the runs still open as lost; opening runs afterwards is an error."""
        self._closed = True
        for run in list(self._runs.values()):
            if run.is_open:
                run._lose()

    def _get(self, run_id: str) -> InMemoryRunLog:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotFoundError(run_id)
        return run

    def _expire(self, run: InMemoryRunLog) -> None:
        if self._runs.get(run.run_id) is run:
            del self._runs[run.run_id]

    async def _follow(
        self, run_id: str, offset: int, encode: Callable[[ChunkBase | CompactChunk], _T]
    ) -> AsyncIterator[list[tuple[int, _T]]]:
        if offset < 0:
            raise InvalidInputError(f"offset must be >= 0, got {offset}")
        run = self._get(run_id)
        chunks = run.chunks
        position = offset
        loop = asyncio.get_running_loop()
        while True:
            while position < len(chunks):
                end = min(len(chunks), position + _BATCH)
                batch: list[tuple[int, _T]] = []
                failure: Exception | None = None
                try:
                    for at in range(position, end):
                        batch.append((at, encode(chunks[at])))
                except Exception as err:  # not a chunk: the ones before it go out first
                    failure = err
                position += len(batch)
                if batch:
                    yield batch
                if failure is not None:
                    raise failure
            if not run.is_open:
                return
            waiter: asyncio.Future[None] = loop.create_future()
            run._add_waiter(waiter)
            await waiter


def _as_chunk(chunk: ChunkBase | CompactChunk) -> Chunk:
    return cast(Chunk, expand_chunk(chunk) if type(chunk) is tuple else chunk)


def _call(callback: Callable[..., None], *args: object) -> None:
    try:
        callback(*args)
    except Exception:
        _log.exception("event-log callback %r failed", callback)
