"""Approval, decline, resume and suspended-runs routes, and RemoteAgent's four methods."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel
from pytest_aiohttp import AiohttpClient

from rxagents import Agent, ToolContext
from rxagents.adapters.client import RemoteAgent
from rxagents.adapters.server import create_app
from rxagents.agent import tool
from rxagents.errors import RemoteError
from rxagents.events import parse_chunk
from rxagents.models import ScriptedModel
from rxagents.runtime import Runtime
from rxagents.testing import assert_well_formed
from tests.adapters.server.test_server import post, refusal, sse_chunks

USAGE = {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}


def call_step(call_id: str, name: str, args: str) -> list[dict[str, Any]]:
    return [
        {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": args},
        {"type": "finish", "finishReason": "tool-calls", "usage": USAGE},
    ]


def text_step(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": "t1"},
        {"type": "text-delta", "id": "t1", "delta": text},
        {"type": "text-end", "id": "t1"},
        {"type": "finish", "finishReason": "stop", "usage": USAGE},
    ]


@tool(require_approval=True)
def weather(city: str) -> dict[str, int]:
    """Current weather for a city."""
    return {"temp": 21}


class Answer(BaseModel):
    answer: str


@tool(resume_schema=Answer)
async def ask(q: str, ctx: ToolContext) -> dict[str, str]:
    """Ask the user."""
    if ctx.resume_data is None:
        await ctx.suspend({"question": q})
    assert isinstance(ctx.resume_data, Answer)
    return {"got": ctx.resume_data.answer}


@pytest.fixture
def runtime() -> Runtime:
    steps = [call_step("call-1", "weather", '{"city":"Paris"}'), text_step("It is 21C")]
    asks = [call_step("call-1", "ask", '{"q":"name?"}'), text_step("Hi")]
    return Runtime(
        agents={
            "weather": Agent("weather", model=ScriptedModel(steps, cycle=True), tools=[weather]),
            "asker": Agent("asker", model=ScriptedModel(asks, cycle=True), tools=[ask]),
        }
    )


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, runtime: Runtime) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(runtime))


async def pause(client: TestClient[Any, Any], agent: str = "weather") -> list[dict[str, Any]]:
    response = await post(client, f"/api/agents/{agent}/stream", {"messages": "go"})
    assert response.status == 200
    return sse_chunks(await response.read())


async def test_approve_over_http_continues_the_run(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    paused = await pause(client)
    assert [c["type"] for c in paused][-1] == "tool-call-approval"
    run_id = paused[0]["runId"]
    assert runtime.agents["weather"].storage is runtime.storage  # served: the runtime's storage
    listed = await (await client.get("/api/agents/weather/suspended-runs")).json()
    assert listed["total"] == 1
    run = listed["runs"][0]
    assert run["runId"] == run_id
    assert run["status"] == "suspended"
    assert run["suspendedAt"].endswith("Z")
    assert run["toolCalls"] == [
        {
            "toolCallId": "call-1",
            "toolName": "weather",
            "args": {"city": "Paris"},
            "requiresApproval": True,
        }
    ]
    response = await post(
        client, "/api/agents/weather/approve-tool-call", {"runId": run_id, "toolCallId": "call-1"}
    )
    assert response.headers["Content-Type"] == "text/event-stream"
    chunks = sse_chunks(await response.read())
    assert [c["type"] for c in chunks][:2] == ["tool-result", "step-finish"]
    assert chunks[-1]["type"] == "finish"
    assert {c["runId"] for c in chunks} == {run_id}
    assert_well_formed([parse_chunk(c) for c in paused + chunks])
    assert (await (await client.get("/api/agents/weather/suspended-runs")).json()) == {
        "runs": [],
        "total": 0,
    }
    again = await post(
        client, "/api/agents/weather/approve-tool-call", {"runId": run_id, "toolCallId": "call-1"}
    )
    await refusal(again, 404)


async def test_decline_and_resume_over_http(client: TestClient[Any, Any]) -> None:
    paused = await pause(client)
    body = {"runId": paused[0]["runId"], "toolCallId": "call-1", "reason": "no"}
    chunks = sse_chunks(
        await (await post(client, "/api/agents/weather/decline-tool-call", body)).read()
    )
    assert chunks[0]["type"] == "tool-output-denied"
    assert chunks[0]["payload"]["approval"] == {"id": "call-1", "approved": False, "reason": "no"}

    suspended = await pause(client, "asker")
    assert suspended[-1]["type"] == "tool-call-suspended"
    listed = await (await client.get("/api/agents/asker/suspended-runs")).json()
    assert listed["runs"][0]["toolCalls"] == [
        {
            "toolCallId": "call-1",
            "toolName": "ask",
            "requiresApproval": False,
            "suspendPayload": {"question": "name?"},
        }
    ]
    body = {"runId": suspended[0]["runId"], "toolCallId": "call-1", "resumeData": {"answer": "Bob"}}
    chunks = sse_chunks(await (await post(client, "/api/agents/asker/resume-stream", body)).read())
    assert chunks[0]["payload"]["result"] == {"got": "Bob"}


async def test_refusals_are_json(client: TestClient[Any, Any]) -> None:
    route = "/api/agents/weather/approve-tool-call"
    assert (await refusal(await post(client, route, {"toolCallId": "c"}), 400))["error"] == (
        "Run id is required"
    )
    assert (await refusal(await post(client, route, {"runId": "r"}), 400))["error"] == (
        "Tool call id is required"
    )
    await refusal(await post(client, "/api/agents/weather/decline-tool-call", {"runId": "r"}), 400)
    await refusal(await post(client, "/api/agents/weather/resume-stream", {"runId": "r"}), 400)
    await refusal(await post(client, route, {"runId": "nope", "toolCallId": "c"}), 404)
    await refusal(await post(client, "/api/agents/nope/approve-tool-call", {"runId": "r"}), 404)
    paused = await pause(client)
    body = {"runId": paused[0]["runId"], "toolCallId": "other"}
    await refusal(await post(client, route, body), 400)
    await refusal(await client.get("/api/agents/weather/suspended-runs?perPage=x"), 400)


async def test_a_run_being_resumed_is_a_409(client: TestClient[Any, Any], runtime: Runtime) -> None:
    paused = await pause(client)
    run_id = paused[0]["runId"]
    agent = runtime.agents["weather"]
    stream = await agent.approve_tool_call(run_id, "call-1")  # claimed, not finished yet
    body = {"runId": run_id, "toolCallId": "call-1"}
    await refusal(await post(client, "/api/agents/weather/approve-tool-call", body), 409)
    await stream.text


async def test_stream_accepts_require_tool_approval(client: TestClient[Any, Any]) -> None:
    response = await post(
        client, "/api/agents/asker/stream", {"messages": "go", "requireToolApproval": True}
    )
    chunks = sse_chunks(await response.read())
    assert chunks[-1]["type"] == "tool-call-approval"


async def test_remote_agent_pauses_and_resumes(client: TestClient[Any, Any]) -> None:
    base = str(client.make_url("")).rstrip("/")
    remote = RemoteAgent(base, "weather")
    paused = await remote.stream("go")
    assert await paused.finish_reason == "suspended"
    assert [p.tool_call_id for p in await paused.pending_tool_calls] == ["call-1"]
    runs = await remote.list_suspended_runs()
    assert [r["run_id"] for r in runs] == [paused.run_id]
    assert runs[0]["tool_calls"][0]["args"] == {"city": "Paris"}
    assert isinstance(runs[0]["suspended_at"], int)
    resumed = await remote.approve_tool_call(paused.run_id, "call-1")
    assert await resumed.text == "It is 21C"
    assert (await resumed.usage).total_tokens == 30
    again = await remote.approve_tool_call(paused.run_id, "call-1")
    with pytest.raises(RemoteError) as info:
        await again.text
    assert info.value.status == 404

    second = await remote.stream("go")
    await second.finish_reason
    declined = await remote.decline_tool_call(second.run_id, "call-1", reason="no")
    types = [c.type async for c in declined]
    assert types[0] == "tool-output-denied"

    asker = RemoteAgent(base, "asker")
    suspended = await asker.stream("go")
    assert await suspended.finish_reason == "suspended"
    answered = await asker.resume_stream({"answer": "Bob"}, run_id=suspended.run_id)
    assert await answered.text == "Hi"
    gated = await asker.stream("go", require_tool_approval=True)
    assert await gated.finish_reason == "suspended"
    await asyncio.gather(remote.list_suspended_runs(), asker.list_suspended_runs())
