"""Served runs: every run the server starts goes through the runtime's event log.

The server owns the run (it holds the run's stream object) and copies its chunks, in order,
into the log; every HTTP reader — the request that started the run, and any re-attach through
an observe route, on this process or another sharing the log — reads the log from a position.

A run may have several stream segments, each a log of its own: the first stream under the run
id, then one per continuation (a resumed workflow, an approved tool call) under
``<runId>~1``, ``<runId>~2``… (:func:`segment_id`). Positions run on across segments: the
first chunk of a segment follows the last of the one before, so one offset names one chunk of
the whole run.

Readers are counted per run (every segment), not per segment. A reader leaving does not cancel
at once: when the last reader of a run owned here leaves, the run is cancelled after the
orphan grace unless a reader came back (``orphan_grace=0`` cancels at once, as a plain
streaming server does); a run that no reader joins at all is cancelled after the grace too. A
reader on another process keeps the run alive as well: it marks itself in the log
(``mark_reader``, renewed while it reads), and the owner, when the grace ends, looks at the
marks (``count_readers``) and waits one more grace if someone reads. An explicit cancel
(:meth:`ServedRuns.cancel`) reaches the owner wherever it is, through the log's cancel signal.

Finished runs are not kept here: the owner drops a run when its log ended; re-attaching is then
served by the log alone, for its retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from reactivex import abc

from rxagents.errors import RunExistsError, RunNotFoundError, RxAgentsError
from rxagents.eventlog import EventLog, RunKind, RunLog, RunSource, copy_into, create_owned

__all__ = ("ServedRuns", "SharedRun", "segment_id")

_log = logging.getLogger("rxagents.adapters.server")

_MAX_SEGMENTS = 1000


SharedRun = RunSource
"""A started run's stream object: a replaying Observable and a cancel."""


def segment_id(run_id: str, segment: int) -> str:
    """Return the log key of one stream segment of a run (a resumed workflow adds segments)."""
    return run_id if segment == 0 else f"{run_id}~{segment}"


def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@dataclass
class _Owned:
    """A stream segment this process runs: its stream and its log."""

    key: str
    run_id: str
    kind: RunKind
    stream: SharedRun
    run_log: RunLog | None = None
    subscription: abc.DisposableBase | None = None
    orphaned: asyncio.TimerHandle | None = None
    ended: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ServedRuns:
    """The runs this server process owns, and their readers (see the module docstring).

    Args:
        log: The runtime's event log.
        orphan_grace: Seconds a run with no reader keeps running; ``0`` cancels at once.
    """

    def __init__(self, log: EventLog, *, orphan_grace: float) -> None:
        self.log = log
        self.orphan_grace = orphan_grace
        self._owned: dict[str, _Owned] = {}
        self._live: dict[str, _Owned] = {}  # by run id: the segment running here
        self._readers: dict[str, int] = {}  # by run id: readers in this process
        self._checks: set[asyncio.Task[None]] = set()

    @property
    def owned(self) -> int:
        """How many runs this process runs now (finished runs are not kept)."""
        return len(self._owned)

    async def start(self, key: str, run_id: str, kind: RunKind, stream: SharedRun) -> None:
        """Own a started run: copy its chunks into a new log under ``key``.

        ``key`` is ``run_id`` for a run's first stream, or a later segment's key. When no
        reader of the run joins within the orphan grace, the run is cancelled.

        Raises:
            RunExistsError: The log already holds ``key`` (the run is cancelled).
            RunLostError: The log's store cannot be reached (the run is cancelled).
        """
        owned = _Owned(key=key, run_id=run_id, kind=kind, stream=stream)
        run_log = await create_owned(self.log, key, kind, stream)
        owned.run_log = run_log
        self._owned[key] = owned
        self._live[run_id] = owned
        if self.orphan_grace > 0 and not self._readers.get(run_id):
            owned.orphaned = asyncio.get_running_loop().call_later(
                self.orphan_grace, self._orphan, owned
            )
        owned.subscription = copy_into(
            run_log, stream, run_id=run_id, kind=kind, on_end=lambda: self._release(owned)
        )

    def _release(self, owned: _Owned) -> None:
        if self._owned.get(owned.key) is owned:
            del self._owned[owned.key]
        if self._live.get(owned.run_id) is owned:
            del self._live[owned.run_id]
        if owned.orphaned is not None:
            owned.orphaned.cancel()
            owned.orphaned = None
        owned.subscription = None
        if not owned.ended.done():
            owned.ended.set_result(None)

    def reader_joined(self, run_id: str) -> None:
        """Count a reader of a run (it stops a pending orphan cancel of a run owned here)."""
        self._readers[run_id] = self._readers.get(run_id, 0) + 1
        owned = self._live.get(run_id)
        if owned is not None and owned.orphaned is not None:
            owned.orphaned.cancel()
            owned.orphaned = None

    def reader_left(self, run_id: str) -> None:
        """Uncount a reader; the last one leaving a run owned here starts the orphan grace."""
        readers = self._readers.get(run_id, 0) - 1
        if readers > 0:
            self._readers[run_id] = readers
            return
        self._readers.pop(run_id, None)
        owned = self._live.get(run_id)
        if owned is None or owned.ended.done():
            return
        if self.orphan_grace <= 0:
            _log.info("the last reader of run %s left; cancelling it", owned.key)
            owned.stream.cancel()
            return
        if owned.orphaned is not None:
            owned.orphaned.cancel()
        loop = asyncio.get_running_loop()
        owned.orphaned = loop.call_later(self.orphan_grace, self._orphan, owned)

    def _orphan(self, owned: _Owned) -> None:
        owned.orphaned = None
        if not self._readers.get(owned.run_id) and not owned.ended.done():
            task = asyncio.get_running_loop().create_task(self._orphan_check(owned))
            self._checks.add(task)
            task.add_done_callback(self._checks.discard)

    async def _orphan_check(self, owned: _Owned) -> None:
        count = getattr(self.log, "count_readers", None)
        if count is not None:
            try:
                remote = int(await count(owned.run_id))
            except RxAgentsError as err:
                _log.warning("cannot count the readers of run %s: %s", owned.key, err)
                remote = 0
            if remote > 0 and not self._readers.get(owned.run_id) and not owned.ended.done():
                loop = asyncio.get_running_loop()
                owned.orphaned = loop.call_later(self.orphan_grace, self._orphan, owned)
                return
        if not self._readers.get(owned.run_id) and not owned.ended.done():
            grace = self.orphan_grace
            _log.info("run %s had no reader for %.1f s; cancelling it", owned.key, grace)
            owned.stream.cancel()

    async def cancel(self, run_id: str) -> bool:
        """Ask the owner (any process) to cancel the run's latest segment.

        Raises:
            RunNotFoundError: The log holds no such run.
        """
        key = await self.latest_segment(run_id)
        return await self.log.request_cancel(key)

    async def latest_segment(self, run_id: str) -> str:
        """Return the key of the run's last stream segment.

        Raises:
            RunNotFoundError: The log holds no such run.
        """
        await self.log.info(run_id)
        key = run_id
        for segment in range(1, _MAX_SEGMENTS):
            candidate = segment_id(run_id, segment)
            try:
                await self.log.info(candidate)
            except RunNotFoundError:
                return key
            key = candidate
        return key

    async def new_segment(self, run_id: str) -> tuple[str, int]:
        """Return the first free segment key of ``run_id`` and the run's position there.

        The key is ``run_id`` itself when unused; the position (where the new segment's first
        chunk goes in the run) is the number of chunks of the segments before it.
        """
        base = 0
        for segment in range(_MAX_SEGMENTS):
            candidate = segment_id(run_id, segment)
            try:
                info = await self.log.info(candidate)
            except RunNotFoundError:
                return candidate, base
            base += info.length
        raise RunExistsError(run_id)

    async def read_json(
        self, run_id: str, offset: int, *, segments: bool = False
    ) -> AsyncIterator[tuple[int, bytes]]:
        """Yield ``(position, wire JSON)`` from ``offset``; with ``segments``, across segments.

        Positions run on across a run's segments (the first chunk of a later segment follows
        the last of the one before).
        """
        async for batch in self.read_json_batches(run_id, offset, segments=segments):
            for item in batch:
                yield item

    def read_json_batches(
        self, run_id: str, offset: int, *, segments: bool = False
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        """Like :meth:`read_json`, a batch at a time (see :meth:`EventLog.read_json_batches`)."""
        if not segments:
            return self.log.read_json_batches(run_id, offset)
        return self._read_segments(run_id, offset)

    async def read_segment_batches(
        self, key: str, base: int
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        """Yield one segment's batches from its start, positions counted from ``base``."""
        async for batch in self.log.read_json_batches(key, 0):
            yield [(base + position, data) for position, data in batch] if base else batch

    async def _read_segments(
        self, run_id: str, offset: int
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        base = 0
        segment = 0
        key = run_id
        while True:
            info = await self.log.info(key)
            if offset < base + info.length or info.status == "running":
                start = max(offset - base, 0)
                async for batch in self.log.read_json_batches(key, start):
                    yield [(base + position, data) for position, data in batch] if base else batch
                info = await self.log.info(key)
            base += info.length
            segment += 1
            key = segment_id(run_id, segment)
            try:
                await self.log.info(key)
            except RunNotFoundError:
                return

    @contextlib.asynccontextmanager
    async def reading(self, run_id: str) -> AsyncIterator[None]:
        """Count a reader of run ``run_id`` (any of its segments) while inside the block.

        For a run not running here, the reader also marks itself in the log (renewed while it
        reads) so that its owner, on any process, does not cancel it as orphaned.
        """
        mark = getattr(self.log, "mark_reader", None)
        presence: asyncio.Task[None] | None = None
        reader = uuid.uuid4().hex
        if run_id not in self._live and mark is not None and self.orphan_grace > 0:
            presence = asyncio.get_running_loop().create_task(self._present(mark, run_id, reader))
        self.reader_joined(run_id)
        try:
            yield
        finally:
            self.reader_left(run_id)
            if presence is not None:
                presence.cancel()
                with contextlib.suppress(asyncio.CancelledError, RxAgentsError):
                    await presence
                unmark = getattr(self.log, "unmark_reader", None)
                if unmark is not None:
                    with contextlib.suppress(RxAgentsError):
                        await unmark(run_id, reader)

    async def _present(self, mark: Any, key: str, reader: str) -> None:
        every = min(max(self.orphan_grace / 3, 0.05), 5.0)
        while True:
            try:
                await mark(key, reader, every * 3)
            except RxAgentsError as err:
                _log.warning("cannot mark a reader of run %s: %s", key, err)
            await asyncio.sleep(every)
