"""The ``/chat`` and approval routes outlive their connection: grace, re-attach, positions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import reactivex

from rxagents import Runtime
from rxagents.adapters.server import create_app
from rxagents.adapters.server._config import CONFIG
from rxagents.adapters.server._runs import ServedRuns
from rxagents.agent import Agent, tool
from rxagents.eventlog import InMemoryEventLog
from rxagents.models import FunctionModel, ModelCall
from rxagents.testing import assert_well_formed
from tests.adapters.conftest import Serve
from tests.adapters.server.test_resumable import Gated, asking, frames, text_of
from tests.adapters.server.test_server import _router, network_runtime

CHAT = {"messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]}
USAGE = {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}
TEXT = "".join(f"w{i} " for i in range(10))


async def read_until(response: aiohttp.ClientResponse, marker: bytes) -> bytes:
    """Read until ``marker`` has arrived; returns every byte read (a block may be cut)."""
    seen = b""
    while marker not in seen:
        seen += await response.content.readany()
    return seen


def whole_blocks(body: bytes) -> list[tuple[int | None, dict[str, Any]]]:
    """The complete SSE blocks of a body cut short."""
    return frames(body[: body.rindex(b"\n\n") + 2] + b"data: [DONE]\n\n")


def ui_text(parts: list[dict[str, Any]]) -> str:
    return "".join(p["delta"] for p in parts if p["type"] == "text-delta")


def gated_agent(model: Gated) -> Runtime:
    return Runtime(agents={"a": Agent("a", model=FunctionModel(model))})


async def test_a_dropped_chat_keeps_its_run_and_re_attaches_as_the_same_ui_stream(
    serve: Serve,
) -> None:
    model = Gated()
    app = create_app(gated_agent(model), orphan_grace=60.0)
    base = await serve(app)
    async with aiohttp.ClientSession() as session:
        first = await session.post(f"{base}/api/agents/a/chat", json=CHAT)
        run_id = first.headers["X-Run-Id"]
        head = [part for _, part in whole_blocks(await read_until(first, b"w3"))]
        first.close()  # the client leaves mid-run
        url = f"{base}/api/agents/a/chat/{run_id}/stream"
        async with session.get(url) as again:
            assert again.headers["x-vercel-ai-ui-message-stream"] == "v1"
            assert again.headers["X-Run-Id"] == run_id
            seen = await read_until(again, b"w3")
            model.release.set()
            reattached = [part for _, part in frames(seen + await again.read())]
        async with session.get(url) as later:
            replayed = [part for _, part in frames(await later.read())]
    assert not model.cancelled.is_set()
    assert reattached[: len(head)] == head
    assert reattached == replayed
    assert ui_text(reattached) == TEXT
    assert reattached[0]["type"] == "start"
    assert reattached[-1]["type"] == "finish"
    assert app[CONFIG].runs.owned == 0


async def test_a_chat_whose_client_leaves_is_cancelled_at_once_without_grace(
    serve: Serve,
) -> None:
    model = Gated()
    base = await serve(create_app(gated_agent(model), orphan_grace=0))
    async with aiohttp.ClientSession() as session:
        first = await session.post(f"{base}/api/agents/a/chat", json=CHAT)
        await read_until(first, b"w3")
        first.close()
        await asyncio.wait_for(model.cancelled.wait(), 10.0)


async def test_chat_re_attach_refuses_unknown_runs_with_404_json(serve: Serve) -> None:
    base = await serve(create_app(gated_agent(Gated())))
    async with aiohttp.ClientSession() as session:
        for path in ("/api/agents/a/chat/nope/stream", "/api/agents/a/network/chat/nope/stream"):
            async with session.get(base + path) as response:
                assert response.status == 404
                assert response.content_type == "application/json"


class GatedRouter:
    """A network's routing model that waits for ``release`` before each answer."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def __call__(self, call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        try:
            self.started.set()
            await self.release.wait()
            for chunk in _router(call):
                yield chunk
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


async def test_a_dropped_network_chat_keeps_its_run_and_re_attaches(serve: Serve) -> None:
    router = GatedRouter()
    base = await serve(create_app(network_runtime(FunctionModel(router)), orphan_grace=60.0))
    async with aiohttp.ClientSession() as session:
        first = await session.post(f"{base}/api/agents/network-agent/network/chat", json=CHAT)
        run_id = first.headers["X-Run-Id"]
        await router.started.wait()  # the router's first call waits: the run is under way
        first.close()
        url = f"{base}/api/agents/network-agent/network/chat/{run_id}/stream"
        async with session.get(url) as again:
            router.release.set()
            parts = [part for _, part in frames(await again.read())]
    assert not router.cancelled.is_set()
    assert ui_text(parts) == "Dolphins are smart."
    assert parts[-1] == {"type": "finish", "finishReason": "stop"}


class PausingThenGated:
    """First call: a tool call that needs approval; then ``Gated``'s ten deltas."""

    def __init__(self) -> None:
        self.calls = 0
        self.gated = Gated()

    async def __call__(self, call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        self.calls += 1
        if self.calls == 1:
            yield {
                "type": "tool-call",
                "toolCallId": "call-1",
                "toolName": "weather",
                "input": '{"city": "Paris"}',
            }
            yield {"type": "finish", "finishReason": "tool-calls", "usage": USAGE}
            return
        async for chunk in self.gated(call):
            yield chunk


@tool(require_approval=True)
def weather(city: str) -> dict[str, int]:
    """Current weather for a city."""
    return {"temp": 21}


def pausing_agent(model: PausingThenGated) -> Runtime:
    return Runtime(agents={"a": Agent("a", model=FunctionModel(model), tools=[weather])})


@pytest.mark.parametrize("route", ["approve-tool-call", "decline-tool-call"])
async def test_a_dropped_continuation_is_re_attached_with_run_positions(
    serve: Serve, route: str
) -> None:
    model = PausingThenGated()
    app = create_app(pausing_agent(model), orphan_grace=60.0)
    base = await serve(app)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/api/agents/a/stream", json={"messages": "go", "runId": "ap"}
        ) as paused:
            pause = [chunk for _, chunk in frames(await paused.read())]
        assert pause[-1]["type"] == "tool-call-approval"
        cont = await session.post(
            f"{base}/api/agents/a/{route}",
            json={"runId": "ap", "toolCallId": "call-1"},
            headers={"X-Event-Ids": "1"},
        )
        assert cont.headers["X-Run-Offset"] == str(len(pause))
        head = whole_blocks(await read_until(cont, b"w3"))
        cont.close()  # the client leaves mid-continuation
        positions = [position for position, _ in head]
        assert positions == list(range(len(pause), len(pause) + len(head)))
        async with session.post(
            f"{base}/api/agents/a/observe", json={"runId": "ap", "offset": positions[-1] + 1}
        ) as again:
            assert again.headers["X-Run-Offset"] == str(positions[-1] + 1)
            model.gated.release.set()
            tail = [chunk for _, chunk in frames(await again.read())]
        async with session.post(f"{base}/api/agents/a/observe", json={"runId": "ap"}) as whole:
            everything = [chunk for _, chunk in frames(await whole.read())]
    assert not model.gated.cancelled.is_set()
    assert everything == pause + [chunk for _, chunk in head] + tail
    assert text_of(everything) == TEXT
    assert everything[-1]["type"] == "finish"
    assert_well_formed(everything)
    assert app[CONFIG].runs.owned == 0


async def test_a_continuation_whose_client_leaves_is_cancelled_without_grace(
    serve: Serve,
) -> None:
    model = PausingThenGated()
    base = await serve(create_app(pausing_agent(model), orphan_grace=0))
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/api/agents/a/stream", json={"messages": "go", "runId": "ap"}
        ) as paused:
            await paused.read()
        cont = await session.post(
            f"{base}/api/agents/a/approve-tool-call", json={"runId": "ap", "toolCallId": "call-1"}
        )
        await read_until(cont, b"w3")
        cont.close()
        await asyncio.wait_for(model.gated.cancelled.wait(), 10.0)
        async with session.post(f"{base}/api/agents/a/observe", json={"runId": "ap"}) as whole:
            everything = [chunk for _, chunk in frames(await whole.read())]
    assert everything[-1]["type"] == "abort"


async def test_a_chat_approval_is_a_new_segment_re_attached_as_its_ui_stream(
    serve: Serve,
) -> None:
    model = PausingThenGated()
    base = await serve(create_app(pausing_agent(model), orphan_grace=60.0))
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/agents/a/chat", json={**CHAT, "runId": "cr"}) as c:
            assert c.headers["X-Run-Id"] == "cr"
            await c.read()
        body = {**CHAT, "runId": "cr", "toolCallId": "call-1", "resumeData": {"approved": True}}
        first = await session.post(f"{base}/api/agents/a/chat", json=body)
        assert first.headers["X-Run-Id"] == "cr"
        await read_until(first, b"w3")
        first.close()
        async with session.get(f"{base}/api/agents/a/chat/cr/stream") as again:
            seen = await read_until(again, b"w3")
            model.gated.release.set()
            parts = [part for _, part in frames(seen + await again.read())]
        async with session.post(f"{base}/api/agents/a/observe", json={"runId": "cr"}) as whole:
            everything = [chunk for _, chunk in frames(await whole.read())]
    assert not model.gated.cancelled.is_set()
    assert ui_text(parts) == TEXT  # the continuation only, as the approving response sent it
    assert "tool-output-available" in [p["type"] for p in parts]  # the approved call ran
    assert text_of(everything) == TEXT  # the whole run: the pause, then the continuation
    assert_well_formed(everything)


async def test_a_workflow_chat_is_re_attached_as_its_ui_stream(serve: Serve) -> None:
    base = await serve(create_app(Runtime(workflows={"w": asking()})))
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/api/workflows/w/chat", json={"inputData": {"value": "a"}}
        ) as chat:
            run_id = chat.headers["X-Run-Id"]
            sent = [part for _, part in frames(await chat.read())]
        async with session.get(f"{base}/api/workflows/w/chat/{run_id}/stream") as again:
            replayed = [part for _, part in frames(await again.read())]
        async with session.get(f"{base}/api/workflows/w/chat/nope/stream") as missing:
            assert missing.status == 404
    assert replayed == sent
    [state] = [p for p in sent if p["type"] == "data-workflow"][-1:]
    assert state["data"]["status"] == "suspended"


class _Endless:
    """A started run that never ends by itself; records its cancel."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.observable = reactivex.never()

    def cancel(self) -> None:
        self.cancelled.set()


async def test_a_run_that_no_reader_joins_is_cancelled_after_the_grace() -> None:
    runs = ServedRuns(InMemoryEventLog(), orphan_grace=0.01)
    run = _Endless()
    await runs.start("lonely", "lonely", "agent", run)
    await asyncio.wait_for(run.cancelled.wait(), 10.0)


async def test_a_reader_of_the_run_counts_for_its_continuation() -> None:
    runs = ServedRuns(InMemoryEventLog(), orphan_grace=0.01)
    continuation = _Endless()
    async with runs.reading("r"):  # a reader of the run (observe) when its continuation starts
        await runs.start("r~1", "r", "agent", continuation)
        assert runs._live["r"].orphaned is None  # no orphan cancel pending: the run has a reader
    await asyncio.wait_for(continuation.cancelled.wait(), 10.0)  # the last reader left
