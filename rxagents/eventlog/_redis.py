"""The Redis event log: one Redis Stream per run, shared by every process that uses the server.

Writing (the owner). ``append`` only puts the chunk in the run's pending list; once per
event-loop callback the log's writer is scheduled (``loop.call_soon``) and sends the pending
chunks of every run of this log in one pipeline, one Lua call per run, which checks the owner's
fencing token and ``XADD``s the chunks at ids ``0-(position+1)``: positions are assigned by
Redis, dense, and compared as numbers. While a round trip is in flight new chunks gather for the
next one, so busy runs send large batches. Each call names the position it starts at, so a call
retried after a lost reply is recognised and not stored twice. Transient Redis errors are
retried with backoff for ``retry_timeout``; past it the run is lost (``on_lost``).

Ownership. The owner's token sits in a lease key that expires after ``lease_ttl``; a background
task renews the leases of all runs of this log every ``lease_ttl / 3`` (and every append
renews its run's). An expired lease is never taken back: its owner is fenced (its next call
stores nothing, ``on_lost`` gets :class:`~rxagents.errors.FencedError`). A reader that waits
``min(1 s, lease_ttl / 4)`` without news checks the lease; if it is gone while the run has not
ended, it ends the run (atomically, in Lua: only if still running without a lease) with the
run's terminal error chunks (:func:`~rxagents.eventlog.lost_chunks`) and a ``lost`` end entry, so
every reader sees the same ending within ``lease_ttl`` plus about a second.

Reading. Non-blocking ``XREAD``s replay from the offset; at the live edge the reader joins the
log's hub, one ``XREAD BLOCK`` over every followed stream on a connection of its own (see
``_redis_read``). Every entry's id must be the next position: a missing chunk raises
:class:`~rxagents.errors.RunLostError`, and so does a run whose keys vanished mid-read (Redis
restarted without persistence) — never a silent gap, never a hang.

Cancel. ``request_cancel`` sets the run's ``cancel`` flag and publishes its id on
``<prefix>:cancel``; the owner's log listens there and also reads the flag on every renewal and
append, so a cancel is not lost when a message is.

Retention. While running, the run's keys expire ``lease_ttl + retention`` after the last
renewal (a run whose process died unseen is forgotten); at its end they expire after
``retention``.

The ``redis`` package (``pip install 'rxagents[redis]'``) is imported when a
:class:`RedisEventLog` is created, not when this module is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, Literal, TypeVar, cast, final

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from rxagents.errors import (
    ConfigurationError,
    InvalidInputError,
    RunExistsError,
    RunLostError,
    RunNotFoundError,
    RxAgentsError,
)
from rxagents.eventlog import _redis_scripts as scripts
from rxagents.eventlog._protocol import (
    LostCallback,
    RunInfo,
    RunKind,
    RunStatus,
    chunk_json,
    lost_chunks,
    lost_message,
    named_data_chunk,
)
from rxagents.eventlog._redis_read import (
    Entry,
    Hub,
    Subscription,
    detached,
    parse_entries,
    raw_reply,
    stream_replies,
)
from rxagents.eventlog._redis_run import RedisRunLog, Writer, call_safely
from rxagents.events import Chunk, parse_chunk

__all__ = ("RedisEventLog",)

_log = logging.getLogger(__name__)

_T = TypeVar("_T")
_State = Literal["open", "ending", "ended", "lost"]
_READ_COUNT: Final = 1000
"""Entries fetched per ``XREAD``."""


def _import_redis() -> Any:
    try:
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
        import redis.exceptions
    except ImportError as err:  # pragma: no cover - exercised where redis is absent
        raise ImportError(
            "RedisEventLog needs the redis package; install it with: pip install 'rxagents[redis]'"
        ) from err
    return redis


@final
class RedisEventLog:
    """Event logs in Redis Streams, shared by every process that uses the same Redis.

    Any process can read a run, follow it live, ask about it or cancel it; the process that
    runs it holds a lease, and readers end a run whose owner died with its terminal error. See
    the module documentation for the exact rules.

    Args:
        url: A Redis URL, e.g. ``redis://127.0.0.1:6379/0``.
        prefix: The prefix of every key and channel.
        lease_ttl: Seconds an owner's lease lasts without renewal: how long readers may wait
            before a dead owner's run ends with its terminal error.
        retention: Seconds a run's log is kept after its end.
        retry_timeout: Seconds transient Redis errors are retried before the operation fails
            (a run is lost, a read raises); defaults to ``lease_ttl``.
        owner: This process's id in :class:`~rxagents.eventlog.RunInfo`; defaults to
            ``host:pid``.

    Raises:
        ImportError: The ``redis`` package is not installed.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "rxagents",
        lease_ttl: float = 10.0,
        retention: float = 3600.0,
        retry_timeout: float | None = None,
        owner: str | None = None,
    ) -> None:
        if lease_ttl <= 0 or retention <= 0:
            raise ConfigurationError(
                f"lease_ttl and retention must be > 0 seconds, got {lease_ttl} and {retention}"
            )
        redis = _import_redis()
        self._redis = redis
        # retries are ours (bounded, with backoff), not the client's
        no_retry = redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0)
        self._client: Any = redis.asyncio.Redis.from_url(url, retry=no_retry)
        self._client.set_response_callback("XREAD", raw_reply)
        # live readers share one blocking XREAD on a connection of its own
        hub_client = redis.asyncio.Redis.from_url(
            url, retry=no_retry, single_connection_client=True
        )
        hub_client.set_response_callback("XREAD", raw_reply)
        self._hub = Hub(self, hub_client)
        self._transient: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            OSError,
        )
        self._no_script = redis.exceptions.NoScriptError
        self._append = self._client.register_script(scripts.APPEND)
        self._renew = self._client.register_script(scripts.RENEW)
        self._check = self._client.register_script(scripts.CHECK)
        self._cancel = self._client.register_script(scripts.CANCEL)
        self._prefix = prefix
        self._channel = f"{prefix}:cancel"
        self._lease_ttl = lease_ttl
        self._lease_ms = max(1, round(lease_ttl * 1000))
        self._retention_ms = max(1, round(retention * 1000))
        self._keep_ms = self._lease_ms + self._retention_ms
        self._block_ms = max(10, round(min(1.0, lease_ttl / 4) * 1000))
        self._retry_timeout = lease_ttl if retry_timeout is None else retry_timeout
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        """This process's id as an owner."""
        self._runs: dict[str, RedisRunLog] = {}
        self._writer = Writer(self)
        self._background: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # --- owner side -------------------------------------------------------------------------

    def open(
        self,
        run_id: str,
        *,
        kind: RunKind,
        on_cancel: Callable[[], None] | None = None,
        on_lost: LostCallback | None = None,
    ) -> RedisRunLog:
        """Start the log of a new run; it is created in Redis with the first round trip.

        Raises:
            RunExistsError: This process already runs a run with this id (a clash with another
                process is reported through ``on_lost`` and :meth:`RedisRunLog.flush`).
        """
        if self._closed:
            raise ConfigurationError("this event log is closed; create a new one")
        if run_id in self._runs:
            raise RunExistsError(run_id)
        run = RedisRunLog(self, self._writer, run_id, kind, on_cancel, on_lost)
        self._runs[run_id] = run
        if not self._background:
            loop = asyncio.get_running_loop()
            self._background = [
                loop.create_task(self._renew_leases()),
                loop.create_task(self._listen_for_cancels()),
            ]
        run._dirty = True
        self._writer.mark(run)  # created in Redis with the next round trip
        return run

    async def create(
        self,
        run_id: str,
        *,
        kind: RunKind,
        on_cancel: Callable[[], None] | None = None,
        on_lost: LostCallback | None = None,
    ) -> RedisRunLog:
        """Start the log of a new run and wait until it exists in Redis.

        Raises:
            RunExistsError: The id is taken, by any process.
            RunLostError: Redis stayed unreachable.
        """
        run = self.open(run_id, kind=kind, on_cancel=on_cancel, on_lost=on_lost)
        await run.flush()
        return run

    # --- reader side ------------------------------------------------------------------------

    async def read(self, run_id: str, offset: int = 0) -> AsyncIterator[tuple[int, Chunk]]:
        """Yield ``(position, chunk)`` from ``offset``, then live (see :meth:`EventLog.read`)."""
        named = run_id
        async for batch in self._follow(run_id, offset):
            for position, data in batch:
                chunk = named_data_chunk(parse_chunk(data), named)
                named = (
                    chunk.run_id or named
                )  # a resumed segment's chunks name the run, not the key
                yield position, chunk

    async def read_json(self, run_id: str, offset: int = 0) -> AsyncIterator[tuple[int, bytes]]:
        """Yield ``(position, wire JSON)`` from ``offset``, then live, as stored in Redis."""
        async for batch in self._follow(run_id, offset):
            for item in batch:
                yield item

    async def read_json_batches(
        self, run_id: str, offset: int = 0
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        """Yield lists of ``(position, wire JSON)``: what each read from Redis returned."""
        async for batch in self._follow(run_id, offset):
            yield batch

    async def info(self, run_id: str) -> RunInfo:
        """Describe a run; a running run without a lease is ended as lost first."""
        meta = self._keys(run_id)[0]
        fields = ("status", "kind", "n", "owner", "cancel")
        values = await self._retrying(run_id, "read", lambda: self._client.hmget(meta, fields))
        if values[0] is None:
            raise RunNotFoundError(run_id)
        if values[0] == b"running":
            kind = cast(RunKind, values[1].decode())
            status, _ = await self._end_lost(run_id, kind, "")
            if status == "gone":
                raise RunNotFoundError(run_id)
            if status != "running":
                values = await self._retrying(
                    run_id, "read", lambda: self._client.hmget(meta, fields)
                )
        status = cast(RunStatus, values[0].decode())
        return RunInfo(
            run_id=run_id,
            kind=cast(RunKind, values[1].decode()),
            status=status,
            length=int(values[2]),
            owner=values[3].decode() if status == "running" and values[3] else None,
            cancel_requested=values[4] == b"1",
        )

    async def request_cancel(self, run_id: str) -> bool:
        """Ask the run's owner, wherever it is, to cancel it (see :meth:`EventLog.request_cancel`).

        Raises:
            RunNotFoundError: The run is unknown or expired.
        """
        keys = [self._keys(run_id)[0]]
        result = await self._retrying(
            run_id, "cancel", lambda: self._cancel(keys=keys, args=[self._channel, run_id])
        )
        if result == -1:
            raise RunNotFoundError(run_id)
        run = self._runs.get(run_id)
        if result == 1 and run is not None:
            run._cancel_seen()
        return bool(result == 1)

    async def mark_reader(self, run_id: str, reader: str, ttl: float) -> None:
        """Note that ``reader`` (any unique id) reads the run, for ``ttl`` seconds.

        Readers on any process mark themselves (and renew the mark) so that the owner can tell
        a run nobody reads (see :meth:`count_readers`).
        """
        key = f"{self._prefix}:{{{run_id}}}:readers"
        deadline = (time.time() + ttl) * 1000

        async def mark() -> None:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {reader: deadline})
                pipe.pexpire(key, max(1, round(ttl * 2000)))
                await pipe.execute()

        await self._retrying(run_id, "mark a reader", mark)

    async def unmark_reader(self, run_id: str, reader: str) -> None:
        """Remove ``reader``'s mark."""
        key = f"{self._prefix}:{{{run_id}}}:readers"
        await self._retrying(run_id, "unmark a reader", lambda: self._client.zrem(key, reader))

    async def count_readers(self, run_id: str) -> int:
        """How many readers, on any process, hold an unexpired mark on the run."""
        key = f"{self._prefix}:{{{run_id}}}:readers"
        now = time.time() * 1000

        async def count() -> int:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zcard(key)
                _, readers = await pipe.execute()
            return int(readers)

        return await self._retrying(run_id, "count readers", count)

    async def aclose(self) -> None:
        """Flush ended runs, end the runs still open as lost, stop, and close the connections."""
        self._closed = True
        for run in list(self._runs.values()):
            try:
                async with asyncio.timeout(self._retry_timeout):
                    await run.flush()
            except (RxAgentsError, TimeoutError):
                pass
            if run._state == "open":
                run._state = "lost"
                self._discard(run)
                try:
                    async with asyncio.timeout(self._retry_timeout):
                        await self._end_lost(run.run_id, run.kind, run._token)
                except (RxAgentsError, TimeoutError):
                    _log.warning("could not end run %r as lost while closing", run.run_id)
                if run._on_lost is not None:
                    error = RunLostError(lost_message(run.run_id), run_id=run.run_id)
                    call_safely(run._on_lost, error)
        self._writer.cancel()
        self._stop_background()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
        await self._hub.aclose()

    # --- internals --------------------------------------------------------------------------

    def _keys(self, run_id: str) -> list[str]:
        base = f"{self._prefix}:{{{run_id}}}"
        return [f"{base}:meta", f"{base}:stream", f"{base}:lease"]

    def _discard(self, run: RedisRunLog) -> None:
        if self._runs.get(run.run_id) is run:
            del self._runs[run.run_id]
        if not self._runs:
            self._stop_background()

    def _stop_background(self) -> None:
        tasks, self._background = self._background, []
        for task in tasks:
            task.cancel()
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception as error:  # best effort: the lease rules end the run anyway
                _log.warning("event log: %s", error)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retrying(self, run_id: str, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """Run one Redis call, retrying transient errors with backoff for ``retry_timeout``.

        Raises:
            RunLostError: Redis stayed unreachable.
        """
        try:
            return await self._retried(call)
        except self._transient as err:
            raise self._unreachable(run_id, what, err) from err

    async def _retried(self, call: Callable[[], Awaitable[_T]]) -> _T:
        try:
            return await detached(call())  # the common case, without the retry machinery
        except self._transient:
            pass
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(self._retry_timeout),
            wait=wait_exponential(multiplier=0.05, max=1.0) + wait_random(0, 0.05),
            retry=retry_if_exception_type(self._transient),
            reraise=True,
        ):
            with attempt:
                return await detached(call())
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    def _unreachable(self, run_id: str, what: str, err: BaseException) -> RunLostError:
        error = RunLostError(
            f"run {run_id!r}: could not {what}: Redis stayed unreachable for "
            f"{self._retry_timeout:g} s ({err})",
            run_id=run_id,
        )
        error.__cause__ = err
        return error

    async def _pipeline(self, calls: list[tuple[Any, list[str], list[Any]]]) -> list[Any]:
        """Run scripts in one round trip (retried as a whole: every script is idempotent).

        Returns each script's answer, or the error that replaced it.
        """

        async def send() -> list[Any]:
            async with self._client.pipeline(transaction=False) as pipe:
                for script, keys, args in calls:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                results: list[Any] = await pipe.execute(raise_on_error=False)
            if any(isinstance(result, self._no_script) for result in results):
                # Redis lost its script cache (a restart): load, then send everything again
                for script in {id(script): script for script, _, _ in calls}.values():
                    await self._client.script_load(script.script)
                return await send()
            return results

        return await self._retried(send)

    async def _end_lost(self, run_id: str, kind: RunKind, token: str) -> tuple[str, int]:
        """End a running run without a live lease (or with ``token``'s) as lost."""
        args: list[bytes | str | int] = [self._retention_ms, token]
        args.extend([chunk_json(chunk) for chunk in lost_chunks(run_id, kind)])
        keys = self._keys(run_id)
        status, length = await self._retrying(
            run_id, "check the run", lambda: self._check(keys=keys, args=args)
        )
        return status.decode(), int(length)

    async def _follow(self, run_id: str, offset: int) -> AsyncIterator[list[tuple[int, bytes]]]:
        if offset < 0:
            raise InvalidInputError(f"offset must be >= 0, got {offset}")
        meta, stream, _ = self._keys(run_id)
        values = await self._retrying(
            run_id, "read", lambda: self._client.hmget(meta, ("status", "kind"))
        )
        if values[0] is None:
            raise RunNotFoundError(run_id)
        kind = cast(RunKind, values[1].decode())
        position = offset
        finishing = False  # the run has ended: read what is left, without waiting
        length = 0
        subscription: Subscription | None = None
        try:
            while True:
                entries: list[Entry] | None
                if subscription is None:
                    read = functools.partial(
                        self._client.xread, {stream: f"0-{position}"}, count=_READ_COUNT
                    )
                    replies = stream_replies(await self._retrying(run_id, "read", read))
                    entries = parse_entries(replies[0][1]) if replies else []
                    if not entries:
                        if finishing:
                            if position < length:
                                raise self._gap(run_id, position, length)
                            return  # the offset was past the end
                        subscription = self._hub.subscribe(run_id, stream, position)
                        continue
                else:
                    entries = await subscription.next(self._block_ms / 1000)
                if entries is None:
                    # quiet for a while: is the owner still there?
                    status, length = await self._end_lost(run_id, kind, "")
                    if status == "gone":
                        raise RunLostError(
                            f"run {run_id!r}: its log vanished from Redis while being read "
                            "(expired, or Redis restarted without persistence); the rest cannot "
                            "be read",
                            run_id=run_id,
                        )
                    if status != "running" and subscription is not None:
                        finishing = True
                        self._hub.unsubscribe(subscription)
                        subscription = None
                    continue
                batch: list[tuple[int, bytes]] = []
                for seq, data in entries:
                    if seq != position + 1 or data is None:
                        break
                    batch.append((position, data))
                    position += 1
                if batch:
                    yield batch
                if len(batch) < len(entries):
                    seq, data = entries[len(batch)]
                    if seq != position + 1:
                        raise self._gap(run_id, position, seq - 1)
                    return  # the end mark
        finally:
            if subscription is not None:
                self._hub.unsubscribe(subscription)

    def _gap(self, run_id: str, position: int, end: int) -> RunLostError:
        return RunLostError(
            f"run {run_id!r}: chunks {position} to {end - 1} are missing from the log in Redis; "
            "its data was lost",
            run_id=run_id,
        )

    async def _renew_leases(self) -> None:
        interval = self._lease_ttl / 3
        while True:
            await asyncio.sleep(interval)
            runs = [run for run in self._runs.values() if run._needs_renewal]
            if not runs:
                continue
            calls = [
                (self._renew, run._keys, [run._token, self._lease_ms, self._keep_ms])
                for run in runs
            ]
            try:
                results = await self._pipeline(calls)
            except self._transient as err:
                _log.warning("event log: could not renew leases (will retry): %s", err)
                continue
            for run, result in zip(runs, results, strict=True):
                if isinstance(result, BaseException):
                    _log.warning("event log: could not renew run %r: %s", run.run_id, result)
                    continue
                held, cancel = result
                run._renewed(held == 1, cancel == 1)

    async def _listen_for_cancels(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        delay = 0.05
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                delay = 0.05
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if task.cancelling():  # redis-py's timeout may swallow a cancellation
                        raise asyncio.CancelledError
                    if message is None:
                        continue
                    run = self._runs.get(message["data"].decode())
                    if run is not None:
                        run._cancel_seen()
            except self._transient as err:
                _log.warning("event log: cancel channel interrupted (reconnecting): %s", err)
            finally:
                await pubsub.aclose()
            await asyncio.sleep(delay)  # backoff before reconnecting
            delay = min(delay * 2, 1.0)
