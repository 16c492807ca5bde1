"""The reader side of the Redis event log: one blocking ``XREAD`` for every live reader.

A reader first catches up with non-blocking ``XREAD``s; at the live edge it subscribes to the
log's hub, which keeps a single ``XREAD BLOCK`` on its own connection over the streams of all
subscribed readers and hands each reader the entries past its position. A new subscription
interrupts the blocked call (``CLIENT UNBLOCK``) so the next one includes its stream. However
many runs a process follows, it holds one blocked connection and makes one call per batch of
news, not one per chunk and reader.

Buffering: entries wait in the subscription until its reader takes them (unbounded, as the run
stream's own buffer); a reader that stops reading should leave its ``async for``.

Cancellation: redis-py's asyncio client may swallow a cancellation that arrives while it reads
a reply (the command then runs on, and so would the reader). Every Redis call of the log is
awaited through :func:`detached`: a cancelled caller stops at once, and the command finishes in
the background, its answer dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Final, TypeVar, final

from rxagents.errors import RunLostError

if TYPE_CHECKING:
    from rxagents.eventlog._redis import RedisEventLog

__all__ = (
    "Entry",
    "Hub",
    "Subscription",
    "detached",
    "parse_entries",
    "raw_reply",
    "stream_replies",
)

_log = logging.getLogger("rxagents.eventlog._redis")
_T = TypeVar("_T")

_ABANDONED: set[asyncio.Future[Any]] = set()
"""Redis calls whose caller was cancelled, kept referenced until they are over."""


async def detached(call: Awaitable[_T]) -> _T:
    """Await a Redis call in a task of its own: cancelling the caller takes effect at once.

    The abandoned call is cancelled too; if redis-py swallows that, the command runs to its
    end in the background (its connection goes back to the pool then) and its answer or
    error is dropped.
    """
    task = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        _ABANDONED.add(task)
        task.add_done_callback(_forget)
        raise


def _forget(task: asyncio.Future[Any]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: the failure of an abandoned call concerns nobody


Entry = tuple[int, bytes | None]
"""A stream entry: the sequence number of its id (``0-<seq>``, seq = position + 1) and its
chunk's JSON, or ``None`` for the entry that marks the end."""

_READ_COUNT: Final = 1000
"""Entries fetched per ``XREAD``."""


def raw_reply(response: Any, **options: Any) -> Any:
    """Keep an ``XREAD`` reply as Redis sent it (set as the clients' response callback).

    redis-py would turn every entry's fields into a dict; the log reads one field.
    """
    return response


def stream_replies(reply: Any) -> list[tuple[bytes, list[Any]]]:
    """The ``(stream, raw entries)`` of a raw ``XREAD`` reply, in RESP3 (a map) or RESP2."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return list(reply.items())
    return [(stream, entries) for stream, entries in reply]


def parse_entries(raw: list[Any]) -> list[Entry]:
    """Turn raw ``XREAD`` entries into :data:`Entry`; ids compare as numbers, not text."""
    return [
        (int(entry_id[entry_id.index(b"-") + 1 :]), fields[1] if fields[0] == b"c" else None)
        for entry_id, fields in raw
    ]


@final
class Subscription:
    """One reader's place at the live edge of one stream."""

    __slots__ = ("cursor", "entries", "error", "run_id", "stream", "waiter")

    def __init__(self, run_id: str, stream: str, cursor: int) -> None:
        self.run_id = run_id
        self.stream = stream
        self.cursor = cursor
        """The seq of the last entry handed over (the reader's position)."""
        self.entries: list[Entry] = []
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None

    def deliver(self, entries: list[Entry]) -> None:
        """Take the entries past the cursor."""
        fresh = [entry for entry in entries if entry[0] > self.cursor]
        if fresh:
            self.entries.extend(fresh)
            self.cursor = fresh[-1][0]
            self._wake()

    def fail(self, error: BaseException) -> None:
        """Make the reader's next wait raise ``error``."""
        self.error = error
        self._wake()

    async def next(self, patience: float) -> list[Entry] | None:
        """Return the entries that arrived, waiting up to ``patience`` s (``None``: nothing came).

        Raises:
            RunLostError: The hub could not reach Redis within the retry window.
        """
        if not self.entries and self.error is None:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(patience):
                    await self.waiter
            except TimeoutError:
                return None
            finally:
                self.waiter = None
        if self.error is not None:
            raise self.error
        entries, self.entries = self.entries, []
        return entries

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


@final
class Hub:
    """One blocking ``XREAD`` over the streams of every subscribed reader of a log."""

    def __init__(self, log: RedisEventLog, client: Any) -> None:
        self._log = log
        self._client = client
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._client_id: int | None = None
        self._blocked = False
        self._round = 0

    def subscribe(self, run_id: str, stream: str, cursor: int) -> Subscription:
        """Follow ``stream`` (run ``run_id``'s) past entry ``cursor`` (its seq)."""
        subscription = Subscription(run_id, stream, cursor)
        self._subscriptions.setdefault(stream, []).append(subscription)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        elif self._blocked:
            self._log._spawn(self._interrupt(self._round))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop following (the stream leaves the blocking call at its next round)."""
        subscriptions = self._subscriptions.get(subscription.stream, [])
        if subscription in subscriptions:
            subscriptions.remove(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.stream]

    async def aclose(self) -> None:
        """Stop the blocking call and close its connection; readers still waiting fail."""
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription.fail(
                    RunLostError(
                        f"run {subscription.run_id!r}: the event log was closed while reading",
                        run_id=subscription.run_id,
                    )
                )
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._client.aclose()

    async def _interrupt(self, round_: int) -> None:
        # the call may not have reached Redis yet: try again until that round is over
        for _ in range(50):
            if self._round != round_ or not self._blocked or self._client_id is None:
                return
            if await self._log._client.client_unblock(self._client_id):
                return
            await asyncio.sleep(0.002)

    async def _run(self) -> None:
        log = self._log
        failing_since: float | None = None
        delay = 0.05
        loop = asyncio.get_running_loop()
        try:
            while self._subscriptions:
                streams = {
                    stream: f"0-{min(s.cursor for s in subscriptions)}"
                    for stream, subscriptions in self._subscriptions.items()
                }
                try:
                    if self._client_id is None:
                        self._client_id = await detached(self._client.client_id())
                    self._blocked = True
                    reply = await detached(
                        self._client.xread(streams, count=_READ_COUNT, block=log._block_ms)
                    )
                except log._transient as err:
                    self._client_id = None
                    now = loop.time()
                    failing_since = now if failing_since is None else failing_since
                    if now - failing_since > log._retry_timeout:
                        self._fail_all(err)
                        failing_since = None
                    _log.warning("event log: reading from Redis failed (retrying): %s", err)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                finally:
                    self._blocked = False
                    self._round += 1
                failing_since = None
                delay = 0.05
                for stream, raw in stream_replies(reply):
                    entries = parse_entries(raw)
                    for subscription in list(self._subscriptions.get(stream.decode(), ())):
                        subscription.deliver(entries)
        finally:
            self._task = None

    def _fail_all(self, err: BaseException) -> None:
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription.fail(self._log._unreachable(subscription.run_id, "read", err))
