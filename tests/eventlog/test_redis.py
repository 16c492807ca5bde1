"""The Redis event log when things go wrong: dead and paused owners, fencing, Redis restarts,
missing data; and how it uses Redis (one round trip per callback, expiring keys)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from rxagents import RedisEventLog
from rxagents.errors import FencedError, RunLostError, RxAgentsError
from rxagents.eventlog import chunk_json, lost_chunks
from rxagents.events import TextDelta, TextDeltaPayload

LEASE = 1.0
"""A short lease, so that lost runs end quickly."""
ENDING_BOUND = LEASE + 2.0
"""Every reader sees a lost run end within this many seconds of its owner's death."""
OWNER_SCRIPT = Path(__file__).with_name("owner_process.py")
ROOT = Path(__file__).parents[2]


def delta(run_id: str, text: str) -> TextDelta:
    return TextDelta(run_id=run_id, payload=TextDeltaPayload(id="t", text=text))


class OwnerProcess:
    """A run's owner in a child process (``owner_process.py``), driven over stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, url: str, prefix: str, run_id: str) -> OwnerProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(OWNER_SCRIPT),
            url,
            prefix,
            run_id,
            str(LEASE),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        owner = cls(process)
        assert await owner.next_line() == "ready"
        return owner

    async def next_line(self) -> str:
        assert self.process.stdout is not None
        line = (await self.process.stdout.readline()).decode().strip()
        self.lines.append(line)
        return line

    async def command(self, line: str, *answers: str) -> str:
        """Send a command; return the first line that starts with one of ``answers``."""
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        while True:
            answer = await self.next_line()
            assert answer, f"the owner process exited; it said {self.lines}"
            if answer.startswith(answers):
                return answer

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


@pytest.fixture
async def owners() -> AsyncIterator[list[OwnerProcess]]:
    started: list[OwnerProcess] = []
    yield started
    for owner in started:
        await owner.stop()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def reader(redis_server: Any, prefix: str) -> AsyncIterator[RedisEventLog]:
    log = RedisEventLog(redis_server.url, prefix=prefix, lease_ttl=LEASE)
    yield log
    await log.aclose()


async def read_all(log: RedisEventLog, run_id: str, offset: int = 0) -> list[tuple[int, bytes]]:
    return [item async for item in log.read_json(run_id, offset)]


def lost_ending(run_id: str) -> list[bytes]:
    return [chunk_json(chunk) for chunk in lost_chunks(run_id, "agent")]


def deltas(run_id: str, count: int) -> list[bytes]:
    return [chunk_json(delta(run_id, str(i))) for i in range(count)]


async def test_a_killed_owners_run_ends_with_its_error_for_every_reader(
    redis_server: Any, prefix: str, reader: RedisEventLog, owners: list[OwnerProcess]
) -> None:
    owner = await OwnerProcess.start(redis_server.url, prefix, "r")
    owners.append(owner)
    assert await owner.command("append 3", "stored") == "stored 3"
    other = RedisEventLog(redis_server.url, prefix=prefix, lease_ttl=LEASE)
    readers = [
        asyncio.create_task(read_all(reader, "r")),
        asyncio.create_task(read_all(reader, "r", offset=2)),
        asyncio.create_task(read_all(other, "r", offset=1)),
    ]
    owner.signal(signal.SIGKILL)
    try:
        async with asyncio.timeout(ENDING_BOUND):
            whole, tail, late = await asyncio.gather(*readers)
    finally:
        await other.aclose()
    expected = [*deltas("r", 3), *lost_ending("r")]
    assert whole == list(enumerate(expected))
    assert tail == list(enumerate(expected))[2:]
    assert late == list(enumerate(expected))[1:]
    info = await reader.info("r")
    assert (info.status, info.length, info.owner) == ("lost", 5, None)


async def test_a_paused_owner_is_fenced_and_nothing_it_writes_later_lands(
    redis_server: Any, prefix: str, reader: RedisEventLog, owners: list[OwnerProcess]
) -> None:
    owner = await OwnerProcess.start(redis_server.url, prefix, "r")
    owners.append(owner)
    assert await owner.command("append 3", "stored") == "stored 3"
    reading = asyncio.create_task(read_all(reader, "r"))
    owner.signal(signal.SIGSTOP)
    async with asyncio.timeout(ENDING_BOUND):
        got = await reading
    expected = list(enumerate([*deltas("r", 3), *lost_ending("r")]))
    assert got == expected
    owner.signal(signal.SIGCONT)
    assert await owner.command("append 2", "refused", "stored") == "refused FencedError"
    assert "lost FencedError" in owner.lines
    assert await read_all(reader, "r") == expected
    assert (await reader.info("r")).length == 5


async def test_an_owner_whose_lease_expired_is_fenced_and_ends_its_run_as_lost(
    redis_server: Any, prefix: str, reader: RedisEventLog
) -> None:
    errors: list[RxAgentsError] = []
    owner = RedisEventLog(redis_server.url, prefix=prefix, lease_ttl=LEASE)
    try:
        run = await owner.create("r", kind="agent", on_lost=errors.append)
        run.append(delta("r", "0"))
        await run.flush()
        raw = redis.asyncio.Redis.from_url(redis_server.url)
        await raw.delete(f"{prefix}:{{r}}:lease")  # the lease ran out while the owner slept
        await raw.aclose()
        run.append(delta("r", "1"))
        with pytest.raises(FencedError, match="lost its lease"):
            await run.flush()
        assert [type(e) for e in errors] == [FencedError]
        assert not run.is_open
        run.append(delta("r", "2"))  # dropped: the run is being cancelled
        assert await read_all(reader, "r") == list(enumerate([*deltas("r", 1), *lost_ending("r")]))
    finally:
        await owner.aclose()


async def test_a_redis_restart_mid_run_is_an_error_for_owner_and_reader_not_a_gap(
    own_redis_server: Any, prefix: str
) -> None:
    url = own_redis_server.url
    owner = RedisEventLog(url, prefix=prefix, lease_ttl=LEASE, retry_timeout=5.0)
    reader = RedisEventLog(url, prefix=prefix, lease_ttl=LEASE, retry_timeout=5.0)
    errors: list[RxAgentsError] = []
    try:
        run = await owner.create("r", kind="agent", on_lost=errors.append)
        for i in range(3):
            run.append(delta("r", str(i)))
        await run.flush()
        got: list[tuple[int, bytes]] = []
        three = asyncio.Event()

        async def read() -> None:
            async for item in reader.read_json("r"):
                got.append(item)
                if len(got) == 3:
                    three.set()

        reading = asyncio.create_task(read())
        await three.wait()
        own_redis_server.restart()  # no persistence: the data is gone
        run.append(delta("r", "3"))
        with pytest.raises(RunLostError):
            await run.flush()
        assert len(errors) == 1
        with pytest.raises(RunLostError, match="vanished"):
            await reading
        assert got == list(enumerate(deltas("r", 3)))
    finally:
        await owner.aclose()
        await reader.aclose()


async def test_redis_unreachable_past_the_retry_window_loses_the_run(
    own_redis_server: Any, prefix: str
) -> None:
    url = own_redis_server.url
    owner = RedisEventLog(url, prefix=prefix, lease_ttl=LEASE, retry_timeout=0.5)
    errors: list[RxAgentsError] = []
    try:
        run = await owner.create("r", kind="agent", on_lost=errors.append)
        await asyncio.to_thread(own_redis_server.stop)
        run.append(delta("r", "0"))
        with pytest.raises(RunLostError, match="unreachable"):
            await run.flush()
        assert [type(e) for e in errors] == [RunLostError]
        with pytest.raises(RunLostError, match="unreachable"):
            await read_all(owner, "r")
    finally:
        await owner.aclose()


async def test_a_missing_chunk_is_an_error_not_a_silent_gap(
    redis_server: Any, prefix: str, reader: RedisEventLog
) -> None:
    run = await reader.create("r", kind="agent")
    for i in range(5):
        run.append(delta("r", str(i)))
    run.end()
    await run.flush()
    raw = redis.asyncio.Redis.from_url(redis_server.url)
    await raw.xdel(f"{prefix}:{{r}}:stream", "0-3")  # position 2
    await raw.aclose()
    got: list[tuple[int, bytes]] = []

    async def read() -> None:
        async for item in reader.read_json("r"):
            got.append(item)

    with pytest.raises(RunLostError, match="chunks 2 to 2 are missing"):
        await read()
    assert [position for position, _ in got] == [0, 1]


async def test_chunks_appended_in_one_callback_are_stored_in_one_round_trip(
    own_redis_server: Any, prefix: str
) -> None:
    log = RedisEventLog(own_redis_server.url, prefix=prefix, lease_ttl=60.0)
    raw = redis.asyncio.Redis.from_url(own_redis_server.url)
    try:
        run = await log.create("r", kind="agent")

        async def scripts_run() -> int:
            stats = await raw.info("commandstats")
            return sum(
                stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval")
            )

        before = await scripts_run()
        for i in range(200):
            run.append(delta("r", str(i)))
        await run.flush()
        assert await scripts_run() == before + 1
        assert await raw.xlen(f"{prefix}:{{r}}:stream") == 200
        run.end()
        await run.flush()
    finally:
        await raw.aclose()
        await log.aclose()


async def test_a_cancel_flag_reaches_the_owner_without_its_message(
    redis_server: Any, prefix: str
) -> None:
    log = RedisEventLog(redis_server.url, prefix=prefix, lease_ttl=60.0)
    cancelled = asyncio.Event()
    raw = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        run = await log.create("r", kind="agent", on_cancel=cancelled.set)
        await raw.hset(f"{prefix}:{{r}}:meta", "cancel", 1)  # as if the message was missed
        run.append(delta("r", "0"))
        await run.flush()
        assert cancelled.is_set()
        run.end()
    finally:
        await raw.aclose()
        await log.aclose()


async def test_every_key_expires_after_the_end_and_while_running_after_lease_and_retention(
    redis_server: Any, prefix: str
) -> None:
    log = RedisEventLog(redis_server.url, prefix=prefix, lease_ttl=5.0, retention=100.0)
    raw = redis.asyncio.Redis.from_url(redis_server.url)
    keys = [f"{prefix}:{{r}}:{name}" for name in ("meta", "stream", "lease")]
    try:
        run = await log.create("r", kind="agent")
        run.append(delta("r", "0"))
        await run.flush()
        meta, stream, lease = [await raw.pttl(key) for key in keys]
        assert 100_000 < meta <= 105_000
        assert 100_000 < stream <= 105_000
        assert 0 < lease <= 5_000
        run.end()
        await run.flush()
        meta, stream, lease = [await raw.pttl(key) for key in keys]
        assert 0 < meta <= 100_000
        assert 0 < stream <= 100_000
        assert lease == -2  # gone
    finally:
        await raw.aclose()
        await log.aclose()


async def test_readers_joining_at_the_live_edge_share_one_blocking_read(
    redis_server: Any, prefix: str, reader: RedisEventLog
) -> None:
    owner = RedisEventLog(redis_server.url, prefix=prefix, lease_ttl=60.0)
    try:
        runs = [await owner.create(f"r{i}", kind="agent") for i in range(3)]
        got: dict[int, list[tuple[int, bytes]]] = {i: [] for i in range(3)}
        first = [asyncio.Event() for _ in range(3)]

        async def follow(i: int) -> None:
            async for item in reader.read_json(f"r{i}"):
                got[i].append(item)
                first[i].set()

        tasks = []
        for i, run in enumerate(runs):  # each joins while the others wait in the hub's read
            tasks.append(asyncio.create_task(follow(i)))
            run.append(delta(f"r{i}", "0"))
            await first[i].wait()
        for i, run in enumerate(runs):
            run.append(delta(f"r{i}", "1"))
            run.end()
        await asyncio.gather(*tasks)
        assert got == {i: list(enumerate(deltas(f"r{i}", 2))) for i in range(3)}
    finally:
        await owner.aclose()


async def test_a_cancelled_reader_is_done_after_one_loop_turn_wherever_it_waits(
    redis_server: Any, prefix: str, reader: RedisEventLog
) -> None:
    """redis-py may swallow a cancellation that arrives while it reads a reply; the reader
    must not: it ends at once, wherever the cancellation finds it (replaying, following)."""
    owner = RedisEventLog(redis_server.url, prefix=prefix, lease_ttl=LEASE)
    run = await owner.create("r", kind="agent")
    for i in range(3000):  # three replay batches: the reader spends turns in Redis calls
        run.append(delta("r", str(i)))
    await run.flush()

    async def follow() -> None:
        async for _ in reader.read_json("r"):
            pass

    try:
        for turns in range(40):
            task = asyncio.get_running_loop().create_task(follow())
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.sleep(0)
            assert task.done(), f"still running after a cancel at turn {turns}"
            assert task.cancelled()
    finally:
        run.end()
        await owner.aclose()
