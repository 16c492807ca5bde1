"""Runs that outlive their connection, in one process: observe, ids on request, grace, cancel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel

from rxagents import Runtime
from rxagents.adapters.server import create_app
from rxagents.adapters.server._config import CONFIG
from rxagents.adapters.server._workflows import RUNS
from rxagents.agent import Agent, tool
from rxagents.errors import ConfigurationError
from rxagents.eventlog import InMemoryEventLog, RunLog, chunk_json
from rxagents.events import ChunkBase
from rxagents.models import FunctionModel, ModelCall
from rxagents.testing import assert_well_formed
from rxagents.workflow import Step, StepContext, Workflow
from tests.adapters.conftest import Serve


class Gated:
    """A model streaming ``count`` deltas that waits for ``release`` after the fourth."""

    def __init__(self, count: int = 10) -> None:
        self.count = count
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def __call__(self, call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"type": "text-start", "id": "t1"}
            for i in range(self.count):
                yield {"type": "text-delta", "id": "t1", "delta": f"w{i} "}
                if i == 3:
                    await self.release.wait()
            yield {"type": "text-end", "id": "t1"}
            yield {
                "type": "finish",
                "finishReason": "stop",
                "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            }
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def frames(body: bytes) -> list[tuple[int | None, dict[str, Any]]]:
    """Split SSE into ``(id or None, chunk)``; checks each block is ``[id: n\\n]data: json``."""
    text = body.decode()
    assert text.endswith("data: [DONE]\n\n")
    result: list[tuple[int | None, dict[str, Any]]] = []
    for block in text.split("\n\n")[:-2]:
        if block.startswith(":"):
            continue
        lines = block.split("\n")
        position = None
        if lines[0].startswith("id: "):
            position = int(lines.pop(0)[4:])
        assert len(lines) == 1
        assert lines[0].startswith("data: ")
        result.append((position, json.loads(lines[0][6:])))
    return result


async def read_frames_until(response: aiohttp.ClientResponse, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        seen += await response.content.readany()
    # only whole blocks count
    return seen[: seen.rindex(b"\n\n") + 2]


def partial_frames(body: bytes) -> list[tuple[int | None, dict[str, Any]]]:
    return frames(body + b"data: [DONE]\n\n")


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["payload"]["text"] for c in chunks if c["type"] == "text-delta")


async def test_a_dropped_stream_is_re_attached_every_chunk_once_in_order(serve: Serve) -> None:
    model = Gated()
    base = await serve(create_app(Runtime(agents={"a": Agent("a", model=FunctionModel(model))})))
    async with aiohttp.ClientSession() as session:
        first = await session.post(
            f"{base}/api/agents/a/stream",
            json={"messages": "hi", "runId": "run-1"},
            headers={"X-Event-Ids": "1"},
        )
        head = partial_frames(await read_frames_until(first, b"w3"))
        first.close()  # the connection drops mid-run
        positions = [p for p, _ in head]
        assert positions == list(range(len(head)))
        model.release.set()
        async with session.post(
            f"{base}/api/agents/a/observe", json={"runId": "run-1", "offset": positions[-1] + 1}
        ) as again:
            tail = frames(await again.read())
        assert all(p is None for p, _ in tail)  # no ids unless asked
        async with session.post(
            f"{base}/api/agents/a/observe",
            json={"runId": "run-1"},
            headers={"Last-Event-ID": str(positions[1])},
        ) as by_id:
            by_last_id = frames(await by_id.read())
        async with session.post(f"{base}/api/agents/a/observe", json={"runId": "run-1"}) as whole:
            everything = [c for _, c in frames(await whole.read())]
    rejoined = [c for _, c in head] + [c for _, c in tail]
    assert rejoined == everything
    assert [p for p, _ in by_last_id] == list(range(2, len(everything)))
    assert [c for _, c in by_last_id] == everything[2:]
    assert text_of(everything) == "".join(f"w{i} " for i in range(10))
    assert_well_formed(everything)


async def test_ids_are_sent_only_to_clients_that_ask(serve: Serve) -> None:
    model = Gated(count=2)
    model.release.set()
    base = await serve(create_app(Runtime(agents={"a": Agent("a", model=FunctionModel(model))})))
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/agents/a/stream", json={"messages": "hi"}) as plain:
            body = await plain.read()
        assert b"\nid: " not in body
        assert not body.startswith(b"id:")
        run_id = frames(body)[0][1]["runId"]
        async with session.post(
            f"{base}/api/agents/a/observe?eventIds=1", json={"runId": run_id, "offset": 1}
        ) as with_ids:
            positions = [p for p, _ in frames(await with_ids.read())]
        assert positions == list(range(1, len(frames(body))))


async def test_unknown_runs_are_404_json_before_streaming(serve: Serve) -> None:
    workflow = asking()
    runtime = Runtime(
        agents={"a": Agent("a", model=FunctionModel(Gated()))}, workflows={"w": workflow}
    )
    base = await serve(create_app(runtime))
    async with aiohttp.ClientSession() as session:
        for url, body in (
            (f"{base}/api/agents/a/observe", {"runId": "nope"}),
            (f"{base}/api/workflows/w/observe?runId=nope", {}),
            (f"{base}/api/agents/a/runs/nope/cancel", {}),
            (f"{base}/api/workflows/w/runs/nope/cancel", {}),
        ):
            async with session.post(url, json=body) as response:
                assert response.status == 404, url
                assert response.content_type == "application/json"
        async with session.post(f"{base}/api/agents/a/observe", json={}) as response:
            assert response.status == 400
        async with session.post(
            f"{base}/api/agents/a/observe", json={"runId": "x", "offset": -1}
        ) as response:
            assert response.status == 400


@pytest.mark.parametrize("reattach", [True, False])
async def test_orphan_grace_keeps_a_run_for_a_re_attach_and_cancels_it_without(
    serve: Serve, reattach: bool
) -> None:
    model = Gated()
    grace = 60.0 if reattach else 0.05
    runtime = Runtime(agents={"a": Agent("a", model=FunctionModel(model))})
    app = create_app(runtime, orphan_grace=grace)
    base = await serve(app)
    async with aiohttp.ClientSession() as session:
        first = await session.post(
            f"{base}/api/agents/a/stream", json={"messages": "hi", "runId": "r"}
        )
        await read_frames_until(first, b"w3")
        first.close()
        if reattach:
            observe = session.post(f"{base}/api/agents/a/observe", json={"runId": "r"})
            async with observe as response:
                await read_frames_until(response, b"w3")
                model.release.set()
                chunks = [c for _, c in frames(await response.read())]
            assert chunks[-1]["type"] == "finish"
            assert not model.cancelled.is_set()
        else:
            await asyncio.wait_for(model.cancelled.wait(), 10.0)
            async with session.post(f"{base}/api/agents/a/observe", json={"runId": "r"}) as again:
                chunks = [c for _, c in frames(await again.read())]
            assert chunks[-1]["type"] == "abort"
    assert app[CONFIG].runs.owned == 0  # a finished run is not kept by the server


async def test_cancel_route_stops_the_run_and_its_tool(serve: Serve) -> None:
    started = asyncio.Event()
    tool_cancelled = asyncio.Event()

    @tool
    async def wait_forever(topic: str) -> str:
        """Wait for ever."""
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            tool_cancelled.set()
            raise
        return topic

    async def model(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        yield {
            "type": "tool-call",
            "toolCallId": "c1",
            "toolName": "wait_forever",
            "input": '{"topic": "x"}',
        }
        yield {
            "type": "finish",
            "finishReason": "tool-calls",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        }

    agent = Agent("a", model=FunctionModel(model), tools=[wait_forever])
    base = await serve(create_app(Runtime(agents={"a": agent})))
    async with aiohttp.ClientSession() as session:
        running = await session.post(
            f"{base}/api/agents/a/stream", json={"messages": "hi", "runId": "c"}
        )
        await started.wait()
        async with session.post(f"{base}/api/agents/a/runs/c/cancel") as cancel:
            assert cancel.status == 200
            assert await cancel.json() == {"message": "Agent run cancelled", "cancelled": True}
        chunks = [c for _, c in frames(await running.read())]
        await asyncio.wait_for(tool_cancelled.wait(), 10.0)
        assert chunks[-1]["type"] == "abort"
        async with session.post(f"{base}/api/agents/a/runs/c/cancel") as again:
            assert (await again.json())["cancelled"] is False


class Value(BaseModel):
    value: str


async def _ask(ctx: StepContext[Value]) -> Value | None:
    if ctx.resume_data is None:
        await ctx.suspend({"question": "ok?"})
        return None
    return Value(value=ctx.input_data.value + ctx.resume_data.value)


def asking() -> Workflow:
    return (
        Workflow("w", Value, Value)
        .then(Step("ask", Value, Value, _ask, resume_schema=Value))
        .commit()
    )


def records(body: bytes) -> list[dict[str, Any]]:
    assert body.endswith(b"\x1e")
    return [json.loads(part) for part in body.split(b"\x1e")[:-1]]


async def test_a_workflow_run_is_observed_across_its_resumption_and_released(serve: Serve) -> None:
    workflow = asking()
    app = create_app(Runtime(workflows={"w": workflow}))
    base = await serve(app)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/workflows/w/create-run?runId=wr") as created:
            assert (await created.json()) == {"runId": "wr"}
        assert len(app[RUNS]) == 1
        async with session.post(
            f"{base}/api/workflows/w/stream?runId=wr", json={"inputData": {"value": "a"}}
        ) as s:
            first = records(await s.read())
        assert len(app[RUNS]) == 0  # started: not remembered by the server any more
        async with session.post(
            f"{base}/api/workflows/w/resume-stream?runId=wr",
            json={"step": "ask", "resumeData": {"value": "b"}},
        ) as r:
            second = records(await r.read())
        async with session.post(f"{base}/api/workflows/w/observe?runId=wr") as o:
            whole = records(await o.read())
        async with session.post(
            f"{base}/api/workflows/w/observe?runId=wr&offset={len(first) + 1}"
        ) as o:
            tail = records(await o.read())
        async with session.post(f"{base}/api/workflows/w/runs/wr/cancel") as cancelled:
            assert await cancelled.json() == {"message": "Workflow run cancelled"}
    assert first[-1]["payload"]["workflowStatus"] == "suspended"
    assert second[-1]["payload"]["workflowStatus"] == "success"
    assert whole == first + second
    assert tail == second[1:]
    assert app[CONFIG].runs.owned == 0


async def test_a_created_run_that_never_started_is_cancelled_by_the_route(serve: Serve) -> None:
    workflow = asking()
    app = create_app(Runtime(workflows={"w": workflow}))
    base = await serve(app)
    async with aiohttp.ClientSession() as session:
        await session.post(f"{base}/api/workflows/w/create-run?runId=p")
        async with session.post(f"{base}/api/workflows/w/runs/p/cancel") as cancelled:
            assert await cancelled.json() == {"message": "Workflow run cancelled"}
    assert len(app[RUNS]) == 0


def test_the_runtime_takes_an_event_log() -> None:
    log = InMemoryEventLog()
    assert Runtime(event_log=log).event_log is log
    assert isinstance(Runtime().event_log, InMemoryEventLog)
    with pytest.raises(ConfigurationError):
        Runtime(event_log="redis://nowhere")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        create_app(Runtime(), orphan_grace=-1)


async def test_a_served_agent_run_keeps_text_deltas_compact_and_sends_the_same_bytes(
    serve: Serve,
) -> None:
    texts = ["plain ", 'say "hi" ', "back\\slash\n", "\x00\x1f\t", "é 漢 😀 \u2028"]

    async def model(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        yield {"type": "text-start", "id": "t1"}
        for text in texts:
            yield {"type": "text-delta", "id": "t1", "delta": text}
        yield {"type": "text-end", "id": "t1"}
        yield {
            "type": "finish",
            "finishReason": "stop",
            "usage": {"inputTokens": 1, "outputTokens": 5, "totalTokens": 6},
        }

    log = InMemoryEventLog()
    runtime = Runtime(agents={"a": Agent("a", model=FunctionModel(model))}, event_log=log)
    base = await serve(create_app(runtime))
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base}/api/agents/a/stream", json={"messages": "hi", "runId": "compact-1"}
        ) as response,
    ):
        body = await response.read()
    stored = log._get("compact-1").buffer
    assert sum(type(item) is tuple for item in stored) == len(texts)  # kept unbuilt
    chunks = [chunk async for _, chunk in log.read("compact-1")]
    assert text_of([c.model_dump(by_alias=True) for c in chunks]) == "".join(texts)
    lines = body.split(b"\n\n")[:-2]  # the frames before [DONE]
    assert lines == [b"data: " + chunk_json(chunk) for chunk in chunks]
    assert_well_formed([json.loads(line[6:]) for line in lines])


class _ChunksOnlyRunLog:
    """A run log without the compact mark: it must be given chunks only."""

    def __init__(self, inner: RunLog, appended: list[Any]) -> None:
        self._inner = inner
        self._appended = appended
        self.run_id = inner.run_id
        self.kind = inner.kind

    @property
    def length(self) -> int:
        return self._inner.length

    @property
    def buffer(self) -> None:
        return None

    @property
    def is_open(self) -> bool:
        return self._inner.is_open

    def append(self, chunk: ChunkBase) -> None:
        self._appended.append(chunk)
        self._inner.append(chunk)

    def end(self) -> None:
        self._inner.end()

    async def flush(self) -> None:
        await self._inner.flush()


class _ChunksOnlyLog:
    """An event log (the in-memory one inside) whose run logs take chunks only."""

    def __init__(self) -> None:
        self.inner = InMemoryEventLog()
        self.appended: list[Any] = []

    def open(self, run_id: str, **options: Any) -> RunLog:
        return _ChunksOnlyRunLog(self.inner.open(run_id, **options), self.appended)

    async def create(self, run_id: str, **options: Any) -> RunLog:
        return self.open(run_id, **options)

    def read(self, run_id: str, offset: int = 0) -> Any:
        return self.inner.read(run_id, offset)

    def read_json(self, run_id: str, offset: int = 0) -> Any:
        return self.inner.read_json(run_id, offset)

    def read_json_batches(self, run_id: str, offset: int = 0) -> Any:
        return self.inner.read_json_batches(run_id, offset)

    async def info(self, run_id: str) -> Any:
        return await self.inner.info(run_id)

    async def request_cancel(self, run_id: str) -> bool:
        return await self.inner.request_cancel(run_id)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_log_without_the_compact_mark_gets_chunks_only(serve: Serve) -> None:
    model = Gated(count=5)
    model.release.set()
    log = _ChunksOnlyLog()
    runtime = Runtime(agents={"a": Agent("a", model=FunctionModel(model))}, event_log=log)
    base = await serve(create_app(runtime))
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base}/api/agents/a/stream", json={"messages": "hi"}) as response,
    ):
        body = await response.read()
    assert log.appended
    assert all(isinstance(chunk, ChunkBase) for chunk in log.appended)
    assert text_of([c for _, c in frames(body)]) == "".join(f"w{i} " for i in range(5))
