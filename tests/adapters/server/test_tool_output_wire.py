"""Tool progress at the edge: ``tool-output`` and envelope-less data chunks travel unchanged.

Through ``/stream`` and ``/observe`` (in-memory and Redis event logs), the Python client and
the event logs' own readers: every chunk is the same JSON, byte for byte, and parses back to
the same model; a data chunk is dumped verbatim (no ``runId``, ``from`` or ``payload``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import reactivex

from rxagents import Runtime
from rxagents.adapters.client import RemoteAgent
from rxagents.adapters.server import create_app
from rxagents.agent import Agent, ToolContext, tool
from rxagents.eventlog import EventLog, InMemoryEventLog, RedisEventLog, chunk_json
from rxagents.events import ChunkBase, DataChunk, ToolOutput, parse_chunk
from rxagents.models import ScriptedModel
from rxagents.operators import reduce_usage
from tests.adapters.client.test_reconnect import CuttingProxy
from tests.adapters.conftest import Serve
from tests.adapters.tool_streams import (
    CUSTOM_CHUNKS,
    WRITTEN,
    streaming_agents,
    text_step,
    tool_step,
    writer_workflow,
)


@pytest.fixture(params=["memory", "redis"])
async def event_log(request: pytest.FixtureRequest) -> AsyncIterator[EventLog]:
    if request.param == "memory":
        yield InMemoryEventLog()
        return
    redis = request.getfixturevalue("redis_server")
    log = RedisEventLog(redis.url, prefix=f"wire-{uuid.uuid4().hex[:8]}", lease_ttl=5.0)
    yield log
    await log.aclose()


@pytest.fixture
async def base(serve: Serve, event_log: EventLog) -> str:
    runtime = Runtime(
        agents=streaming_agents(),
        workflows={"writer-workflow": writer_workflow()},
        event_log=event_log,
    )
    return await serve(create_app(runtime))


def sse_events(body: bytes) -> list[bytes]:
    """The data of each SSE event (comments skipped), checking the ``[DONE]`` end."""
    assert body.endswith(b"data: [DONE]\n\n")
    events = [block for block in body.split(b"\n\n")[:-2] if not block.startswith(b":")]
    assert all(block.startswith(b"data: ") and b"\n" not in block for block in events)
    return [block[6:] for block in events]


async def post(base: str, path: str, body: dict[str, Any]) -> bytes:
    async with aiohttp.ClientSession() as session, session.post(base + path, json=body) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.read()


def check_byte_identical(events: list[bytes]) -> list[ChunkBase]:
    """Each event parses to a chunk that dumps back to the very same bytes."""
    chunks = [parse_chunk(data) for data in events]
    for data, chunk in zip(events, chunks, strict=True):
        assert chunk_json(chunk) == data
    return chunks


async def test_stream_carries_tool_output_and_data_chunks_verbatim(base: str) -> None:
    body = await post(base, "/api/agents/writer-agent/stream", {"messages": "go", "runId": "w-1"})
    events = sse_events(body)
    chunks = check_byte_identical(events)
    outputs = [c for c in chunks if isinstance(c, ToolOutput)]
    assert [c.payload.output for c in outputs] == WRITTEN
    assert {(c.run_id, c.from_, c.payload.tool_call_id) for c in outputs} == {
        ("w-1", "USER", "call-1")
    }
    custom = [json.loads(data) for data, c in zip(events, chunks, strict=True) if not c.run_id]
    assert custom == CUSTOM_CHUNKS  # no envelope key on the wire
    types = [c.type for c in chunks]
    first, last = types.index("tool-call"), types.index("tool-result")
    assert types[first + 1 : last] == ["tool-output"] * 3 + [c["type"] for c in CUSTOM_CHUNKS]


async def test_a_piped_nested_run_travels_whole_inside_tool_output(base: str) -> None:
    body = await post(base, "/api/agents/nested-agent/stream", {"messages": "go", "runId": "n-1"})
    chunks = check_byte_identical(sse_events(body))
    nested = [c.payload.output for c in chunks if isinstance(c, ToolOutput)]
    inner_runs = {c.run_id for c in nested if isinstance(c, ChunkBase)}
    assert len(inner_runs) == 1
    assert inner_runs != {"n-1"}
    inner = [c for c in nested if isinstance(c, ChunkBase)]
    assert [c.type for c in inner][:3] == ["start", "step-start", "tool-call"]
    assert inner[-1].type == "finish"
    # the nested agent's own tool wrote: a tool-output inside a tool-output, and a data chunk
    # (kept as the value it is on the wire)
    deeper = [c.payload.output for c in inner if isinstance(c, ToolOutput)]
    assert deeper == [{"looking": "dolphins"}]
    assert {"type": "data-lookup", "data": {"topic": "dolphins"}, "id": "l1"} in nested
    total = await reduce_usage()(reactivex.from_iterable(chunks))
    assert total.total_tokens == chunks[-1].payload.output.usage.total_tokens == 60


@pytest.mark.parametrize("agent", ["writer-agent", "nested-agent", "text-pipe-agent"])
async def test_observe_replays_the_same_bytes(base: str, agent: str) -> None:
    run_id = f"{agent}-run"
    body = await post(base, f"/api/agents/{agent}/stream", {"messages": "go", "runId": run_id})
    again = await post(base, f"/api/agents/{agent}/observe", {"runId": run_id})
    assert sse_events(again) == sse_events(body)
    later = await post(base, f"/api/agents/{agent}/observe", {"runId": run_id, "offset": 4})
    assert sse_events(later) == sse_events(body)[4:]


@pytest.mark.parametrize("agent", ["writer-agent", "nested-agent", "text-pipe-agent"])
async def test_the_python_client_gives_the_same_models(base: str, agent: str) -> None:
    remote = RemoteAgent(base, agent)
    stream = await remote.stream("go", run_id=f"{agent}-py")
    chunks = [c async for c in stream]
    body = await post(base, f"/api/agents/{agent}/observe", {"runId": f"{agent}-py"})
    wire = check_byte_identical(sse_events(body))
    assert [chunk_json(c) for c in chunks] == [chunk_json(c) for c in wire]
    for got, sent in zip(chunks, wire, strict=True):
        assert type(got) is type(sent)
        if isinstance(got, DataChunk):  # the client names the run the wire does not carry
            assert got.run_id == f"{agent}-py"
            assert got == sent.model_copy(update={"run_id": f"{agent}-py"})
        elif isinstance(got, ToolOutput):
            assert got == sent
    assert await stream.usage == await reduce_usage()(reactivex.from_iterable(wire))
    observed = await remote.observe_run(f"{agent}-py", offset=2)
    assert [chunk_json(c) async for c in observed] == [chunk_json(c) for c in wire[2:]]


async def test_the_event_log_reader_gives_the_models_back(event_log: EventLog) -> None:
    local = await streaming_agents()["writer-agent"].stream("go", run_id="log-1")
    chunks = [c async for c in local]
    run = await event_log.create("log-1", kind="agent")
    for chunk in chunks:
        run.append(chunk)
    run.end()
    read = [c async for _, c in event_log.read("log-1")]
    assert read == chunks
    as_json = [data async for _, data in event_log.read_json("log-1")]
    assert as_json == [chunk_json(c) for c in chunks]
    custom = [json.loads(data) for data, c in zip(as_json, chunks, strict=True) if not c.run_id]
    assert custom == []  # in process, a data chunk names its run ...
    assert [json.loads(d) for d, c in zip(as_json, chunks, strict=True) if c.payload is None] == (
        CUSTOM_CHUNKS  # ... which its wire form leaves out
    )


async def test_a_network_carries_its_agents_tool_progress_wrapped(base: str) -> None:
    memory = {"thread": "t-1", "resource": "u-1"}
    body = await post(
        base, "/api/agents/network-agent/network", {"messages": "go", "memory": memory}
    )
    chunks = check_byte_identical(sse_events(body))
    wrapped = {c.type: c.payload for c in chunks if c.type.startswith("agent-execution-event-")}
    assert isinstance(wrapped["agent-execution-event-tool-output"], ToolOutput)
    data = wrapped["agent-execution-event-data-progress"]
    assert isinstance(data, DataChunk)
    assert data.model_dump(by_alias=True) == CUSTOM_CHUNKS[2]  # the last data-progress


async def test_a_workflow_agent_step_carries_tool_progress(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/workflows/writer-workflow/create-run") as answer:
            run_id = (await answer.json())["runId"]
        async with session.post(
            f"{base}/api/workflows/writer-workflow/stream?runId={run_id}", json={"inputData": {}}
        ) as answer:
            assert answer.status == 200
            body = await answer.read()
    records = [r for r in body.split(b"\x1e") if r]
    chunks = check_byte_identical(records)
    outputs = [c.payload.output for c in chunks if c.type == "workflow-step-output"]
    assert [o.payload.output for o in outputs if isinstance(o, ToolOutput)] == WRITTEN
    assert [o for o in outputs if isinstance(o, dict)] == CUSTOM_CHUNKS  # kept as written
    assert chunks[-1].payload.workflow_status == "success"


async def test_a_client_re_attaching_at_a_data_chunk_names_its_run(serve: Serve) -> None:
    release = asyncio.Event()

    @tool
    async def stepwise(ctx: ToolContext) -> str:
        """Report two steps, the second after a pause."""
        await ctx.writer.custom({"type": "data-step", "data": "w3"})
        await release.wait()
        await ctx.writer.custom({"type": "data-step", "data": "after"})
        return "ok"

    model = ScriptedModel([tool_step("c1", "stepwise", "{}"), text_step("done")])
    agent = Agent("a", model=model, tools=[stepwise])
    url = await serve(create_app(Runtime(agents={"a": agent})))
    proxy = CuttingProxy(int(url.rsplit(":", 1)[1]), release.set)  # cuts after "w3"
    await proxy.start()
    try:
        stream = await RemoteAgent(f"http://127.0.0.1:{proxy.port}", "a").stream("go", run_id="cut")
        chunks = [c async for c in stream]
    finally:
        await proxy.aclose()
    assert proxy.cut
    data = [c for c in chunks if isinstance(c, DataChunk)]
    assert [(c.data, c.run_id) for c in data] == [("w3", "cut"), ("after", "cut")]
    again = await RemoteAgent(url, "a").observe_run("cut")
    assert [c async for c in again] == chunks


@pytest.mark.parametrize("agent", ["writer-agent", "nested-agent", "text-pipe-agent"])
async def test_the_client_s_models_equal_the_server_s(serve: Serve, agent: str) -> None:
    log = InMemoryEventLog()  # keeps the very chunks the run emitted
    url = await serve(create_app(Runtime(agents=streaming_agents(), event_log=log)))
    stream = await RemoteAgent(url, agent).stream("go", run_id="same")
    got = [c async for c in stream]
    kept = [c async for _, c in log.read("same")]
    assert len(got) == len(kept)
    for remote, local in zip(got, kept, strict=True):
        output = getattr(local.payload, "output", None)
        if isinstance(local, ToolOutput) and isinstance(output, DataChunk):
            # a nested run's data chunk, piped: on the wire (no runId), the value it dumps to
            assert remote.payload.output == output.model_dump(by_alias=True)
        else:
            assert remote == local
