"""The owner side of the Redis event log: a run's handle, and the writer that batches all runs.

``RedisRunLog.append`` puts the chunk in the run's pending list and marks the run dirty; the
first mark in an event-loop callback schedules the log's writer (``loop.call_soon``). The
writer sends the pending chunks of every dirty run in one pipeline (one ``EVALSHA`` of the
append script per run): one round trip per callback however many runs appended. While a round
trip is in flight, new chunks gather for the next one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal, final

from rxagents.errors import (
    FencedError,
    RunExistsError,
    RunLostError,
    RunStateError,
    RxAgentsError,
)
from rxagents.eventlog._protocol import LostCallback, RunKind, chunk_json
from rxagents.events import ChunkBase, CompactChunk

if TYPE_CHECKING:
    from rxagents.eventlog._redis import RedisEventLog

__all__ = ("RedisRunLog", "Writer", "call_safely")

_log = logging.getLogger("rxagents.eventlog._redis")

_State = Literal["open", "ending", "ended", "lost"]


@final
class RedisRunLog:
    """The owner's handle on one run in Redis (see :class:`~rxagents.eventlog.RunLog`).

    Keeps only the chunks not yet stored; :attr:`buffer` is ``None``. :meth:`append` also takes
    compact forms (``takes_compact``), stored as the wire JSON of the chunk they stand for.
    """

    takes_compact: Final = True

    __slots__ = (
        "_cancel_fired",
        "_created",
        "_dirty",
        "_error",
        "_in_flight",
        "_keys",
        "_log",
        "_on_cancel",
        "_on_lost",
        "_pending",
        "_sending_end",
        "_state",
        "_stored",
        "_token",
        "_waiters",
        "_writer",
        "kind",
        "run_id",
    )

    def __init__(
        self,
        log: RedisEventLog,
        writer: Writer,
        run_id: str,
        kind: RunKind,
        on_cancel: Callable[[], None] | None,
        on_lost: LostCallback | None,
    ) -> None:
        self.run_id = run_id
        self.kind: RunKind = kind
        self._log = log
        self._writer = writer
        self._keys = log._keys(run_id)
        self._token = uuid.uuid4().hex
        self._on_cancel = on_cancel
        self._on_lost = on_lost
        self._pending: list[ChunkBase | CompactChunk] = []
        self._in_flight = 0
        self._sending_end = False
        self._stored = 0
        self._created = False
        self._state: _State = "open"
        self._dirty = False
        self._error: RxAgentsError | None = None
        self._cancel_fired = False
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def length(self) -> int:
        """The number of chunks appended so far."""
        return self._stored + self._in_flight + len(self._pending)

    @property
    def buffer(self) -> None:
        """``None``: the chunks live in Redis."""
        return None

    @property
    def is_open(self) -> bool:
        """Whether the log still takes chunks."""
        return self._state == "open"

    def append(self, chunk: ChunkBase | CompactChunk) -> None:
        """Queue one chunk (or its compact form) for the next round trip; dropped once lost.

        Raises:
            RunStateError: The log was already ended.
        """
        if self._state == "open":
            self._pending.append(chunk)
            if not self._dirty:
                self._dirty = True
                self._writer.mark(self)
        elif self._state != "lost":
            raise RunStateError(f"the log of run {self.run_id!r} has ended; it takes no chunks")

    def end(self) -> None:
        """Mark the end after the last chunk (sent with the last batch)."""
        if self._state == "open":
            self._state = "ending"
            if not self._dirty:
                self._dirty = True
                self._writer.mark(self)

    async def flush(self) -> None:
        """Wait until everything appended (and the end, if marked) is in Redis.

        Raises:
            RunLostError: The run was lost (:class:`~rxagents.errors.FencedError` if fenced).
            RunExistsError: Another process created a run with this id first.
        """
        while self._is_busy():
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        if self._error is not None:
            raise self._error

    # --- writing (called by the writer) -----------------------------------------------------

    def _is_busy(self) -> bool:
        if self._state == "lost" or self._state == "ended":
            return False
        return self._in_flight > 0 or self._sending_end or self._has_unsent()

    def _has_unsent(self) -> bool:
        return bool(self._pending) or not self._created or self._state == "ending"

    def _take(self) -> list[Any] | None:
        """Return the append script's arguments for the pending batch, or ``None``."""
        self._dirty = False
        if self._state == "lost" or self._state == "ended" or not self._has_unsent():
            return None
        batch, self._pending = self._pending, []
        self._in_flight = len(batch)
        self._sending_end = self._state == "ending"
        log = self._log
        args: list[Any] = [
            self._token,
            log._lease_ms,
            log._keep_ms,
            log._retention_ms,
            self._stored,
            "0" if self._created else "1",
            "1" if self._sending_end else "0",
            self.kind,
            log.owner,
            len(batch),
            # one argument for the batch (redis-py encodes each argument in Python): compact
            # JSON holds no raw newline, so the script splits the chunks apart again
            b"\n".join([chunk_json(chunk) for chunk in batch]),
        ]
        return args

    def _settle(self, result: Any) -> None:
        """Take the append script's answer (or the error that replaced it)."""
        stored, self._in_flight = self._in_flight, 0
        ending, self._sending_end = self._sending_end, False
        if self._state == "lost":
            self._wake()
            return
        if isinstance(result, BaseException):
            error = result
            if not isinstance(error, RxAgentsError):  # an error reply: retrying will not help
                _log.error("event log: Redis refused the chunks of run %r", self.run_id)
                error = RunLostError(
                    f"run {self.run_id!r}: Redis refused its chunks: {result}", run_id=self.run_id
                )
            self._fail(error)
            return
        code, _, cancel = result
        if cancel == 1:
            self._cancel_seen()
        if code in (1, 2):
            self._stored += stored
            self._created = True
            if ending:
                self._state = "ended"
                self._log._discard(self)
            self._wake()
        elif code == -1:
            self._fail(RunExistsError(self.run_id))
        elif code == 0:
            self._fail(
                FencedError(
                    f"run {self.run_id!r}: this process lost its lease (paused or cut off for "
                    f"longer than {self._log._lease_ttl:g} s); its chunks are refused and the "
                    "run was ended as lost",
                    run_id=self.run_id,
                )
            )
        else:
            self._fail(
                RunLostError(
                    f"run {self.run_id!r}: the log in Redis does not continue at position "
                    f"{self._stored}; its data was lost",
                    run_id=self.run_id,
                )
            )

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- ownership --------------------------------------------------------------------------

    @property
    def _needs_renewal(self) -> bool:
        return self._created and (self._state == "open" or self._state == "ending")

    def _renewed(self, held: bool, cancel: bool) -> None:
        if cancel:
            self._cancel_seen()
        if not held and self._needs_renewal:
            self._fail(
                FencedError(
                    f"run {self.run_id!r}: this process lost its lease; the run was ended as lost",
                    run_id=self.run_id,
                )
            )

    def _cancel_seen(self) -> None:
        if not self._cancel_fired and self._state == "open":
            self._cancel_fired = True
            if self._on_cancel is not None:
                call_safely(self._on_cancel)

    def _fail(self, error: RxAgentsError) -> None:
        if self._state == "lost" or self._state == "ended":
            return
        self._state = "lost"
        self._error = error
        self._pending = []
        self._log._discard(self)
        if self._created and not isinstance(error, RunExistsError):
            # readers end now rather than at their next lease check
            self._log._spawn(self._log._end_lost(self.run_id, self.kind, ""))
        self._wake()
        if self._on_lost is not None:
            call_safely(self._on_lost, error)


@final
class Writer:
    """Stores the pending chunks of every dirty run of one log: one pipeline per round trip."""

    def __init__(self, log: RedisEventLog) -> None:
        self._log = log
        self._dirty: list[RedisRunLog] = []
        self._scheduled = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def mark(self, run: RedisRunLog) -> None:
        """Have ``run``'s pending chunks sent with the next round trip."""
        self._dirty.append(run)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._kick)

    def _kick(self) -> None:
        self._scheduled = False
        if self._task is None and self._dirty:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        log = self._log
        try:
            while self._dirty:
                runs, self._dirty = self._dirty, []
                calls: list[tuple[RedisRunLog, list[Any]]] = []
                for run in runs:
                    args = run._take()
                    if args is not None:
                        calls.append((run, args))
                if not calls:
                    continue
                results: list[Any]
                try:
                    results = await log._pipeline(
                        [(log._append, run._keys, args) for run, args in calls]
                    )
                except log._transient as error:  # Redis stayed unreachable
                    results = [
                        log._unreachable(run.run_id, "store chunks", error) for run, _ in calls
                    ]
                except Exception as error:  # an error reply for the whole pipeline
                    results = [error] * len(calls)
                for (run, _), result in zip(calls, results, strict=True):
                    run._settle(result)
        finally:
            self._task = None
            if self._dirty and not self._closed:
                self._kick()

    def cancel(self) -> None:
        """Stop sending (the log is closing)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()


def call_safely(callback: Callable[..., None], *args: object) -> None:
    """Call a user callback; log what it raises."""
    try:
        callback(*args)
    except Exception:
        _log.exception("event-log callback %r failed", callback)
