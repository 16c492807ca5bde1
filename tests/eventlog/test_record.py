"""Runs started outside a server, recorded into an event log: read, followed, cancelled, served."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import reactivex
from aiohttp import web

from rxagents import Agent, Runtime
from rxagents.adapters.client import RemoteAgent
from rxagents.adapters.server import create_app
from rxagents.errors import RunExistsError
from rxagents.eventlog import EventLog, InMemoryEventLog, RedisEventLog, record
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.testing import assert_well_formed

WORDS = [f"w{i} " for i in range(20)]


def wire(chunks: list[Any]) -> list[dict[str, Any]]:
    return [c.model_dump(by_alias=True) for c in chunks]


class Gate:
    """A model that streams half its words, waits for ``release``, then the rest."""

    def __init__(self) -> None:
        self.halfway = asyncio.Event()
        self.release = asyncio.Event()
        self.closed = asyncio.Event()

    async def __call__(self, call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"type": "text-start", "id": "t"}
            for i, word in enumerate(WORDS):
                if i == len(WORDS) // 2:
                    self.halfway.set()
                    await self.release.wait()
                yield {"type": "text-delta", "id": "t", "delta": word}
            yield {"type": "text-end", "id": "t"}
            yield {"type": "finish", "finishReason": "stop"}
        finally:
            self.closed.set()


@pytest.fixture(params=["memory", "redis"])
async def logs(request: pytest.FixtureRequest) -> AsyncIterator[tuple[EventLog, EventLog]]:
    """An owner's log and a reader's log over the same store (two clients for Redis)."""
    if request.param == "memory":
        log = InMemoryEventLog()
        yield log, log
        return
    url = request.getfixturevalue("redis_server").url
    prefix = f"rec-{uuid.uuid4().hex}"
    owner, reader = RedisEventLog(url, prefix=prefix), RedisEventLog(url, prefix=prefix)
    yield owner, reader
    await owner.aclose()
    await reader.aclose()


async def test_a_recorded_run_reads_back_whole_and_a_late_reader_follows_it_live(
    logs: tuple[EventLog, EventLog],
) -> None:
    owner, reader = logs
    gate = Gate()
    stream = await Agent("a", model=FunctionModel(gate)).stream("hi")
    await record(owner, stream, kind="agent")
    await asyncio.wait_for(gate.halfway.wait(), 5)

    async def read_all() -> list[Any]:
        return [chunk async for _, chunk in reader.read(stream.run_id)]

    following = asyncio.ensure_future(read_all())
    gate.release.set()
    chunks = await asyncio.wait_for(following, 10)
    assert wire(chunks) == wire(list(stream.chunks))
    assert_well_formed(chunks)
    assert "".join(c.payload.text for c in chunks if c.type == "text-delta") == "".join(WORDS)
    tail = [chunk async for _, chunk in reader.read(stream.run_id, offset=len(chunks) - 2)]
    assert wire(tail) == wire(chunks[-2:])


async def test_a_cancel_request_through_the_log_cancels_the_local_run(
    logs: tuple[EventLog, EventLog],
) -> None:
    owner, reader = logs
    gate = Gate()
    stream = await Agent("a", model=FunctionModel(gate)).stream("hi")
    await record(owner, stream, kind="agent")
    await asyncio.wait_for(gate.halfway.wait(), 5)
    assert await reader.request_cancel(stream.run_id)
    await asyncio.wait_for(gate.closed.wait(), 10)
    assert await stream.finish_reason == "abort"
    chunks = [chunk async for _, chunk in reader.read(stream.run_id)]
    assert chunks[-1].type == "abort"


async def test_recording_a_run_id_the_log_holds_is_refused_and_cancels_the_run() -> None:
    log = InMemoryEventLog()
    log.open("taken", kind="agent").end()
    gate = Gate()
    stream = await Agent("a", model=FunctionModel(gate)).stream("hi", run_id="taken")
    with pytest.raises(RunExistsError):
        await record(log, stream, kind="agent")
    assert await stream.finish_reason == "abort"


async def test_a_failing_model_is_recorded_as_the_stream_reports_it() -> None:
    async def broken(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        yield {"type": "text-delta", "id": "t", "delta": "so far"}
        raise RuntimeError("provider gone")

    log = InMemoryEventLog()
    stream = await Agent("a", model=FunctionModel(broken)).stream("hi")
    await record(log, stream, kind="agent")
    chunks = [chunk async for _, chunk in log.read(stream.run_id)]
    assert wire(chunks) == wire(list(stream.chunks))
    errors = [c for c in chunks if c.type == "error"]
    assert "provider gone" in errors[0].payload.error.message
    assert chunks[-1].type == "finish"


class Failing:
    """A run stream whose Observable fails after one chunk (a source outside the library)."""

    run_id = "failing"

    def __init__(self, first: Any) -> None:
        self.first = first
        self.cancelled = False

    @property
    def observable(self) -> reactivex.Observable[Any]:
        return reactivex.concat(reactivex.of(self.first), reactivex.throw(RuntimeError("boom")))

    def cancel(self) -> None:
        self.cancelled = True


async def test_a_source_that_fails_ends_its_log_with_the_failure_chunks() -> None:
    stream = await Agent("a", model=ScriptedModel([[]])).stream("hi", run_id="failing")
    await stream.text
    log = InMemoryEventLog()
    await record(log, Failing(stream.chunks[0]), kind="agent")
    chunks = [chunk async for _, chunk in log.read("failing")]
    assert [c.type for c in chunks] == ["start", "error", "finish"]
    assert chunks[1].payload.error.message == "boom"
    assert chunks[2].payload.step_result.reason == "error"


async def test_a_server_sharing_the_redis_log_serves_a_run_a_worker_records(
    redis_server: Any,
) -> None:
    prefix = f"rec-{uuid.uuid4().hex}"
    worker_log = RedisEventLog(redis_server.url, prefix=prefix)
    server_log = RedisEventLog(redis_server.url, prefix=prefix)
    worker_agent = Agent(
        "writer",
        model=ScriptedModel(
            [
                [
                    {"type": "text-delta", "id": "t", "delta": "Recorded "},
                    {"type": "text-delta", "id": "t", "delta": "by a worker."},
                    {"type": "finish", "finishReason": "stop"},
                ]
            ]
        ),
    )
    served_twin = Agent("writer", model=ScriptedModel([[]]))  # the server knows the agent's id
    runner = web.AppRunner(
        create_app(Runtime(agents={"writer": served_twin}, event_log=server_log))
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        stream = await worker_agent.stream("go")
        run_log = await record(worker_log, stream, kind="agent")
        await stream.text
        await run_log.flush()
        remote = RemoteAgent(f"http://{host}:{port}", "writer")
        observed = await remote.observe_run(stream.run_id)
        assert await observed.text == "Recorded by a worker."
        assert wire(list(observed.chunks)) == wire(list(stream.chunks))
        later = await remote.observe_run(stream.run_id, offset=3)
        assert wire([chunk async for chunk in later]) == wire(list(stream.chunks))[3:]
    finally:
        await runner.cleanup()
        await worker_log.aclose()
        await server_log.aclose()
