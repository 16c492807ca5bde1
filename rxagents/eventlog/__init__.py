"""Event logs: every run's chunks, in order, replayable from any position and followed live.

A run appends its chunks to a log keyed by its run id; readers (the run's own stream, a client
that re-attaches after a dropped connection, another server process) replay it from a position
and then follow it live until its end. Positions are 0-based chunk indexes, dense, in append
order.

- :class:`EventLog`: the protocol; :class:`RunLog`: the owner's handle on one run
  (:class:`CompactRunLog` when it also takes chunks in their compact form:
  :func:`takes_compact`).
- :class:`InMemoryEventLog`: one process, no dependency; the run's chunk list is the run
  stream's replay buffer (:attr:`RunLog.buffer`).
- :class:`RedisEventLog`: Redis Streams (``pip install 'rxagents[redis]'``), shared by every
  process using the same Redis: any process re-attaches to or cancels any run; the owner holds
  a lease, readers end a dead owner's run with a terminal error, a stale owner is fenced.

Owner side — the run stream calls, for each run::

    run_log = event_log.open(run_id, kind="agent", on_cancel=cancel_run, on_lost=on_lost)
    run_log.append(chunk)  # in on_next, for every chunk: synchronous and cheap
    run_log.end()  # after the last chunk (completed, failed or cancelled)

A run started outside a server (a worker, a script) is recorded with :func:`record`
(``await record(log, stream, kind="agent")``); a server records the runs it serves by itself.

Reader side (any process)::

    async for position, chunk in event_log.read(run_id, offset=0):
        ...  # the replay, then live chunks, until the run's end

Reading is an async iterator, unlike the rest of the library outside ``adapters``: a log is an
edge, like storage. A reader buffers nothing beyond one batch of entries (Redis) or nothing at
all (in memory: it reads the run's list by index).

Example:
    >>> import asyncio
    >>> from rxagents.events import parse_chunk
    >>> async def main() -> list[tuple[int, str]]:
    ...     log = InMemoryEventLog()
    ...     run = log.open("r1", kind="agent")
    ...     for text in ("Hel", "lo"):
    ...         run.append(parse_chunk({"type": "text-delta", "runId": "r1", "from": "AGENT",
    ...                                 "payload": {"id": "t", "text": text}}))
    ...     run.end()
    ...     return [(p, c.payload.text) async for p, c in log.read("r1", offset=1)]
    >>> asyncio.run(main())
    [(1, 'lo')]
"""

from rxagents.eventlog._memory import InMemoryEventLog as InMemoryEventLog
from rxagents.eventlog._memory import InMemoryRunLog as InMemoryRunLog
from rxagents.eventlog._protocol import CompactRunLog as CompactRunLog
from rxagents.eventlog._protocol import EventLog as EventLog
from rxagents.eventlog._protocol import LostCallback as LostCallback
from rxagents.eventlog._protocol import RunInfo as RunInfo
from rxagents.eventlog._protocol import RunKind as RunKind
from rxagents.eventlog._protocol import RunLog as RunLog
from rxagents.eventlog._protocol import RunStatus as RunStatus
from rxagents.eventlog._protocol import chunk_json as chunk_json
from rxagents.eventlog._protocol import failure_chunks as failure_chunks
from rxagents.eventlog._protocol import lost_chunks as lost_chunks
from rxagents.eventlog._protocol import takes_compact as takes_compact
from rxagents.eventlog._record import Recordable as Recordable
from rxagents.eventlog._record import RunSource as RunSource
from rxagents.eventlog._record import copy_into as copy_into
from rxagents.eventlog._record import create_owned as create_owned
from rxagents.eventlog._record import record as record
from rxagents.eventlog._redis import RedisEventLog as RedisEventLog
from rxagents.eventlog._redis_run import RedisRunLog as RedisRunLog

__all__ = (
    "CompactRunLog",
    "EventLog",
    "InMemoryEventLog",
    "InMemoryRunLog",
    "LostCallback",
    "Recordable",
    "RedisEventLog",
    "RedisRunLog",
    "RunInfo",
    "RunKind",
    "RunLog",
    "RunSource",
    "RunStatus",
    "chunk_json",
    "copy_into",
    "create_owned",
    "failure_chunks",
    "lost_chunks",
    "record",
    "takes_compact",
)
