"""The Mastra-protocol server: routes, bodies, framing, bad input, auth, CORS, disconnects."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import reactivex
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel
from pytest_aiohttp import AiohttpClient, AiohttpServer
from reactivex import Observable

from rxagents.adapters.client import RemoteAgent
from rxagents.adapters.server import DEFAULT_MAX_BODY, create_app
from rxagents.agent import Agent, tool
from rxagents.cli.serve import serve_main
from rxagents.errors import ConfigurationError, RemoteError
from rxagents.events import Chunk, parse_chunk
from rxagents.memory import Memory
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.models.providers.openai import OpenAIChatModel
from rxagents.runtime import Runtime as RxRuntime
from rxagents.testing import assert_well_formed
from rxagents.workflow import Step, StepContext, Workflow
from tests.adapters.conftest import Serve

# --- a runtime ------------------------------------------------------------------------------


@dataclass
class Runtime:
    """The smallest runtime the server accepts."""

    agents: dict[str, Any] = field(default_factory=dict)
    workflows: dict[str, Any] = field(default_factory=dict)
    storage: Any = None

    def get_agent(self, key: str) -> Any:
        return self.agents[key]

    def get_workflow(self, key: str) -> Any:
        return self.workflows[key]


class Spy:
    """An agent wrapper recording what the server passed to ``observe``."""

    def __init__(self, agent: Any, **attributes: Any) -> None:
        self.agent = agent
        self.id = agent.id
        self.calls: list[tuple[Any, dict[str, Any]]] = []
        for name, value in attributes.items():
            setattr(self, name, value)

    def observe(self, messages: Any, **options: Any) -> Observable[Chunk]:
        self.calls.append((messages, options))
        return self.agent.observe(messages, **options)  # type: ignore[no-any-return]


def usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


def echo(call: ModelCall) -> list[dict[str, Any]]:
    """Answer with every user text of the prompt, joined with '|'."""
    texts = [
        part.get("text", "")
        for message in call.prompt
        if message["role"] == "user"
        for part in message["content"]
    ]
    return [
        {"type": "text-start", "id": "t1"},
        {"type": "text-delta", "id": "t1", "delta": "|".join(texts)},
        {"type": "text-end", "id": "t1"},
        {"type": "finish", "finishReason": "stop", "usage": usage(3, 1)},
    ]


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
        {"type": "text-delta", "id": "t2", "delta": "It is 21C"},
        {"type": "text-end", "id": "t2"},
        {"type": "finish", "finishReason": "stop", "usage": usage(30, 8)},
    ],
]


class Hanging:
    """A model that streams one delta, then waits forever; records that it was cancelled."""

    def __init__(self, *, first: bool = True) -> None:
        self.first = first
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        try:
            if self.first:
                yield {"type": "text-start", "id": "t1"}
                yield {"type": "text-delta", "id": "t1", "delta": "thinking"}
            self.started.set()
            await self.release.wait()
            yield {"type": "text-end", "id": "t1"}
            yield {"type": "finish", "finishReason": "stop", "usage": usage(1, 1)}
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(
        agents={
            "echo": Spy(Agent("echo", model=FunctionModel(echo))),
            "tool-agent": Agent(
                "tool-agent", model=ScriptedModel(TOOL_STEPS, cycle=True), tools=[weather]
            ),
            "memory-agent": Spy(Agent("memory-agent", model=FunctionModel(echo)), memory=object()),
        }
    )


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, runtime: Runtime) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(runtime))


def sse_chunks(body: bytes) -> list[dict[str, Any]]:
    """Split a Mastra SSE body the way @mastra/client-js does; check the framing on the way."""
    assert b"\r" not in body
    text = body.decode()
    assert text.endswith("data: [DONE]\n\n")
    blocks = text.split("\n\n")
    assert blocks.pop() == ""
    assert blocks.pop() == "data: [DONE]"
    result = []
    for block in blocks:
        if block.startswith(":"):
            continue
        assert block.startswith("data: ")
        assert "\n" not in block
        result.append(json.loads(block[6:]))
    return result


async def post(
    client: TestClient[Any, Any], path: str, body: Any, **kw: Any
) -> aiohttp.ClientResponse:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return await client.post(
        path, data=data, headers={"Content-Type": "application/json", **kw.pop("headers", {})}, **kw
    )


async def refusal(response: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    data: dict[str, Any] = await response.json()
    assert isinstance(data["error"], str)
    assert data["error"]
    return data


# --- listing --------------------------------------------------------------------------------


async def test_agents_and_workflows_are_listed_as_objects_keyed_by_id(
    client: TestClient[Any, Any],
) -> None:
    agents = await (await client.get("/api/agents")).json()
    assert set(agents) == {"echo", "tool-agent", "memory-agent"}
    assert agents["tool-agent"]["name"] == "tool-agent"
    assert agents["tool-agent"]["tools"]["weather"]["description"] == "Current weather for a city."
    assert json.loads(agents["tool-agent"]["tools"]["weather"]["inputSchema"])["required"] == [
        "city"
    ]
    assert agents["tool-agent"]["modelId"] == "scripted-model"
    assert await (await client.get("/api/workflows")).json() == {}
    one = await (await client.get("/api/agents/tool-agent")).json()
    assert one["id"] == "tool-agent"


async def test_unknown_agent_workflow_and_route_are_json_404s(client: TestClient[Any, Any]) -> None:
    assert "nope" in (await refusal(await client.get("/api/agents/nope"), 404))["error"]
    assert "nope" in (await refusal(await client.get("/api/workflows/nope"), 404))["error"]
    await refusal(await post(client, "/api/agents/nope/stream", {"messages": "hi"}), 404)
    await refusal(await post(client, "/api/agents/nope/chat", {"messages": []}), 404)
    await refusal(await post(client, "/api/agents/nope/network", {"messages": "hi"}), 404)
    await refusal(await client.get("/api/nothing/here"), 404)
    await refusal(await client.delete("/api/agents"), 405)


# --- /stream --------------------------------------------------------------------------------


async def test_stream_is_sse_with_one_data_line_per_chunk_and_done(
    client: TestClient[Any, Any],
) -> None:
    response = await post(client, "/api/agents/tool-agent/stream", {"messages": "weather?"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    chunks = sse_chunks(await response.read())
    assert [c["type"] for c in chunks][:3] == [
        "start",
        "step-start",
        "tool-call-input-streaming-start",
    ]
    assert chunks[-1]["type"] == "finish"
    assert {c["runId"] for c in chunks} == {chunks[0]["runId"]}
    assert all(set(c) == {"type", "runId", "from", "payload"} for c in chunks)
    assert_well_formed([parse_chunk(c) for c in chunks], kind="agent")
    assert chunks[-1]["payload"]["output"]["usage"]["inputTokens"] == 45


@pytest.mark.parametrize(
    ("messages", "seen"),
    [
        ("hello", "hello"),
        (["a", "b"], "a|b"),
        ({"role": "user", "content": "one"}, "one"),
        (
            [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": "y"},
                {"role": "user", "content": [{"type": "text", "text": "z"}]},
            ],
            "x|z",
        ),
        ([{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "ui"}]}], "ui"),
        (
            [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool-call", "toolCallId": "c", "toolName": "t", "args": {"a": 1}}
                    ],
                },
                {
                    "role": "tool",
                    "content": [
                        {"type": "tool-result", "toolCallId": "c", "toolName": "t", "result": 2}
                    ],
                },
            ],
            "q",
        ),
    ],
)
async def test_stream_accepts_every_message_form_client_js_sends(
    client: TestClient[Any, Any], runtime: Runtime, messages: Any, seen: str
) -> None:
    response = await post(
        client, "/api/agents/echo/stream", {"messages": messages, "unknownKey": [1]}
    )
    chunks = sse_chunks(await response.read())
    assert chunks[-1]["payload"]["output"]["text"] == seen


async def test_v4_tool_parts_are_read_as_v5(client: TestClient[Any, Any], runtime: Runtime) -> None:
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool-call", "toolCallId": "c", "toolName": "t", "args": {"a": 1}}
            ],
        },
        {
            "role": "tool",
            "content": [{"type": "tool-result", "toolCallId": "c", "toolName": "t", "result": 2}],
        },
    ]
    await (await post(client, "/api/agents/echo/stream", {"messages": messages})).read()
    sent, _ = runtime.agents["echo"].calls[-1]
    assert sent[1]["content"][0]["input"] == {"a": 1}
    assert sent[2]["content"][0]["output"] == {"type": "json", "value": 2}


async def test_options_are_mapped_to_agent_options(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    body = {
        "messages": "hi",
        "maxSteps": 2,
        "runId": "run-42",
        "modelSettings": {"temperature": 0.5, "maxOutputTokens": 100},
        "topP": 0.9,
        "toolChoice": {"type": "tool", "toolName": "weather"},
        "memory": {"thread": "t1", "resource": "u1"},
    }
    chunks = sse_chunks(await (await post(client, "/api/agents/echo/stream", body)).read())
    assert chunks[0]["runId"] == "run-42"
    _, options = runtime.agents["echo"].calls[-1]
    assert options == {
        "max_steps": 2,
        "run_id": "run-42",
        "temperature": 0.5,
        "max_output_tokens": 100,
        "top_p": 0.9,
        "tool_choice": {"type": "tool", "toolName": "weather"},
    }  # no memory: this agent has none


@pytest.mark.parametrize("thread", ["thread-1", {"id": "thread-1"}])
async def test_memory_thread_is_passed_when_the_agent_has_memory(
    client: TestClient[Any, Any], runtime: Runtime, thread: Any
) -> None:
    body = {"messages": "hi", "memory": {"thread": thread, "resource": "user-1"}}
    assert (await post(client, "/api/agents/memory-agent/stream", body)).status == 200
    _, options = runtime.agents["memory-agent"].calls[-1]
    assert options["memory"] == {"thread": "thread-1", "resource": "user-1"}


BAD_STREAM_BODIES: list[tuple[Any, str]] = [
    (b"{not json", "not valid JSON"),
    ([1, 2], "JSON object"),
    ({}, "messages is required"),
    ({"messages": None}, "messages is required"),
    ({"messages": ""}, "empty"),
    ({"messages": []}, "empty"),
    ({"messages": 42}, "string or an array"),
    ({"messages": [42]}, r"messages[0]"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
    ({"messages": [{"role": "user", "content": 5}]}, "content"),
    ({"messages": [{"role": "user", "parts": "x"}]}, "parts"),
    ({"messages": "hi", "maxSteps": 0}, "invalid request body"),
    ({"messages": "hi", "maxSteps": "3"}, "invalid request body"),
    ({"messages": "hi", "temperature": "hot"}, "invalid request body"),
    ({"messages": "hi", "memory": {"thread": 7}}, "invalid request body"),
    ({"messages": "hi", "toolChoice": "sometimes"}, "invalid request body"),
    ({"messages": "hi", "runId": ""}, "invalid request body"),
]


@pytest.mark.parametrize(("body", "error"), BAD_STREAM_BODIES)
async def test_bad_stream_input_is_refused_with_400_before_streaming(
    client: TestClient[Any, Any], body: Any, error: str
) -> None:
    data = await refusal(await post(client, "/api/agents/echo/stream", body), 400)
    assert error in data["error"]


async def test_invalid_fields_are_named_in_issues_without_their_values(
    client: TestClient[Any, Any],
) -> None:
    body = {"messages": "hi", "maxSteps": -1, "modelSettings": {"temperature": "secret-value"}}
    data = await refusal(await post(client, "/api/agents/echo/stream", body), 400)
    paths = [issue["path"] for issue in data["issues"]]
    assert ["maxSteps"] in paths
    assert ["modelSettings", "temperature"] in paths
    assert "secret-value" not in json.dumps(data)


# --- /network -------------------------------------------------------------------------------


async def test_network_route_refuses_agents_without_a_network(client: TestClient[Any, Any]) -> None:
    data = await refusal(await post(client, "/api/agents/echo/network", {"messages": "hi"}), 400)
    assert "network" in data["error"]
    await refusal(await post(client, "/api/agents/echo/network", {"messages": 3}), 400)
    await refusal(await post(client, "/api/agents/echo/network", b"[]"), 400)


# --- /chat ----------------------------------------------------------------------------------

CHAT_BODY = {
    "id": "chat-1",
    "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}],
    "trigger": "submit-message",
}


async def test_chat_is_an_ai_sdk_ui_message_stream(client: TestClient[Any, Any]) -> None:
    response = await post(client, "/api/agents/tool-agent/chat", CHAT_BODY)
    assert response.status == 200
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["Content-Type"] == "text/event-stream"
    parts = sse_chunks(await response.read())
    kinds = [p["type"] for p in parts]
    assert kinds[0] == "start"
    assert kinds[-1] == "finish"
    assert "tool-output-available" in kinds
    assert parts[-1]["finishReason"] == "stop"


async def test_chat_reads_the_conversation_use_chat_posts(client: TestClient[Any, Any]) -> None:
    body = {
        **CHAT_BODY,
        "messages": [
            {"id": "m1", "role": "user", "parts": [{"type": "text", "text": "first"}]},
            {
                "id": "a1",
                "role": "assistant",
                "parts": [{"type": "step-start"}, {"type": "text", "text": "ok"}],
            },
            {"id": "m2", "role": "user", "parts": [{"type": "text", "text": "second"}]},
        ],
        "trigger": "regenerate-message",
        "messageId": "a1",
    }
    parts = sse_chunks(await (await post(client, "/api/agents/echo/chat", body)).read())
    assert [p["delta"] for p in parts if p["type"] == "text-delta"] == ["first|second"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"id": "x"}, "non-empty array"),
        ({"messages": "hi"}, "non-empty array"),
        ({"messages": []}, "non-empty array"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "parts"),
        ({"messages": [{"role": "user", "parts": [{"type": "text"}]}]}, "text must be a string"),
        ({"messages": [{"role": "assistant", "parts": []}]}, "no content"),
        ({"messages": CHAT_BODY["messages"], "maxSteps": "many"}, "invalid request body"),
        (b"nope", "not valid JSON"),
    ],
)
async def test_bad_chat_input_is_refused_with_400(
    client: TestClient[Any, Any], body: Any, error: str
) -> None:
    data = await refusal(await post(client, "/api/agents/echo/chat", body), 400)
    assert error in data["error"]


# --- body limit -----------------------------------------------------------------------------


async def raw_exchange(
    server: TestServer, request: bytes, *, body_parts: Sequence[bytes] = ()
) -> bytes:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        for part in body_parts:
            writer.write(part)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        return head
    finally:
        writer.close()


async def test_a_body_over_max_body_is_refused_from_its_content_length(
    aiohttp_client: AiohttpClient, runtime: Runtime
) -> None:
    client = await aiohttp_client(create_app(runtime, max_body=1000))
    # Announce 10 MB and send none of it: the answer must not wait for the body.
    head = await raw_exchange(
        client.server,
        b"POST /api/agents/echo/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000\r\n\r\n",
    )
    assert head.startswith(b"HTTP/1.1 413")
    big = json.dumps({"messages": "x" * 2000})
    data = await refusal(await post(client, "/api/agents/echo/stream", big), 413)
    assert "1000" in data["error"]


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_max_body(
    aiohttp_client: AiohttpClient, runtime: Runtime
) -> None:
    client = await aiohttp_client(create_app(runtime, max_body=1000))
    piece = b"x" * 600
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    # Two chunks (1200 bytes) and no terminating chunk: the server answers without the rest.
    head = await raw_exchange(
        client.server,
        b"POST /api/agents/echo/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        body_parts=[chunk, chunk],
    )
    assert head.startswith(b"HTTP/1.1 413")


async def test_a_body_just_under_the_limit_is_accepted(
    aiohttp_client: AiohttpClient, runtime: Runtime
) -> None:
    body = json.dumps({"messages": "hi", "pad": ""}).encode()
    client = await aiohttp_client(create_app(runtime, max_body=len(body)))
    assert (await post(client, "/api/agents/echo/stream", body)).status == 200
    assert DEFAULT_MAX_BODY == 4_718_592


# --- auth -----------------------------------------------------------------------------------


async def test_bearer_token_is_required_when_configured(
    aiohttp_client: AiohttpClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await aiohttp_client(create_app(runtime, token="s3cret-token"))
    data = await refusal(await client.get("/api/agents"), 401)
    assert "missing" in data["error"]
    wrong = await client.get("/api/agents", headers={"Authorization": "Bearer nope"})
    assert (await refusal(wrong, 401))["error"] == "invalid bearer token"
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    await refusal(
        await client.get("/api/agents", headers={"Authorization": "Basic s3cret-token"}), 401
    )
    await refusal(await post(client, "/api/agents/echo/stream", {"messages": "hi"}), 401)
    good = {"Authorization": "Bearer s3cret-token"}
    assert (await client.get("/api/agents", headers=good)).status == 200
    response = await post(client, "/api/agents/echo/stream", {"messages": "hi"}, headers=good)
    assert sse_chunks(await response.read())[-1]["type"] == "finish"
    assert "s3cret-token" not in caplog.text


# --- CORS -----------------------------------------------------------------------------------


async def test_cors_allows_configured_origins_and_answers_preflights(
    aiohttp_client: AiohttpClient, runtime: Runtime
) -> None:
    client = await aiohttp_client(create_app(runtime, cors=["http://app.example"], token="t"))
    preflight = await client.options(
        "/api/agents/echo/chat",
        headers={
            "Origin": "http://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type, authorization"
    response = await post(
        client,
        "/api/agents/echo/chat",
        CHAT_BODY,
        headers={"Origin": "http://app.example", "Authorization": "Bearer t"},
    )
    assert response.headers["Access-Control-Allow-Origin"] == "http://app.example"
    exposed = response.headers["Access-Control-Expose-Headers"]
    assert "x-vercel-ai-ui-message-stream" in exposed
    assert "X-Run-Id" in exposed  # a browser client reads the run id to re-attach
    await response.read()
    other = await client.get(
        "/api/agents", headers={"Origin": "http://evil.example", "Authorization": "Bearer t"}
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    denied = await client.options("/api/agents", headers={"Origin": "http://evil.example"})
    assert denied.status == 403


async def test_cors_any_origin(aiohttp_client: AiohttpClient, runtime: Runtime) -> None:
    client = await aiohttp_client(create_app(runtime, cors="*"))
    response = await client.get("/api/agents", headers={"Origin": "http://x.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_without_cors_no_cors_headers_are_sent(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/agents", headers={"Origin": "http://x.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


# --- failures -------------------------------------------------------------------------------


class Failing:
    """Agents whose runs fail in the ways a server must survive."""

    id = "failing"

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def observe(self, messages: Any, **options: Any) -> Observable[Any]:
        if self.mode == "refuse":
            raise RuntimeError("bug before streaming")
        start = parse_chunk(
            {"type": "start", "runId": "r9", "from": "AGENT", "payload": {"id": "failing"}}
        )
        if self.mode == "mid-stream":
            return reactivex.concat(reactivex.of(start), reactivex.throw(RuntimeError("exploded")))
        return reactivex.of(start, object())  # a value that cannot be encoded


@pytest.mark.parametrize("mode", ["mid-stream", "unencodable"])
async def test_failures_after_the_stream_started_are_in_band_never_5xx(
    aiohttp_client: AiohttpClient, mode: str
) -> None:
    client = await aiohttp_client(create_app(Runtime(agents={"failing": Failing(mode)})))
    response = await post(client, "/api/agents/failing/stream", {"messages": "hi"})
    assert response.status == 200
    chunks = sse_chunks(await response.read())
    assert [c["type"] for c in chunks] == ["start", "error", "finish"]
    assert chunks[1]["runId"] == "r9"
    assert chunks[1]["payload"]["error"]["message"]
    assert chunks[2]["payload"]["stepResult"]["reason"] == "error"


async def test_a_bug_before_streaming_is_a_json_500_and_the_server_keeps_serving(
    aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = Runtime(
        agents={"failing": Failing("refuse"), "echo": Agent("echo", model=FunctionModel(echo))}
    )
    client = await aiohttp_client(create_app(runtime))
    with caplog.at_level(logging.ERROR):
        data = await refusal(
            await post(client, "/api/agents/failing/stream", {"messages": "x-secret"}), 500
        )
    assert data == {"error": "internal server error"}
    assert "x-secret" not in caplog.text
    assert (await post(client, "/api/agents/echo/stream", {"messages": "hi"})).status == 200


async def test_create_app_checks_its_settings() -> None:
    with pytest.raises(ConfigurationError, match="max_body"):
        create_app(Runtime(), max_body=0)
    with pytest.raises(ConfigurationError, match="token"):
        create_app(Runtime(), token="  ")
    with pytest.raises(ConfigurationError, match="ping_interval"):
        create_app(Runtime(), ping_interval=-1)
    with pytest.raises(ConfigurationError, match="runtime"):
        create_app(object())  # type: ignore[arg-type]


# --- pings and disconnects ------------------------------------------------------------------


async def read_until(response: aiohttp.ClientResponse, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        piece = await response.content.readany()
        assert piece, f"stream ended before {marker!r}: {seen!r}"
        seen += piece
    return seen


async def test_a_silent_stream_is_pinged(aiohttp_client: AiohttpClient) -> None:
    model = Hanging(first=False)
    runtime = Runtime(agents={"slow": Agent("slow", model=FunctionModel(model))})
    client = await aiohttp_client(create_app(runtime, ping_interval=0.05))
    response = await post(client, "/api/agents/slow/stream", {"messages": "hi"})
    seen = await read_until(response, b": ping\n\n")
    seen += await read_until(response, b": ping\n\n")  # again while still silent
    model.release.set()
    body = seen + await response.read()
    chunks = sse_chunks(body)  # pings are comments: the framing stays valid
    assert chunks[-1]["type"] == "finish"


@pytest.mark.parametrize("route", ["stream", "chat"])
async def test_a_client_that_leaves_a_silent_run_cancels_it_within_a_second(
    serve: Callable[[web.Application], Awaitable[str]], route: str
) -> None:
    model = Hanging()
    runtime = Runtime(agents={"slow": Agent("slow", model=FunctionModel(model))})
    base = await serve(create_app(runtime, orphan_grace=0))
    body = CHAT_BODY if route == "chat" else {"messages": "hi"}
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{base}/api/agents/slow/{route}", json=body)
        await read_until(response, b"thinking")
        await model.started.wait()
        response.close()  # the client leaves while the model is silent
        await asyncio.wait_for(model.cancelled.wait(), 1.0)


async def test_a_client_that_leaves_a_busy_run_cancels_it(
    serve: Callable[[web.Application], Awaitable[str]],
) -> None:
    cancelled = asyncio.Event()

    async def chatty(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"type": "text-start", "id": "t1"}
            while True:
                yield {"type": "text-delta", "id": "t1", "delta": "word " * 200}
                await asyncio.sleep(0)  # a model producing tokens as fast as it can
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runtime = Runtime(agents={"chatty": Agent("chatty", model=FunctionModel(chatty))})
    base = await serve(create_app(runtime, orphan_grace=0))
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{base}/api/agents/chatty/stream", json={"messages": "hi"})
        await read_until(response, b"word")
        response.close()
        await asyncio.wait_for(cancelled.wait(), 1.0)


async def test_leaving_closes_the_models_own_http_request(
    serve: Callable[[web.Application], Awaitable[str]], aiohttp_server: AiohttpServer
) -> None:
    """Cancellation reaches the model provider's server: its connection is closed too."""
    provider_saw_close = asyncio.Event()
    provider_streaming = asyncio.Event()

    async def completions(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        delta = {
            "id": "c",
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
        }
        await response.write(b"data: " + json.dumps(delta).encode() + b"\n\n")
        provider_streaming.set()
        try:
            await asyncio.Event().wait()  # silent until the client goes away
        except asyncio.CancelledError:
            provider_saw_close.set()
            raise
        return response

    provider = web.Application()
    provider.router.add_post("/v1/chat/completions", completions)
    provider_server = await aiohttp_server(provider)  # TestServer cancels handlers on close
    model = OpenAIChatModel(
        "m", base_url=str(provider_server.make_url("/v1")), api_key="sk-test-key"
    )
    runtime = Runtime(agents={"remote-model": Agent("remote-model", model=model)})
    base = await serve(create_app(runtime, orphan_grace=0))
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{base}/api/agents/remote-model/stream", json={"messages": "hi"}
        )
        await read_until(response, b'"text":"Hi"')
        await provider_streaming.wait()
        response.close()
        await asyncio.wait_for(provider_saw_close.wait(), 2.0)


# --- workflows ------------------------------------------------------------------------------


class Value(BaseModel):
    value: str


class Approval(BaseModel):
    approved: bool


async def _prep(ctx: StepContext[Value]) -> Value:
    await ctx.writer.write({"type": "data-progress", "data": {"stage": "prep"}})
    return Value(value=ctx.input_data.value + "!")


async def _approve(ctx: StepContext[Value]) -> Value | None:
    if ctx.resume_data is None:
        await ctx.suspend({"why": "need approval"})
        return None
    verdict = " approved" if ctx.resume_data.approved else " rejected"
    return Value(value=ctx.input_data.value + verdict)


def approval_workflow() -> Workflow:
    return (
        Workflow("approval", Value, Value)
        .then(Step("prep", Value, Value, _prep))
        .then(Step("approve", Value, Value, _approve, resume_schema=Approval))
        .commit()
    )


@pytest.fixture
async def wf_client(aiohttp_client: AiohttpClient) -> TestClient[Any, Any]:
    runtime = RxRuntime(workflows={"approval": approval_workflow()})
    return await aiohttp_client(create_app(runtime))


def records(body: bytes) -> list[dict[str, Any]]:
    assert body.endswith(b"\x1e")
    return [json.loads(r) for r in body.split(b"\x1e")[:-1]]


async def create(client: TestClient[Any, Any], query: str = "") -> str:
    response = await post(client, f"/api/workflows/approval/create-run{query}", {})
    assert response.status == 200
    run_id: str = (await response.json())["runId"]
    return run_id


async def test_workflows_are_listed_with_their_steps(wf_client: TestClient[Any, Any]) -> None:
    listing = await (await wf_client.get("/api/workflows")).json()
    assert list(listing) == ["approval"]
    assert list(listing["approval"]["steps"]) == ["prep", "approve"]
    assert listing["approval"]["inputSchema"]["required"] == ["value"]


async def test_a_workflow_run_streams_records_suspends_and_resumes(
    wf_client: TestClient[Any, Any],
) -> None:
    run_id = await create(wf_client)
    response = await post(
        wf_client, f"/api/workflows/approval/stream?runId={run_id}", {"inputData": {"value": "x"}}
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    first = records(await response.read())
    assert [c["type"] for c in first][:2] == ["workflow-start", "workflow-step-start"]
    assert first[-1]["payload"]["workflowStatus"] == "suspended"
    assert {c["runId"] for c in first} == {run_id}
    resumed = await post(
        wf_client,
        f"/api/workflows/approval/resume-stream?runId={run_id}",
        {"step": "approve", "resumeData": {"approved": True}},
    )
    second = records(await resumed.read())
    assert second[-1]["payload"]["workflowStatus"] == "success"
    assert second[-1]["payload"]["finalWorkflowResult"] == {"value": "x! approved"}
    result = await (await wf_client.get(f"/api/workflows/approval/runs/{run_id}")).json()
    assert result["status"] == "success"
    assert result["result"] == {"value": "x! approved"}


async def test_create_run_takes_a_run_id_or_an_empty_query(wf_client: TestClient[Any, Any]) -> None:
    assert await create(wf_client, "?runId=my-run") == "my-run"
    assert await create(wf_client, "?runId=") != ""
    response = await wf_client.post("/api/workflows/approval/create-run")  # no body at all
    assert (await response.json())["runId"]


@pytest.mark.parametrize(
    ("route", "body", "status", "error"),
    [
        ("stream?runId=nope", {"inputData": {"value": "x"}}, 404, "not found"),
        ("stream", {"inputData": {"value": "x"}}, 400, "runId"),
        ("stream?runId={run}", {"inputData": {"value": 3}}, 400, "input"),
        ("stream?runId={run}", {"inputData": {"value": "x"}, "initialState": 5}, 400, "invalid"),
        ("stream?runId={run}", [1], 400, "JSON object"),
        ("resume-stream?runId=nope", {"resumeData": {"approved": True}}, 404, "not found"),
        ("resume-stream", {"resumeData": {"approved": True}}, 400, "runId"),
        ("resume-stream?runId={run}", {"resumeData": {"approved": True}}, 409, "not suspended"),
    ],
)
async def test_bad_workflow_input_is_refused_before_streaming(
    wf_client: TestClient[Any, Any], route: str, body: Any, status: int, error: str
) -> None:
    run_id = await create(wf_client)
    path = "/api/workflows/approval/" + route.replace("{run}", run_id)
    data = await refusal(await post(wf_client, path, body), status)
    assert error in data["error"]


async def test_input_issues_name_the_field(wf_client: TestClient[Any, Any]) -> None:
    run_id = await create(wf_client)
    path = f"/api/workflows/approval/stream?runId={run_id}"
    data = await refusal(await post(wf_client, path, {"inputData": {}}), 400)
    assert data["issues"][0]["path"] == ["inputData", "value"]


async def test_streaming_a_started_run_again_or_resuming_wrongly_is_a_conflict(
    wf_client: TestClient[Any, Any],
) -> None:
    run_id = await create(wf_client)
    path = f"/api/workflows/approval/stream?runId={run_id}"
    await (await post(wf_client, path, {"inputData": {"value": "x"}})).read()
    await refusal(await post(wf_client, path, {"inputData": {"value": "x"}}), 409)
    resume = f"/api/workflows/approval/resume-stream?runId={run_id}"
    data = await refusal(await post(wf_client, resume, {"step": "prep", "resumeData": {}}), 400)
    assert "suspended" in data["error"]
    bad = await refusal(await post(wf_client, resume, {"resumeData": {"approved": "?"}}), 400)
    assert bad["issues"][0]["path"][0] == "resumeData"
    await (await post(wf_client, resume, {"resumeData": {"approved": False}})).read()
    await refusal(await post(wf_client, resume, {"resumeData": {"approved": True}}), 409)


async def test_unknown_workflow_routes_are_404(wf_client: TestClient[Any, Any]) -> None:
    for route in ("create-run", "stream?runId=r", "resume-stream?runId=r", "chat"):
        await refusal(await post(wf_client, f"/api/workflows/nope/{route}", {}), 404)
    await refusal(await wf_client.get("/api/workflows/approval/runs/none"), 404)


async def test_workflow_chat_is_a_ui_stream_and_resumes(wf_client: TestClient[Any, Any]) -> None:
    response = await post(wf_client, "/api/workflows/approval/chat", {"inputData": {"value": "x"}})
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    parts = sse_chunks(await response.read())
    data = [p for p in parts if p["type"] == "data-workflow"]
    assert data[-1]["data"]["status"] == "suspended"
    assert {"type": "data-progress", "data": {"stage": "prep"}} in parts
    run_id = data[-1]["id"]
    body = {"runId": run_id, "resumeData": {"approved": True}}
    again = sse_chunks(await (await post(wf_client, "/api/workflows/approval/chat", body)).read())
    assert [p for p in again if p["type"] == "data-workflow"][-1]["data"]["result"] == {
        "value": "x! approved"
    }
    await refusal(await post(wf_client, "/api/workflows/approval/chat", {"resumeData": {}}), 400)
    await refusal(
        await post(wf_client, "/api/workflows/approval/chat", {"inputData": {"value": 1}}), 400
    )


async def test_a_client_leaving_a_workflow_stream_cancels_the_run(serve: Serve) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def wait(ctx: StepContext[Any]) -> Any:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    workflow = Workflow("slow").then(Step("wait", None, None, wait)).commit()
    base = await serve(create_app(RxRuntime(workflows={"slow": workflow}), orphan_grace=0))
    async with aiohttp.ClientSession() as session:
        created = await session.post(f"{base}/api/workflows/slow/create-run", json={})
        run_id = (await created.json())["runId"]
        response = await session.post(f"{base}/api/workflows/slow/stream?runId={run_id}", json={})
        await read_until(response, b"workflow-step-start")
        await started.wait()
        response.close()
        await asyncio.wait_for(cancelled.wait(), 1.0)


async def test_a_body_cut_off_mid_way_is_no_server_error(
    serve: Serve, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    base = await serve(create_app(runtime))
    host, port = base.removeprefix("http://").split(":")
    with caplog.at_level(logging.WARNING):
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /api/agents/echo/stream HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"messages'
        )
        await writer.drain()
        writer.close()  # leave mid-body
        await writer.wait_closed()
        async with aiohttp.ClientSession() as session:  # the server keeps serving
            response = await session.post(f"{base}/api/agents/echo/stream", json={"messages": "hi"})
            assert sse_chunks(await response.read())[-1]["type"] == "finish"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- networks -------------------------------------------------------------------------------


def _text(text: str, i: int, o: int) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": text},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop", "usage": usage(i, o)},
    ]


def _router(call: ModelCall) -> list[dict[str, Any]]:
    """Routes to the researcher; every completion check passes with a final answer."""
    properties = (call.response_format or {}).get("schema", {}).get("properties", {})
    if "primitiveId" in properties:
        decision = {
            "primitiveId": "researcher",
            "primitiveType": "agent",
            "prompt": "Find facts about dolphins",
            "selectionReason": "it knows",
        }
        return _text(json.dumps(decision), 100, 10)
    verdict = {"isComplete": True, "completionReason": "done", "finalResult": "Dolphins are smart."}
    return _text(json.dumps(verdict), 50, 5)


def network_runtime(model: Any = None) -> RxRuntime:
    researcher = Agent(
        "researcher",
        description="finds facts",
        model=ScriptedModel([_text("Dolphins are mammals.", 20, 4)], cycle=True),
    )
    network = Agent(
        "network-agent",
        model=model or FunctionModel(_router),
        agents={"researcher": researcher},
        memory=Memory(),
    )
    return RxRuntime(agents={"researcher": researcher, "network-agent": network})


async def test_network_streams_sse_chunks_of_one_run(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(network_runtime()))
    body = {"messages": "Tell me about dolphins", "memory": {"thread": "t1", "resource": "u1"}}
    response = await post(client, "/api/agents/network-agent/network", {**body, "runId": "net-1"})
    chunks = sse_chunks(await response.read())
    assert {c["runId"] for c in chunks} == {"net-1"}
    assert chunks[0]["type"] == "routing-agent-start"
    assert chunks[-1]["type"] == "network-execution-event-finish"
    assert chunks[-1]["payload"]["result"] == "Dolphins are smart."
    assert chunks[-1]["payload"]["threadId"] == "t1"
    assert_well_formed([parse_chunk(c) for c in chunks], kind="network")


@pytest.mark.parametrize(
    ("agent", "body", "status", "error"),
    [
        ("researcher", {"messages": "x"}, 400, "network"),
        ("network-agent", {}, 400, "messages is required"),
        ("network-agent", {"messages": "x", "maxSteps": 0}, 400, "invalid request body"),
        ("network-agent", {"messages": "x", "memory": {"thread": ""}}, 400, "invalid"),
        ("nope", {"messages": "x"}, 404, "not found"),
    ],
)
async def test_bad_network_input_is_refused_before_streaming(
    aiohttp_client: AiohttpClient, agent: str, body: Any, status: int, error: str
) -> None:
    client = await aiohttp_client(create_app(network_runtime()))
    data = await refusal(await post(client, f"/api/agents/{agent}/network", body), status)
    assert error in data["error"]


async def test_a_thread_of_another_resource_is_refused_before_streaming(
    aiohttp_client: AiohttpClient,
) -> None:
    client = await aiohttp_client(create_app(network_runtime()))
    mine = {"messages": "x", "memory": {"thread": "t1", "resource": "alice"}}
    await (await post(client, "/api/agents/network-agent/network", mine)).read()
    theirs = {"messages": "x", "memory": {"thread": "t1", "resource": "mallory"}}
    data = await refusal(await post(client, "/api/agents/network-agent/network", theirs), 403)
    assert "resource" in data["error"]


async def test_network_chat_is_a_ui_stream_with_data_network(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app(network_runtime()))
    parts = sse_chunks(
        await (await post(client, "/api/agents/network-agent/network/chat", CHAT_BODY)).read()
    )
    assert parts[0]["type"] == "start"
    assert parts[-1] == {"type": "finish", "finishReason": "stop"}
    assert [p["delta"] for p in parts if p["type"] == "text-delta"] == ["Dolphins are smart."]
    final = [p for p in parts if p["type"] == "data-network"][-1]["data"]
    assert final["status"] == "finished"
    assert [s["name"] for s in final["steps"]] == ["routing-agent", "researcher"]


async def test_a_client_leaving_a_network_cancels_it(serve: Serve) -> None:
    model = Hanging(first=False)
    base = await serve(create_app(network_runtime(FunctionModel(model)), orphan_grace=0))
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{base}/api/agents/network-agent/network", json={"messages": "x"}
        )
        await read_until(response, b"routing-agent-start")
        await model.started.wait()
        response.close()
        await asyncio.wait_for(model.cancelled.wait(), 1.0)


# --- python -m rxagents serve ---------------------------------------------------------------

SERVED_MODULE = """
from rxagents import Agent
from rxagents.models import ScriptedModel
from rxagents.runtime import Runtime

reply = [
    {"type": "text-start", "id": "t"},
    {"type": "text-delta", "id": "t", "delta": "served"},
    {"type": "text-end", "id": "t"},
    {"type": "finish", "finishReason": "stop"},
]
runtime = Runtime(agents={"hello": Agent("hello", model=ScriptedModel([reply], cycle=True))})
"""


async def test_serve_command_serves_a_runtime(tmp_path: Path) -> None:
    (tmp_path / "served_app.py").write_text(SERVED_MODULE)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from rxagents.cli.serve import serve_main; sys.exit(serve_main(sys.argv[1:]))",
        "served_app:runtime",
        "--port",
        str(port),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "RXAGENTS_TOKEN": "tok"},
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert f"on http://127.0.0.1:{port}/api" in line.decode()
        agent = RemoteAgent(f"http://127.0.0.1:{port}", "hello", token="tok")
        assert await (await agent.stream("hi")).text == "served"
        with pytest.raises(RemoteError) as caught:
            await RemoteAgent(f"http://127.0.0.1:{port}", "hello").describe()
        assert caught.value.status == 401
    finally:
        process.terminate()
        await process.wait()


def test_serve_command_explains_a_bad_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_main(["no_such_module_xyz:runtime"]) == 2
    assert "cannot load no_such_module_xyz:runtime" in capsys.readouterr().err
    assert serve_main(["missing-colon"]) == 2
