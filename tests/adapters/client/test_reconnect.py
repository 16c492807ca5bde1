"""The client follows a run across a dropped connection, re-attaches later, and cancels it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import BaseModel

from rxagents import Runtime, ToolContext
from rxagents.adapters.client import RemoteAgent, RemoteWorkflow
from rxagents.adapters.server import create_app
from rxagents.agent import Agent, AgentStream, tool
from rxagents.errors import ConfigurationError, MalformedStreamError, RemoteError
from rxagents.models import FunctionModel, ModelCall
from rxagents.testing import assert_well_formed
from rxagents.workflow import Step, StepContext, Workflow
from tests.adapters.conftest import Serve

USAGE = {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}
TEXT = "".join(f"w{i} " for i in range(10))


class Gated:
    """Streams ten deltas, waiting for ``release`` after the fourth."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def __call__(self, call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"type": "text-start", "id": "t1"}
            for i in range(10):
                yield {"type": "text-delta", "id": "t1", "delta": f"w{i} "}
                if i == 3:
                    await self.release.wait()
            yield {"type": "text-end", "id": "t1"}
            yield {"type": "finish", "finishReason": "stop", "usage": USAGE}
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


class CuttingProxy:
    """A TCP proxy in front of a server: it cuts the first answer to ``route`` after ``marker``."""

    def __init__(
        self,
        upstream_port: int,
        on_cut: Callable[[], None],
        *,
        route: bytes = b"/stream",
        marker: bytes = b"w3",
    ) -> None:
        self.upstream_port = upstream_port
        self.on_cut = on_cut
        self.route = route
        self.marker = marker
        self.cut = False
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        request = await reader.read(65536)
        cut_this = not self.cut and self.route in request.split(b"\r\n", 1)[0]
        up_writer.write(request)

        async def upstream() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)

        forward = asyncio.get_running_loop().create_task(upstream())
        seen = b""
        try:
            while data := await up_reader.read(65536):
                writer.write(data)
                seen += data
                if cut_this and self.marker in seen:
                    self.cut = True
                    await writer.drain()
                    break
        finally:
            forward.cancel()
            writer.close()
            up_writer.close()
        if self.cut and cut_this:
            self.on_cut()

    async def aclose(self) -> None:
        assert self.server is not None
        self.server.close()


@pytest.fixture
async def one_request_per_connection() -> AsyncIterator[aiohttp.ClientSession]:
    """A session that opens a connection per request (the proxy judges a connection's first)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


async def test_a_stream_whose_connection_drops_re_attaches_every_chunk_once(serve: Serve) -> None:
    model = Gated()
    url = await serve(create_app(Runtime(agents={"a": Agent("a", model=FunctionModel(model))})))
    proxy = CuttingProxy(int(url.rsplit(":", 1)[1]), model.release.set)
    await proxy.start()
    remote = RemoteAgent(f"http://127.0.0.1:{proxy.port}", "a")
    stream = await remote.stream("hi", run_id="dropped")
    chunks = [chunk async for chunk in stream]
    assert proxy.cut
    assert await stream.text == TEXT
    assert_well_formed(chunks)
    again = await RemoteAgent(url, "a").observe_run("dropped")
    assert [c async for c in again] == chunks  # the server's log: the same chunks, once each
    later = await RemoteAgent(url, "a").observe_run("dropped", offset=3)
    assert [c async for c in later] == chunks[3:]
    await proxy.aclose()


async def test_cancelling_a_remote_stream_cancels_the_run_on_the_server(serve: Serve) -> None:
    model = Gated()
    app = create_app(Runtime(agents={"a": Agent("a", model=FunctionModel(model))}))
    url = await serve(app)
    remote = RemoteAgent(url, "a")
    stream = await remote.stream("hi", run_id="to-cancel")
    async for chunk in stream:
        if chunk.type == "text-delta" and chunk.payload.text == "w3 ":
            break  # the last reader leaving cancels the stream: the server is told
    await asyncio.wait_for(model.cancelled.wait(), 10.0)  # despite the 30 s orphan grace
    seen = await remote.observe_run("to-cancel")
    assert [c.type async for c in seen][-1] == "abort"
    assert await remote.cancel_run("to-cancel") is False


async def test_observe_run_refuses_unknown_runs_and_bad_offsets(serve: Serve) -> None:
    url = await serve(create_app(Runtime(agents={"a": Agent("a", model=FunctionModel(Gated()))})))
    remote = RemoteAgent(url, "a")
    stream = await remote.observe_run("nope")
    with pytest.raises(RemoteError) as refused:
        await stream.text
    assert refused.value.status == 404
    with pytest.raises(ConfigurationError):
        await remote.observe_run("x", offset=-1)
    with pytest.raises(RemoteError):
        await remote.cancel_run("nope")


class Value(BaseModel):
    value: str


async def _ask(ctx: StepContext[Value]) -> Value | None:
    if ctx.resume_data is None:
        await ctx.suspend({"question": "ok?"})
        return None
    return Value(value=ctx.input_data.value + ctx.resume_data.value)


async def test_a_remote_workflow_run_is_observed_across_resumption_and_cancelled(
    serve: Serve,
) -> None:
    workflow = (
        Workflow("w", Value, Value).then(Step("ask", Value, Value, _ask, resume_schema=Value))
    ).commit()
    url = await serve(create_app(Runtime(workflows={"w": workflow})))
    remote = RemoteWorkflow(url, "w")
    run = await remote.create_run("wr")
    first = [c async for c in await run.stream({"value": "a"})]
    resumed = await run.resume_stream("ask", {"value": "b"})
    second = [c async for c in resumed]
    assert (await resumed.result).result == {"value": "ab"}
    whole = await run.observe_run()
    assert [c async for c in whole] == first + second
    tail = await run.observe_run(offset=len(first))
    assert [c async for c in tail] == second
    pending = await remote.create_run("never")
    await pending.cancel()
    with pytest.raises(RemoteError):
        await (await pending.stream({"value": "x"})).result  # cancelled unstarted: forgotten


class PausingThenGated:
    """First call: a tool call the run pauses on (``tool``); then ``Gated``'s ten deltas."""

    def __init__(self, tool: str) -> None:
        self.tool = tool
        self.calls = 0
        self.gated = Gated()

    async def __call__(self, call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        self.calls += 1
        if self.calls == 1:
            yield {
                "type": "tool-call",
                "toolCallId": "call-1",
                "toolName": self.tool,
                "input": '{"q": "go?"}',
            }
            yield {"type": "finish", "finishReason": "tool-calls", "usage": USAGE}
            return
        async for chunk in self.gated(call):
            yield chunk


@tool(require_approval=True)
def guarded(q: str) -> str:
    """Needs an approval."""
    return q


@tool(resume_schema=Value)
async def ask(q: str, ctx: ToolContext) -> str:
    """Asks the user."""
    if ctx.resume_data is None:
        await ctx.suspend({"question": q})
    assert isinstance(ctx.resume_data, Value)
    return ctx.resume_data.value


async def _continue(remote: RemoteAgent, route: str) -> AgentStream[Any]:
    if route == "approve-tool-call":
        return await remote.approve_tool_call("p", "call-1")
    if route == "decline-tool-call":
        return await remote.decline_tool_call("p", "call-1", reason="no")
    return await remote.resume_stream({"value": "yes"}, run_id="p", tool_call_id="call-1")


@pytest.mark.parametrize("route", ["approve-tool-call", "decline-tool-call", "resume-stream"])
async def test_a_continuation_whose_connection_drops_re_attaches_every_chunk_once(
    serve: Serve, route: str, one_request_per_connection: aiohttp.ClientSession
) -> None:
    model = PausingThenGated("ask" if route == "resume-stream" else "guarded")
    agent = Agent("a", model=FunctionModel(model), tools=[guarded, ask])
    url = await serve(create_app(Runtime(agents={"a": agent})))
    proxy = CuttingProxy(int(url.rsplit(":", 1)[1]), model.gated.release.set, route=route.encode())
    await proxy.start()
    remote = RemoteAgent(f"http://127.0.0.1:{proxy.port}", "a", session=one_request_per_connection)
    paused = [chunk async for chunk in await remote.stream("hi", run_id="p")]
    assert paused[-1].type in ("tool-call-approval", "tool-call-suspended")
    stream = await _continue(remote, route)
    chunks = [chunk async for chunk in stream]
    assert proxy.cut
    assert await stream.text == TEXT
    assert chunks[-1].type == "finish"
    assert_well_formed(paused + chunks)
    whole = await RemoteAgent(url, "a").observe_run("p")
    assert [c async for c in whole] == paused + chunks  # every chunk once, in the run's order
    await proxy.aclose()


async def test_cancelling_a_remote_continuation_cancels_it_on_the_server(serve: Serve) -> None:
    model = PausingThenGated("guarded")
    agent = Agent("a", model=FunctionModel(model), tools=[guarded])
    remote = RemoteAgent(await serve(create_app(Runtime(agents={"a": agent}))), "a")
    await (await remote.stream("hi", run_id="p")).text
    stream = await remote.approve_tool_call("p", "call-1")
    async for chunk in stream:
        if chunk.type == "text-delta" and chunk.payload.text == "w3 ":
            break  # the last reader leaving cancels the stream: the server is told
    await asyncio.wait_for(model.gated.cancelled.wait(), 10.0)  # despite the 30 s orphan grace
    assert [c.type async for c in await remote.observe_run("p")][-1] == "abort"


class Gate:
    """Opened by the test (the proxy's cut); a workflow step waits for it."""

    opened: asyncio.Event | None = None


async def _wait_for_gate(ctx: StepContext[Value]) -> Value:
    assert Gate.opened is not None
    await Gate.opened.wait()
    return Value(value=ctx.input_data.value + "!")


async def test_a_workflow_resumption_whose_connection_drops_re_attaches(
    serve: Serve, one_request_per_connection: aiohttp.ClientSession
) -> None:
    Gate.opened = asyncio.Event()
    workflow = (
        Workflow("w", Value, Value)
        .then(Step("ask", Value, Value, _ask, resume_schema=Value))
        .then(Step("gate", Value, Value, _wait_for_gate))
    ).commit()
    url = await serve(create_app(Runtime(workflows={"w": workflow})))
    proxy = CuttingProxy(
        int(url.rsplit(":", 1)[1]), Gate.opened.set, route=b"/resume-stream", marker=b'"gate"'
    )
    await proxy.start()
    proxied = RemoteWorkflow(
        f"http://127.0.0.1:{proxy.port}", "w", session=one_request_per_connection
    )
    run = await proxied.create_run("wr")
    first = [c async for c in await run.stream({"value": "a"})]
    resumed = await run.resume_stream("ask", {"value": "b"})
    second = [c async for c in resumed]
    assert proxy.cut
    assert (await resumed.result).result == {"value": "ab!"}
    whole = await (await RemoteWorkflow(url, "w").create_run("wr")).observe_run()
    assert [c async for c in whole] == first + second
    await proxy.aclose()


async def test_a_continuation_is_not_re_attached_when_the_server_names_no_position(
    serve: Serve,
) -> None:
    seen: list[str] = []

    async def cut_short(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chunk = {
            "type": "text-delta",
            "runId": "p",
            "from": "AGENT",
            "payload": {"id": "t", "text": "x"},
        }
        await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        return response  # no [DONE], no X-Run-Offset: a Mastra server whose connection broke

    app = web.Application()
    app.router.add_post("/api/agents/a/approve-tool-call", cut_short)
    app.router.add_post("/api/agents/a/observe", cut_short)
    stream = await RemoteAgent(await serve(app), "a").approve_tool_call("p", "call-1")
    with pytest.raises(MalformedStreamError):
        await stream.text
    assert seen == ["/api/agents/a/approve-tool-call"]  # where it would resume is unknown
