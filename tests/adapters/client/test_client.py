"""The Python client: RemoteAgent against our server and against fake servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import BaseModel
from pytest_aiohttp import AiohttpServer
from reactivex import operators as ops

from rxagents.adapters.client import RemoteAgent, RemoteWorkflow, RemoteWorkflowRun, RetryPolicy
from rxagents.adapters.client._endpoint import Endpoint
from rxagents.adapters.client._http import RemoteCall, remote_stream
from rxagents.adapters.server import create_app
from rxagents.agent import Agent, AgentStream, tool
from rxagents.errors import ChunkParseError, ConfigurationError, MalformedStreamError, RemoteError
from rxagents.events import Chunk, DataChunk
from rxagents.memory import Memory
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.network import NetworkStream
from rxagents.runtime import Runtime as RxRuntime
from rxagents.testing import assert_well_formed
from rxagents.usage import Usage
from rxagents.workflow import Step, StepContext, Workflow, WorkflowStream


@dataclass
class Runtime:
    agents: dict[str, Any] = field(default_factory=dict)
    workflows: dict[str, Any] = field(default_factory=dict)
    storage: Any = None

    def get_agent(self, key: str) -> Any:
        return self.agents[key]

    def get_workflow(self, key: str) -> Any:
        return self.workflows[key]


def usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


@tool
def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temp": 21}


TOOL_STEPS = [
    [
        {"type": "tool-input-start", "id": "c1", "toolName": "weather"},
        {"type": "tool-input-delta", "id": "c1", "delta": '{"city":"Paris"}'},
        {"type": "tool-input-end", "id": "c1"},
        {
            "type": "tool-call",
            "toolCallId": "c1",
            "toolName": "weather",
            "input": '{"city":"Paris"}',
        },
        {"type": "finish", "finishReason": "tool-calls", "usage": usage(15, 5)},
    ],
    [
        {"type": "text-start", "id": "t2"},
        {"type": "text-delta", "id": "t2", "delta": "It is "},
        {"type": "text-delta", "id": "t2", "delta": "21C"},
        {"type": "text-end", "id": "t2"},
        {"type": "finish", "finishReason": "stop", "usage": usage(30, 8)},
    ],
]


def tool_agent() -> Agent:
    return Agent("tool-agent", model=ScriptedModel(TOOL_STEPS, cycle=True), tools=[weather])


@pytest.fixture
async def base(serve: Callable[[web.Application], Awaitable[str]]) -> str:
    return await serve(create_app(Runtime(agents={"tool-agent": tool_agent()}), token="tok"))


async def collect(observable: Any) -> list[Any]:
    result: list[Any] = await observable.pipe(ops.to_list())
    return result


def no_wait_policy(sleeps: list[float], **kw: Any) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryPolicy(retry_statuses=frozenset({502, 503, 504}), jitter=0.0, sleep=sleep, **kw)


async def fake_server(
    aiohttp_server: AiohttpServer, handler: Any, path: str = "/api/agents/a/stream"
) -> TestServer:
    app = web.Application()
    app.router.add_post(path, handler)
    return await aiohttp_server(app)


async def raw_body(body: bytes, *, content_type: str = "text/event-stream") -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": content_type})
        await response.prepare(request)
        for piece in (body[: len(body) // 3], body[len(body) // 3 :]):  # split mid-event
            await response.write(piece)
        await response.write_eof()
        return response

    return handler


def wire(kind: str, payload: dict[str, Any], run_id: str = "r1") -> bytes:
    return json.dumps({"type": kind, "runId": run_id, "from": "AGENT", "payload": payload}).encode()


START = wire("start", {"id": "a", "messageId": "m"})
FINISH = wire(
    "finish", {"stepResult": {"reason": "stop"}, "output": {"text": "", "usage": usage(1, 1)}}
)


# --- against our server ---------------------------------------------------------------------


async def test_observe_gives_the_same_typed_chunks_as_a_local_run(base: str) -> None:
    remote = RemoteAgent(base, "tool-agent", token="tok")
    chunks = await collect(remote.observe("weather?"))
    local = await collect(tool_agent().observe("weather?"))
    assert [c.type for c in chunks] == [c.type for c in local]
    assert all(isinstance(c, type(o)) for c, o in zip(chunks, local, strict=True))
    assert_well_formed(chunks, kind="agent")


async def test_stream_gives_an_agent_stream_with_its_results(base: str) -> None:
    remote = RemoteAgent(base, "tool-agent", token="tok")
    stream = await remote.stream("weather?", run_id="run-7", max_steps=3)
    assert isinstance(stream, AgentStream)
    assert stream.run_id == "run-7"
    assert [t async for t in stream.text_stream] == ["It is ", "21C"]
    assert await stream.text == "It is 21C"
    assert await stream.finish_reason == "stop"
    assert await stream.usage == Usage(input_tokens=45, output_tokens=13)
    assert [c.tool_name for c in await stream.tool_calls] == ["weather"]
    assert {c.run_id for c in stream.chunks} == {"run-7"}
    assert [m["role"] for m in stream.response_messages] == ["assistant", "tool", "assistant"]
    assert stream.response_messages[1]["content"][0]["output"] == {
        "type": "json",
        "value": {"city": "Paris", "temp": 21},
    }


async def test_a_remote_agent_stream_has_no_structured_output(base: str) -> None:
    stream = await RemoteAgent(base, "tool-agent", token="tok").stream("weather?")
    assert await stream.text == "It is 21C"
    with pytest.raises(ConfigurationError, match="no structured output"):
        await stream.object


async def test_describe_reads_the_agent(base: str) -> None:
    info = await RemoteAgent(base, "tool-agent", token="tok").describe()
    assert info["id"] == "tool-agent"
    assert "weather" in info["tools"]


@pytest.mark.parametrize(
    ("agent_id", "token", "messages", "status"),
    [
        ("nope", "tok", "hi", 404),
        ("tool-agent", None, "hi", 401),
        ("tool-agent", "wrong", "hi", 401),
        ("tool-agent", "tok", [], 400),
    ],
)
async def test_refusals_are_remote_errors_before_any_chunk(
    base: str, agent_id: str, token: str | None, messages: Any, status: int
) -> None:
    received: list[Chunk] = []
    remote = RemoteAgent(base, agent_id, token=token)
    with pytest.raises(RemoteError) as caught:
        await remote.observe(messages).pipe(ops.do_action(received.append), ops.to_list())
    assert caught.value.status == status
    assert isinstance(caught.value.error["error"], str)
    assert received == []


async def test_invalid_options_come_back_with_issues(base: str) -> None:
    remote = RemoteAgent(base, "tool-agent", token="tok")
    with pytest.raises(RemoteError) as caught:
        await collect(remote.observe("hi", max_steps=0))
    assert caught.value.status == 400
    assert caught.value.error["issues"][0]["path"] == ["maxSteps"]


async def test_a_remote_agent_can_be_served_again(
    base: str, serve: Callable[[web.Application], Awaitable[str]]
) -> None:
    """A gateway: our server serving a RemoteAgent that points at another server."""
    upstream = RemoteAgent(base, "tool-agent", token="tok")
    proxy = await serve(create_app(RxRuntime(agents={"tool-agent": upstream})))
    stream = await RemoteAgent(proxy, "tool-agent").stream("weather?")
    assert await stream.text == "It is 21C"


# --- cancellation closes the connection -----------------------------------------------------


class Hanging:
    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    async def __call__(self, call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"type": "text-start", "id": "t1"}
            yield {"type": "text-delta", "id": "t1", "delta": "partial"}
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        yield {"type": "finish", "finishReason": "stop"}  # never reached


async def test_disposing_observe_closes_the_connection_and_the_server_cancels_the_run(
    serve: Callable[[web.Application], Awaitable[str]],
) -> None:
    model = Hanging()
    url = await serve(
        create_app(
            Runtime(agents={"slow": Agent("slow", model=FunctionModel(model))}), orphan_grace=0
        )
    )
    got_delta = asyncio.Event()

    def on_next(chunk: Chunk) -> None:
        if chunk.type == "text-delta":
            got_delta.set()

    subscription = RemoteAgent(url, "slow").observe("hi").subscribe(on_next)
    await got_delta.wait()
    subscription.dispose()
    await asyncio.wait_for(model.cancelled.wait(), 1.0)


async def test_cancelling_a_remote_stream_closes_what_is_open_and_the_connection(
    serve: Callable[[web.Application], Awaitable[str]],
) -> None:
    model = Hanging()
    url = await serve(
        create_app(Runtime(agents={"slow": Agent("slow", model=FunctionModel(model))}))
    )
    stream = await RemoteAgent(url, "slow").stream("hi")
    async for text in stream.text_stream:
        assert text == "partial"
        break  # the last reader leaving cancels the run
    await asyncio.wait_for(model.cancelled.wait(), 1.0)
    assert [c.type for c in stream.chunks][-2:] == ["text-end", "abort"]
    assert await stream.finish_reason == "abort"


async def test_the_server_sees_the_close_when_a_subscription_is_disposed(
    aiohttp_server: AiohttpServer,
) -> None:
    closed = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: " + START + b"\n\n")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:  # TestServer cancels the handler when the client leaves
            closed.set()
            raise
        return response

    server = await fake_server(aiohttp_server, handler)
    first = asyncio.Event()
    subscription = (
        RemoteAgent(str(server.make_url("")), "a").observe("hi").subscribe(lambda _: first.set())
    )
    await first.wait()
    subscription.dispose()
    await asyncio.wait_for(closed.wait(), 1.0)


# --- framing --------------------------------------------------------------------------------


async def test_sse_without_done_is_a_malformed_stream(aiohttp_server: AiohttpServer) -> None:
    server = await fake_server(aiohttp_server, await raw_body(b"data: " + START + b"\n\n"))
    received: list[Chunk] = []
    with pytest.raises(MalformedStreamError, match=r"\[DONE\]"):
        await (
            RemoteAgent(str(server.make_url("")), "a")
            .observe("hi")
            .pipe(ops.do_action(received.append), ops.to_list())
        )
    assert [c.type for c in received] == ["start"]


async def test_sse_ending_in_a_partial_event_is_a_malformed_stream(
    aiohttp_server: AiohttpServer,
) -> None:
    server = await fake_server(
        aiohttp_server, await raw_body(b"data: " + START + b'\n\ndata: {"ty')
    )
    with pytest.raises(MalformedStreamError, match="middle of an event"):
        await collect(RemoteAgent(str(server.make_url("")), "a").observe("hi"))


async def test_an_sse_event_over_the_size_cap_is_a_malformed_stream(
    aiohttp_server: AiohttpServer,
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: " + START + b"\n\ndata: ")
        megabyte = b"x" * (1024 * 1024)
        with contextlib.suppress(ConnectionResetError):  # the client leaves past the cap
            for _ in range(17):
                await response.write(megabyte)
            await response.write_eof()
        return response

    server = await fake_server(aiohttp_server, handler)
    received: list[Chunk] = []
    with pytest.raises(MalformedStreamError, match="larger than 16777216 bytes"):
        await (
            RemoteAgent(str(server.make_url("")), "a")
            .observe("hi")
            .pipe(ops.do_action(received.append), ops.to_list())
        )
    assert [c.type for c in received] == ["start"]


async def test_150_remote_streams_are_all_in_flight_at_once(
    aiohttp_server: AiohttpServer,
) -> None:
    streams = 150  # more than aiohttp's default pool of 100 connections
    in_flight = 0
    all_in = asyncio.Event()
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: " + START + b"\n\n")
        in_flight += 1
        if in_flight == streams:
            all_in.set()
        await release.wait()
        await response.write(b"data: " + FINISH + b"\n\ndata: [DONE]\n\n")
        await response.write_eof()
        return response

    server = await fake_server(aiohttp_server, handler)
    agent = RemoteAgent(str(server.make_url("")), "a")
    tasks = [asyncio.create_task(collect(agent.observe("hi"))) for _ in range(streams)]
    async with asyncio.timeout(30):  # fails here if some streams wait for a connection
        await all_in.wait()
    release.set()
    results = await asyncio.gather(*tasks)
    assert [[c.type for c in chunks] for chunks in results] == [["start", "finish"]] * streams


async def test_a_chunk_that_does_not_parse_is_an_error(aiohttp_server: AiohttpServer) -> None:
    bad = b'data: {"type": "text-delta", "runId": "r", "from": "AGENT", "payload": {}}\n\n'
    server = await fake_server(aiohttp_server, await raw_body(bad + b"data: [DONE]\n\n"))
    with pytest.raises(ChunkParseError, match="text-delta"):
        await collect(RemoteAgent(str(server.make_url("")), "a").observe("hi"))
    not_json = await fake_server(aiohttp_server, await raw_body(b"data: {oops\n\ndata: [DONE]\n\n"))
    with pytest.raises(ChunkParseError):
        await collect(RemoteAgent(str(not_json.make_url("")), "a").observe("hi"))


async def test_custom_data_chunks_arrive_naming_their_run(aiohttp_server: AiohttpServer) -> None:
    custom = b'data: {"type": "data-progress", "data": {"pct": 50}, "transient": true}\n\n'
    unknown = wire("some-future-chunk", {"x": 1})  # an enveloped type we do not know: skipped
    body = b"".join(b"data: " + event + b"\n\n" for event in (START, custom[6:-2], unknown, FINISH))
    server = await fake_server(aiohttp_server, await raw_body(body + b"data: [DONE]\n\n"))
    chunks = await collect(RemoteAgent(str(server.make_url("")), "a").observe("hi"))
    assert [c.type for c in chunks] == ["start", "data-progress", "finish"]
    data = chunks[1]
    assert isinstance(data, DataChunk)
    assert (data.run_id, data.data, data.transient) == ("r1", {"pct": 50}, True)
    assert data.model_dump(by_alias=True) == json.loads(custom[6:])


async def test_foreign_sse_forms_are_read(aiohttp_server: AiohttpServer) -> None:
    body = (
        b": ping\n\n"
        + b"event: message\nid: 1\ndata: "
        + START
        + b"\n\n"
        + b"data: "
        + FINISH
        + b"\r\n\r\n"  # CRLF from here on
        + b"data: [DONE]\r\n\r\n"
    )
    server = await fake_server(aiohttp_server, await raw_body(body))
    chunks = await collect(RemoteAgent(str(server.make_url("")), "a").observe("hi"))
    assert [c.type for c in chunks] == ["start", "finish"]


async def test_records_framing_reads_chunks_and_refuses_a_partial_record(
    aiohttp_server: AiohttpServer,
) -> None:
    path = "/api/workflows/w/stream"
    good = await fake_server(
        aiohttp_server,
        await raw_body(START + b"\x1e" + FINISH + b"\x1e", content_type="text/plain"),
        path,
    )
    call = RemoteCall(
        str(good.make_url(path)), {}, {}, "records", None, RetryPolicy.disabled(), None
    )
    assert [c.type for c in await collect(remote_stream(call))] == ["start", "finish"]
    bad = await fake_server(
        aiohttp_server,
        await raw_body(START + b"\x1e" + FINISH[:10], content_type="text/plain"),
        path,
    )
    call = RemoteCall(
        str(bad.make_url(path)), {}, {}, "records", None, RetryPolicy.disabled(), None
    )
    with pytest.raises(MalformedStreamError, match="record"):
        await collect(remote_stream(call))


async def test_a_record_over_the_size_cap_is_a_malformed_stream(
    aiohttp_server: AiohttpServer,
) -> None:
    path = "/api/workflows/w/stream"

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(START + b"\x1e")
        megabyte = b"x" * (1024 * 1024)
        with contextlib.suppress(ConnectionResetError):  # the client leaves past the cap
            for _ in range(17):
                await response.write(megabyte)
            await response.write_eof()
        return response

    server = await fake_server(aiohttp_server, handler, path)
    call = RemoteCall(
        str(server.make_url(path)), {}, {}, "records", None, RetryPolicy.disabled(), None
    )
    received: list[Chunk] = []
    with pytest.raises(MalformedStreamError, match="larger than 16777216 bytes"):
        await remote_stream(call).pipe(ops.do_action(received.append), ops.to_list())
    assert [c.type for c in received] == ["start"]


# --- retries --------------------------------------------------------------------------------


async def test_502_503_504_before_the_answer_are_retried(aiohttp_server: AiohttpServer) -> None:
    statuses = [503, 502, 504]
    attempts: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        attempts.append(1)
        if statuses:
            status = statuses.pop(0)
            headers = {"Retry-After": "0.5"} if status == 503 else {}
            return web.json_response({"error": "busy"}, status=status, headers=headers)
        return web.Response(
            body=b"data: " + START + b"\n\ndata: " + FINISH + b"\n\ndata: [DONE]\n\n",
            content_type="text/event-stream",
        )

    server = await fake_server(aiohttp_server, handler)
    sleeps: list[float] = []
    remote = RemoteAgent(
        str(server.make_url("")), "a", retry=no_wait_policy(sleeps, max_attempts=4)
    )
    chunks = await collect(remote.observe("hi"))
    assert [c.type for c in chunks] == ["start", "finish"]
    assert len(attempts) == 4
    assert sleeps[0] == 0.5  # Retry-After honoured


@pytest.mark.parametrize("status", [500, 429, 400])
async def test_other_statuses_are_not_retried(aiohttp_server: AiohttpServer, status: int) -> None:
    attempts: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        attempts.append(1)
        return web.Response(status=status, text="plain failure")

    server = await fake_server(aiohttp_server, handler)
    remote = RemoteAgent(str(server.make_url("")), "a", retry=no_wait_policy([]))
    with pytest.raises(RemoteError) as caught:
        await collect(remote.observe("hi"))
    assert caught.value.status == status
    assert caught.value.error == {"error": "plain failure"}
    assert len(attempts) == 1


async def test_retries_give_up_with_the_last_error(aiohttp_server: AiohttpServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "down"}, status=503)

    server = await fake_server(aiohttp_server, handler)
    sleeps: list[float] = []
    remote = RemoteAgent(
        str(server.make_url("")), "a", retry=no_wait_policy(sleeps, max_attempts=3)
    )
    with pytest.raises(RemoteError) as caught:
        await collect(remote.observe("hi"))
    assert caught.value.status == 503
    assert len(sleeps) == 2


async def test_connection_errors_are_retried_then_raised() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    sleeps: list[float] = []
    remote = RemoteAgent(
        f"http://127.0.0.1:{port}", "a", retry=no_wait_policy(sleeps, max_attempts=3)
    )
    with pytest.raises(aiohttp.ClientConnectionError):
        await collect(remote.observe("hi"))
    assert len(sleeps) == 2


async def test_nothing_is_retried_after_the_first_chunk(aiohttp_server: AiohttpServer) -> None:
    attempts: list[int] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        attempts.append(1)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: " + START + b"\n\n")
        request.transport.close()  # type: ignore[union-attr]  # cut the connection mid-stream
        return response

    server = await fake_server(aiohttp_server, handler)
    remote = RemoteAgent(str(server.make_url("")), "a", retry=no_wait_policy([]))
    received: list[Chunk] = []
    with pytest.raises(MalformedStreamError):
        await remote.observe("hi").pipe(ops.do_action(received.append), ops.to_list())
    assert [c.type for c in received] == ["start"]
    assert len(attempts) == 1


# --- what is sent ---------------------------------------------------------------------------


async def test_options_are_sent_as_client_js_sends_them(aiohttp_server: AiohttpServer) -> None:
    seen: list[Any] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append((await request.json(), dict(request.headers)))
        return web.Response(body=b"data: [DONE]\n\n", content_type="text/event-stream")

    server = await fake_server(aiohttp_server, handler)
    remote = RemoteAgent(str(server.make_url("")), "a", token="tok", headers={"X-Trace": "1"})
    await collect(
        remote.observe(
            [{"role": "user", "content": "hi"}],
            max_steps=3,
            run_id="r1",
            temperature=0.2,
            max_output_tokens=50,
            tool_choice="auto",
            memory={"thread": "th", "resource": "me"},
            instructions="Be brief.",
        )
    )
    body, headers = seen[0]
    assert body == {
        "messages": [{"role": "user", "content": "hi"}],
        "modelSettings": {"temperature": 0.2, "maxOutputTokens": 50},
        "maxSteps": 3,
        "runId": "r1",
        "instructions": "Be brief.",
        "toolChoice": "auto",
        "memory": {"thread": "th", "resource": "me"},
    }
    assert headers["Authorization"] == "Bearer tok"
    assert headers["X-Trace"] == "1"


def test_bad_arguments_are_refused_at_call_time() -> None:
    remote = RemoteAgent("http://127.0.0.1:1", "a")
    with pytest.raises(TypeError, match="unknown option"):
        remote.observe("hi", colour="blue")
    with pytest.raises(TypeError, match="structured output"):
        remote.observe("hi", output=dict)
    with pytest.raises(TypeError, match="messages"):
        remote.observe(42)
    with pytest.raises(ConfigurationError, match="URL"):
        RemoteAgent("127.0.0.1:4111", "a")
    with pytest.raises(ConfigurationError, match="agent_id"):
        RemoteAgent("http://127.0.0.1:4111", "")


# --- remote workflows -----------------------------------------------------------------------


class Value(BaseModel):
    value: str


class Approval(BaseModel):
    approved: bool


async def _approve(ctx: StepContext[Value]) -> Value | None:
    if ctx.resume_data is None:
        await ctx.suspend({"why": "need approval"})
        return None
    return Value(value=ctx.input_data.value + (" ok" if ctx.resume_data.approved else " no"))


def _shout(ctx: StepContext[Value]) -> Value:
    return Value(value=ctx.input_data.value.upper())


def _boom(ctx: StepContext[Value]) -> Value:
    raise RuntimeError("step exploded")


@pytest.fixture
async def wf_base(serve: Callable[[web.Application], Awaitable[str]]) -> str:
    helper = Agent(
        "helper",
        model=ScriptedModel(
            [
                [
                    {"type": "text-start", "id": "t1"},
                    {"type": "text-delta", "id": "t1", "delta": "Hi!"},
                    {"type": "text-end", "id": "t1"},
                    {"type": "finish", "finishReason": "stop", "usage": usage(3, 2)},
                ]
            ],
            cycle=True,
        ),
    )
    workflows = {
        "approval": Workflow("approval", Value, Value)
        .then(Step("approve", Value, Value, _approve, resume_schema=Approval))
        .commit(),
        "failing": Workflow("failing", Value, Value)
        .then(Step("boom", Value, Value, _boom))
        .commit(),
        "agentic": Workflow("agentic").then(Step.from_agent(helper)).commit(),
        "each": Workflow("each", None, None)
        .foreach(Step("shout", Value, Value, _shout))
        .sleep(0)
        .commit(),
    }
    return await serve(create_app(RxRuntime(agents={"helper": helper}, workflows=workflows)))


async def test_remote_workflow_suspends_and_resumes_with_workflow_streams(wf_base: str) -> None:
    workflow = RemoteWorkflow(wf_base, "approval")
    run = await workflow.create_run()
    stream = await run.stream({"value": "x"})
    assert isinstance(stream, WorkflowStream)
    assert await stream.status == "suspended"
    result = await stream.result
    assert result.suspended == [["approve"]]
    assert result.steps["approve"].suspend_payload == {"why": "need approval"}
    assert_well_formed(list(stream.chunks), kind="workflow")
    resumed = await run.resume_stream("approve", {"approved": True})
    assert await resumed.status == "success"
    assert (await resumed.result).result == {"value": "x ok"}
    assert {c.run_id for c in resumed.chunks} == {run.run_id}


async def test_remote_foreach_and_sleep_records_keep_their_start_data(wf_base: str) -> None:
    run = await RemoteWorkflow(wf_base, "each").create_run()
    stream = await run.stream([{"value": "a"}, {"value": "b"}])
    result = await stream.result
    assert result.status == "success"
    assert_well_formed(list(stream.chunks), kind="workflow")
    kinds = [c.type for c in stream.chunks]
    assert kinds.count("workflow-step-progress") == 2
    assert "workflow-step-waiting" in kinds
    each = result.steps["shout"]  # its result is thin: input and start time come from the start
    assert each.status == "success"
    assert each.payload == [{"value": "a"}, {"value": "b"}]
    assert each.output == [{"value": "A"}, {"value": "B"}]
    assert each.started_at > 0
    slept = result.steps["sleep_each_0"]
    assert (slept.status, slept.payload, slept.output) == ("success", each.output, each.output)
    assert slept.started_at > 0
    assert slept.ended_at is not None
    assert result.step_execution_path == ["shout", "sleep_each_0"]


async def test_remote_workflow_usage_counts_agent_steps(wf_base: str) -> None:
    run = await RemoteWorkflow(wf_base, "agentic").create_run("my-run")
    assert run.run_id == "my-run"
    result = await run.start({"prompt": "hello"})
    assert result.status == "success"
    assert result.result == {"text": "Hi!"}
    stream = await (await RemoteWorkflow(wf_base, "agentic").create_run()).stream({"prompt": "x"})
    counted = await stream.usage
    assert (counted.input_tokens, counted.output_tokens, counted.total_tokens) == (3, 2, 5)


async def test_a_failed_remote_workflow_reports_its_error(wf_base: str) -> None:
    result = await (await RemoteWorkflow(wf_base, "failing").create_run()).start({"value": "x"})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.message == "step exploded"


async def test_remote_workflow_refusals_are_remote_errors(wf_base: str) -> None:
    with pytest.raises(RemoteError) as unknown:
        await RemoteWorkflow(wf_base, "nope").create_run()
    assert unknown.value.status == 404
    run = await RemoteWorkflow(wf_base, "approval").create_run()
    with pytest.raises(RemoteError) as bad:
        await run.start({"value": 3})
    assert bad.value.status == 400
    with pytest.raises(RemoteError) as conflict:
        await run.resume(resume_data={"approved": True})
    assert conflict.value.status == 409
    info = await RemoteWorkflow(wf_base, "approval").describe()
    assert list(info["steps"]) == ["approve"]


async def test_a_record_stream_cut_before_workflow_finish_is_malformed(
    aiohttp_server: AiohttpServer,
) -> None:
    start = json.dumps(
        {"type": "workflow-start", "runId": "r", "from": "WORKFLOW", "payload": {"workflowId": "w"}}
    ).encode()
    path = "/api/workflows/w/stream"
    server = await fake_server(
        aiohttp_server, await raw_body(start + b"\x1e", content_type="text/plain"), path
    )
    run = RemoteWorkflowRun(
        Endpoint(
            str(server.make_url("")),
            headers=None,
            token=None,
            session=None,
            retry=None,
            timeout=None,
            api_prefix="/api",
        ),
        "w",
        "r",
    )
    with pytest.raises(MalformedStreamError, match="workflow-finish"):
        await collect(run.observe({}))


async def test_a_remote_agent_is_a_workflow_step(base: str) -> None:
    remote = RemoteAgent(base, "tool-agent", token="tok", description="Knows the weather.")
    step = Step.from_agent(remote)  # type: ignore[arg-type]  # duck-typed: observe, id
    workflow = Workflow("ask-remote").then(step).commit()
    stream = await (await workflow.create_run()).stream({"prompt": "Weather in Paris?"})
    result = await stream.result
    assert result.status == "success"
    assert result.result == {"text": "It is 21C"}
    inner = [c.payload.output.type for c in stream.chunks if c.type == "workflow-step-output"]
    assert inner[0] == "start"
    assert inner[-1] == "finish"
    usage_total = await stream.usage
    assert usage_total.input_tokens == 45


# --- remote networks ------------------------------------------------------------------------


def _text(text: str, i: int, o: int) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": text},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop", "usage": usage(i, o)},
    ]


def _router(call: ModelCall) -> list[dict[str, Any]]:
    properties = (call.response_format or {}).get("schema", {}).get("properties", {})
    if "primitiveId" in properties:
        decision = {
            "primitiveId": "researcher",
            "primitiveType": "agent",
            "prompt": "Find facts",
            "selectionReason": "it knows",
        }
        return _text(json.dumps(decision), 100, 10)
    verdict = {"isComplete": True, "completionReason": "done", "finalResult": "Dolphins are smart."}
    return _text(json.dumps(verdict), 50, 5)


@pytest.fixture
async def net_base(serve: Callable[[web.Application], Awaitable[str]]) -> str:
    researcher = Agent(
        "researcher", model=ScriptedModel([_text("Dolphins are mammals.", 20, 4)], cycle=True)
    )
    network = Agent(
        "network-agent",
        model=FunctionModel(_router),
        agents={"researcher": researcher},
        memory=Memory(),
    )
    return await serve(create_app(RxRuntime(agents={"network-agent": network})))


async def test_remote_network_gives_a_network_stream(net_base: str) -> None:
    remote = RemoteAgent(net_base, "network-agent")
    stream = await remote.network(
        "Tell me about dolphins", memory={"thread": "t1", "resource": "u1"}, max_steps=3
    )
    assert isinstance(stream, NetworkStream)
    assert stream.thread_id == "t1"
    assert [t async for t in stream.text_stream] == ["Dolphins are smart."]
    assert await stream.status == "success"
    result = await stream.result
    assert result.result == "Dolphins are smart."
    assert result.thread_id == "t1"
    assert result.run_id == stream.run_id
    total = await stream.usage
    assert (total.input_tokens, total.output_tokens) == (170, 19)  # routing, agent, check
    assert_well_formed(list(stream.chunks), kind="network")


async def test_remote_network_observe_and_refusals(net_base: str) -> None:
    remote = RemoteAgent(net_base, "network-agent")
    chunks = await collect(remote.observe_network("x"))
    assert chunks[-1].type == "network-execution-event-finish"
    with pytest.raises(RemoteError) as caught:
        await collect(RemoteAgent(net_base, "nope").observe_network("x"))
    assert caught.value.status == 404
