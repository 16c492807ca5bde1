"""Both event logs keep one contract: order, replay from any offset, live follow, end, cancel,
expiry, unique run ids, unknown runs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rxagents import EventLog, InMemoryEventLog, RedisEventLog
from rxagents.errors import (
    InvalidInputError,
    RunExistsError,
    RunLostError,
    RunNotFoundError,
    RunStateError,
)
from rxagents.eventlog import RunLog, chunk_json, lost_chunks, takes_compact
from rxagents.events import ChunkBase, TextDelta, TextDeltaPayload, compact_chunk, parse_chunk
from rxagents.testing.strategies import agent_chunk_streams


def delta(run_id: str, text: str) -> TextDelta:
    return TextDelta(run_id=run_id, payload=TextDeltaPayload(id="t", text=text))


def texts(items: list[tuple[int, Any]]) -> list[tuple[int, str]]:
    return [(position, chunk.payload.text) for position, chunk in items]


@dataclass
class Logs:
    """The owner's log and a reader's log: one object in memory, two clients on Redis."""

    owner: EventLog
    reader: EventLog


LogsFactory = Callable[..., Logs]


@pytest.fixture(params=["memory", "redis"])
async def make_logs(request: pytest.FixtureRequest) -> AsyncIterator[LogsFactory]:
    made: list[EventLog] = []
    prefix = f"test-{uuid.uuid4().hex[:8]}"

    def make(**options: Any) -> Logs:
        if request.param == "memory":
            log: EventLog = InMemoryEventLog(**options)
            made.append(log)
            return Logs(log, log)
        url = request.getfixturevalue("redis_server").url
        owner = RedisEventLog(url, prefix=prefix, owner="owner", **options)
        reader = RedisEventLog(url, prefix=prefix, owner="reader", **options)
        made.extend((owner, reader))
        return Logs(owner, reader)

    yield make
    for log in made:
        await log.aclose()


@pytest.fixture
def logs(make_logs: LogsFactory) -> Logs:
    return make_logs()


async def collect(log: EventLog, run_id: str, offset: int = 0) -> list[tuple[int, Any]]:
    return [item async for item in log.read(run_id, offset)]


async def test_both_backends_implement_the_protocols(logs: Logs) -> None:
    assert isinstance(logs.owner, EventLog)
    run = await logs.owner.create("r", kind="agent")
    assert isinstance(run, RunLog)
    run.end()
    await run.flush()


async def test_a_reader_gets_every_chunk_in_order_then_the_end(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    for i in range(25):
        run.append(delta("r", str(i)))
    assert run.length == 25
    run.end()
    await run.flush()
    assert texts(await collect(logs.reader, "r")) == [(i, str(i)) for i in range(25)]


async def test_replay_from_every_offset_gives_the_tail(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    for i in range(6):
        run.append(delta("r", str(i)))
    run.end()
    await run.flush()
    for offset in range(9):
        got = texts(await collect(logs.reader, "r", offset))
        assert got == [(i, str(i)) for i in range(offset, 6)]


async def test_a_reader_follows_live_chunks_until_the_end(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    run.append(delta("r", "0"))
    first = asyncio.Event()
    got: list[tuple[int, Any]] = []

    async def read() -> None:
        async for item in logs.reader.read("r"):
            got.append(item)
            first.set()

    reader = asyncio.create_task(read())
    await first.wait()
    for i in range(1, 4):  # appended while the reader waits at the live edge
        run.append(delta("r", str(i)))
        await run.flush()
    run.end()
    await asyncio.wait_for(reader, 30)
    assert texts(got) == [(0, "0"), (1, "1"), (2, "2"), (3, "3")]


async def test_a_reader_past_the_live_edge_waits_for_that_position(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    run.append(delta("r", "0"))
    await run.flush()
    reader = asyncio.create_task(collect(logs.reader, "r", offset=2))
    for i in range(1, 4):
        run.append(delta("r", str(i)))
    run.end()
    assert texts(await asyncio.wait_for(reader, 30)) == [(2, "2"), (3, "3")]


async def test_an_offset_past_the_end_of_a_running_run_ends_with_the_run(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    run.append(delta("r", "0"))
    await run.flush()
    reader = asyncio.create_task(collect(logs.reader, "r", offset=5))
    run.end()
    assert await asyncio.wait_for(reader, 30) == []


async def test_read_json_yields_the_wire_json_of_each_chunk(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    chunks = [delta("r", "a"), delta("r", "b")]
    for chunk in chunks:
        run.append(chunk)
    run.end()
    await run.flush()
    got = [item async for item in logs.reader.read_json("r")]
    assert got == [(0, chunk_json(chunks[0])), (1, chunk_json(chunks[1]))]


async def test_compact_forms_are_read_as_the_chunks_they_stand_for(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    assert takes_compact(run)
    chunks = [delta("r", text) for text in ("a", 'say "hi"\n', "\\ é 😀\x00\u2028", "")]
    start = parse_chunk(
        {"type": "text-start", "runId": "r", "from": "AGENT", "payload": {"id": "t"}}
    )
    run.append(start)
    for chunk in chunks:
        form = compact_chunk(chunk)
        assert type(form) is tuple
        run.append(form)
    run.end()
    await run.flush()
    read = await collect(logs.reader, "r")
    assert read == list(enumerate([start, *chunks]))
    assert all(
        type(chunk) is type(original)
        for (_, chunk), original in zip(read, [start, *chunks], strict=True)
    )
    as_json = [item async for item in logs.reader.read_json("r")]
    assert as_json == [(i, chunk_json(chunk)) for i, chunk in enumerate([start, *chunks])]
    batches = [item async for batch in logs.reader.read_json_batches("r", 2) for item in batch]
    assert batches == as_json[2:]


async def test_batches_hold_the_run_in_order_each_chunk_once_and_are_never_empty(
    logs: Logs,
) -> None:
    run = await logs.owner.create("r", kind="agent")
    chunks = [delta("r", str(i)) for i in range(2500)]  # more than one read's worth
    for chunk in chunks[:1200]:
        run.append(chunk)
    await run.flush()
    batches: list[list[tuple[int, bytes]]] = []

    async def follow() -> None:
        async for batch in logs.reader.read_json_batches("r", 3):
            batches.append(batch)
            if batch[-1][0] == 1199:  # the replay is over: the rest comes live
                for chunk in chunks[1200:]:
                    run.append(chunk)
                run.end()

    await asyncio.wait_for(follow(), 30)
    assert all(batches)
    assert len(batches) > 1
    assert [item for batch in batches for item in batch] == [
        (position, chunk_json(chunk)) for position, chunk in enumerate(chunks) if position >= 3
    ]


async def test_texts_with_newlines_and_separators_come_back_unchanged(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    texts_in = ["line one\nline two\r\n", "\n", "a\x1eb", "data: [DONE]\n\n", "é\u2028"]
    for text in texts_in:
        run.append(delta("r", text))
    run.end()
    await run.flush()
    assert [chunk.payload.text for _, chunk in await collect(logs.reader, "r")] == texts_in


async def test_runs_are_kept_apart(logs: Logs) -> None:
    one = await logs.owner.create("one", kind="agent")
    two = await logs.owner.create("two", kind="network")
    for i in range(3):
        one.append(delta("one", f"1-{i}"))
        two.append(delta("two", f"2-{i}"))
    one.end()
    two.end()
    await one.flush()
    await two.flush()
    assert [c.payload.text for _, c in await collect(logs.reader, "one")] == ["1-0", "1-1", "1-2"]
    assert [c.payload.text for _, c in await collect(logs.reader, "two")] == ["2-0", "2-1", "2-2"]


async def test_info_tells_status_length_kind_and_owner(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="workflow")
    run.append(delta("r", "a"))
    await run.flush()
    info = await logs.reader.info("r")
    assert (info.run_id, info.kind, info.status, info.length) == ("r", "workflow", "running", 1)
    assert info.owner
    assert not info.cancel_requested
    run.end()
    await run.flush()
    info = await logs.reader.info("r")
    assert (info.status, info.length, info.owner) == ("ended", 1, None)


async def test_an_unknown_run_is_refused_before_the_first_item(logs: Logs) -> None:
    with pytest.raises(RunNotFoundError, match="'nope'") as caught:
        await collect(logs.reader, "nope")
    assert isinstance(caught.value, KeyError)
    with pytest.raises(RunNotFoundError):
        await logs.reader.info("nope")
    with pytest.raises(RunNotFoundError):
        await logs.reader.request_cancel("nope")


async def test_a_negative_offset_is_refused(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    with pytest.raises(InvalidInputError):
        await collect(logs.reader, "r", offset=-1)
    run.end()


async def test_a_run_id_in_use_is_refused(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    with pytest.raises(RunExistsError, match="'r'"):
        logs.owner.open("r", kind="agent")
    with pytest.raises(RunExistsError):
        await logs.reader.create("r", kind="agent")
    run.end()
    await run.flush()
    with pytest.raises(RunExistsError):  # ended, but still in the log
        await logs.reader.create("r", kind="agent")


async def test_appending_after_the_end_is_an_error(logs: Logs) -> None:
    run = await logs.owner.create("r", kind="agent")
    run.end()
    run.end()  # idempotent
    assert not run.is_open
    with pytest.raises(RunStateError):
        run.append(delta("r", "late"))


async def test_a_cancel_request_reaches_the_owner_once(logs: Logs) -> None:
    cancels: list[None] = []
    cancelled = asyncio.Event()

    def on_cancel() -> None:
        cancels.append(None)
        cancelled.set()

    run = await logs.owner.create("r", kind="agent", on_cancel=on_cancel)
    assert await logs.reader.request_cancel("r") is True
    await asyncio.wait_for(cancelled.wait(), 30)
    assert await logs.reader.request_cancel("r") is True
    assert (await logs.reader.info("r")).cancel_requested
    run.append(delta("r", "abort"))
    run.end()
    await run.flush()
    assert await logs.reader.request_cancel("r") is False
    assert len(cancels) == 1


async def test_an_ended_run_expires_after_its_retention(make_logs: LogsFactory) -> None:
    logs = make_logs(retention=0.2)
    run = await logs.owner.create("r", kind="agent")
    run.append(delta("r", "a"))
    run.end()
    await run.flush()
    async with asyncio.timeout(30):
        while True:  # expiry happens in the store's own time: poll for it
            try:
                await logs.reader.info("r")
            except RunNotFoundError:
                break
            await asyncio.sleep(0.05)
    with pytest.raises(RunNotFoundError):
        await collect(logs.reader, "r")
    run = await logs.owner.create("r", kind="agent")  # the id is free again
    run.end()
    await run.flush()


async def test_closing_the_owners_log_ends_its_open_runs_as_lost(logs: Logs) -> None:
    errors: list[Exception] = []
    run = await logs.owner.create("r", kind="agent", on_lost=errors.append)
    run.append(delta("r", "a"))
    await logs.owner.aclose()
    assert [type(e) for e in errors] == [RunLostError]
    run.append(delta("r", "dropped"))
    assert not run.is_open
    if logs.reader is logs.owner:
        return
    got = await collect(logs.reader, "r")
    assert [chunk_json(c) for _, c in got[1:]] == [chunk_json(c) for c in lost_chunks("r", "agent")]
    assert (await logs.reader.info("r")).status == "lost"


@pytest.mark.parametrize("kind", ["agent", "workflow", "network"])
def test_a_lost_run_ends_as_a_failed_run_of_its_kind(kind: Any) -> None:
    chunks = lost_chunks("r1", kind)
    assert chunks[0].type == "error"
    assert chunks[0].payload.error.name == "RunLostError"
    assert "'r1' was lost" in chunks[0].payload.error.message
    assert {c.run_id for c in chunks} == {"r1"}
    assert [c.type for c in chunks[1:]] == {
        "agent": ["finish"],
        "workflow": ["workflow-finish"],
        "network": [],
    }[kind]
    for chunk in chunks:
        assert parse_chunk(chunk_json(chunk)) == chunk


@given(
    stream=agent_chunk_streams(run_id="run"),
    data=st.data(),
)
async def test_reattaching_at_any_point_gives_back_the_whole_run(
    redis_server: Any, stream: list[ChunkBase], data: st.DataObject
) -> None:
    # property: drop a reader anywhere, re-attach at any offset up to there: the pieces
    # re-assemble the run exactly, on both backends
    drop = data.draw(st.integers(0, len(stream)), label="drop")
    offset = data.draw(st.integers(0, drop), label="offset")
    split = data.draw(st.integers(0, len(stream)), label="appended before reading")
    memory = InMemoryEventLog()
    prefix = f"prop-{uuid.uuid4().hex[:8]}"
    owner = RedisEventLog(redis_server.url, prefix=prefix)
    reader = RedisEventLog(redis_server.url, prefix=prefix)
    try:
        for write_log, read_log in ((memory, memory), (owner, reader)):
            run = await write_log.create("run", kind="agent")
            for chunk in stream[:split]:
                run.append(chunk)

            async def write_the_rest(run: RunLog = run) -> None:
                for chunk in stream[split:]:
                    run.append(chunk)
                    await run.flush()
                run.end()

            async def read_until_the_drop(read_log: EventLog = read_log) -> list[Any]:
                first: list[tuple[int, bytes]] = []
                if drop:
                    async with aclosing(read_log.read_json("run")) as items:
                        async for item in items:
                            first.append(item)
                            if len(first) == drop:
                                break
                return first

            first, _ = await asyncio.gather(read_until_the_drop(), write_the_rest())
            second = [item async for item in read_log.read_json("run", offset)]
            whole = first[:offset] + second
            assert [p for p, _ in whole] == list(range(len(stream)))
            assert [raw for _, raw in whole] == [chunk_json(c) for c in stream]
    finally:
        await memory.aclose()
        await owner.aclose()
        await reader.aclose()
