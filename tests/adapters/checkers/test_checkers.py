"""The real clients of both ecosystems against our server (the harness in ``tests/js``).

- ``mastra.mjs`` (``@mastra/client-js``): listing, an agent with a tool (and one whose tool
  fails), an agent with reasoning, a workflow that suspends and resumes, a workflow with an agent
  step, a network.
- ``aisdk.mjs`` (``ai``, strict): the ``/chat`` routes for agent text, an agent with tools, a
  tool error, a conversation body, a workflow (and its resume) and a network; ``useChat``'s
  ``resumeStream()`` against the route that re-attaches to a ``/chat`` response.
- The harness itself: broken streams served by hand fail with a message naming the problem.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.adapters.conftest import Serve

from .conftest import Chat, JsClients, Mastra

pytestmark = pytest.mark.timeout(180)


# --- @mastra/client-js ----------------------------------------------------------------------


async def test_mastra_client_streams_an_agent_with_a_tool(base: str, mastra: Mastra) -> None:
    listed, agent = await mastra(
        base,
        {"action": "list", "agents": ["tool-agent"], "workflows": ["approval-workflow"]},
        {"action": "agent-stream", "agent": "tool-agent", "message": "Weather in Paris?"},
    )
    assert "tool-agent" in listed["agents"]
    assert agent["text"] == "It is 21C and cloudy."
    assert agent["finishReason"] == "stop"
    outcome = {"city": "Paris", "temp": 21, "sky": "cloudy"}
    assert agent["toolCalls"] == [
        {
            "toolCallId": "call-1",
            "toolName": "weather",
            "args": {"city": "Paris"},
            "result": outcome,
        }
    ]
    client = agent["client"]
    assert client["content"] == "It is 21C and cloudy."
    assert client["toolInvocations"] == [
        {"toolName": "weather", "state": "result", "args": {"city": "Paris"}, "result": outcome}
    ]
    types = agent["chunkTypes"]
    assert types.index("tool-call-input-streaming-start") < types.index("tool-call-delta")
    assert types.index("tool-call") < types.index("tool-result")
    assert types.count("step-start") == 2
    assert agent["usage"]["inputTokens"] == 45


async def test_mastra_client_observes_agent_and_workflow_runs(base: str, mastra: Mastra) -> None:
    whole, tail, workflow_whole, workflow_tail = await mastra(
        base,
        {"action": "observe", "agent": "tool-agent", "message": "Weather in Paris?"},
        {"action": "observe", "agent": "tool-agent", "message": "Weather in Paris?", "offset": 5},
        {"action": "observe", "workflow": "approval-workflow", "inputData": {"value": "x"}},
        {
            "action": "observe",
            "workflow": "approval-workflow",
            "inputData": {"value": "x"},
            "offset": 2,
        },
    )
    assert whole["chunkTypes"][0] == "start"
    assert whole["chunkTypes"][-1] == "finish"
    assert tail["chunkTypes"] == whole["chunkTypes"][5:]
    assert workflow_whole["chunkTypes"][-1] == "workflow-finish"
    assert workflow_tail["chunkTypes"] == workflow_whole["chunkTypes"][2:]


async def test_mastra_client_streams_an_agent_whose_tool_fails(base: str, mastra: Mastra) -> None:
    [agent] = await mastra(
        base, {"action": "agent-stream", "agent": "failing-tool-agent", "allowError": True}
    )
    [call] = agent["toolCalls"]
    assert call["toolName"] == "search"
    assert call["error"]["message"] == "search backend down"
    assert agent["text"] == "The search failed."


async def test_mastra_client_runs_a_workflow_that_suspends_and_resumes(
    base: str, mastra: Mastra
) -> None:
    [run] = await mastra(
        base,
        {
            "action": "workflow",
            "workflow": "approval-workflow",
            "inputData": {"value": "x"},
            "resume": [{"resumeData": {"approved": True}}],
        },
    )
    first, resumed = run["streams"]
    assert first["status"] == "suspended"
    assert first["suspendedStep"] == "approve"
    assert first["steps"]["approve"]["suspendPayload"] == {"why": "need approval"}
    assert "workflow-step-output" in first["chunkTypes"]
    assert resumed["step"] == "approve"
    assert resumed["status"] == "success"
    assert resumed["result"] == {"value": "x! approved"}
    assert resumed["runId"] == first["runId"] == run["runId"]


async def test_mastra_client_runs_a_workflow_with_an_agent_step(base: str, mastra: Mastra) -> None:
    listed, run = await mastra(
        base,
        {"action": "list", "workflows": ["agent-workflow"]},
        {"action": "workflow", "workflow": "agent-workflow"},
    )
    assert "agent-workflow" in listed["workflows"]
    [workflow] = run["streams"]
    assert workflow["status"] == "success"
    assert workflow["result"] == {"text": "Plan: email, gym, groceries."}
    assert workflow["usage"]["inputTokens"] == 30


async def test_mastra_client_streams_a_network(base: str, mastra: Mastra) -> None:
    listed, network = await mastra(
        base,
        {"action": "list", "agents": ["researcher", "network-agent"]},
        {
            "action": "network",
            "agent": "network-agent",
            "message": "Research dolphins",
            "maxSteps": 10,
        },
    )
    assert {"researcher", "network-agent"} <= set(listed["agents"])
    assert network["isComplete"] is True
    assert network["result"] == "Dolphins are smart, social mammals."
    assert network["chunkTypes"][0] == "routing-agent-start"
    assert "agent-execution-event-text-delta" in network["chunkTypes"]
    assert network["usage"]["inputTokens"] == 90  # routing 30 + researcher 30 + check 30


async def test_mastra_client_streams_an_agent_with_reasoning(base: str, mastra: Mastra) -> None:
    [agent] = await mastra(
        base, {"action": "agent-stream", "agent": "text-agent", "message": "Plan my day"}
    )
    assert agent["text"] == "Plan: email, gym, groceries."
    assert agent["reasoning"] == "List it."
    assert "reasoning-delta" in agent["chunkTypes"]
    assert agent["client"]["parts"] == ["step-start", "reasoning", "text"]


# --- the AI SDK (useChat) -------------------------------------------------------------------


def parts_of(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in message["parts"] if p["type"] == kind]


async def test_ai_sdk_strict_check_of_agent_text(base: str, ai_chat: Chat) -> None:
    result = await ai_chat(base, "/api/agents/text-agent/chat")
    message = result["message"]
    assert message["role"] == "assistant"
    assert [p["text"] for p in parts_of(message, "text")] == ["Plan: email, gym, groceries."]
    assert [p["text"] for p in parts_of(message, "reasoning")] == ["List it."]
    assert result["finishReason"] == "stop"
    assert result["status"] == "ready"
    assert result["request"]["trigger"] == "submit-message"  # what useChat sends


async def test_ai_sdk_strict_check_of_an_agent_with_tools(base: str, ai_chat: Chat) -> None:
    message = (await ai_chat(base, "/api/agents/tool-agent/chat"))["message"]
    [call] = parts_of(message, "tool-weather")
    assert call["state"] == "output-available"
    assert call["input"] == {"city": "Paris"}
    assert call["output"] == {"city": "Paris", "temp": 21, "sky": "cloudy"}
    assert [p["text"] for p in parts_of(message, "text")] == ["It is 21C and cloudy."]
    assert len(parts_of(message, "step-start")) == 2


async def test_ai_sdk_resume_stream_re_attaches_to_a_chat_response(
    base: str, js_clients: JsClients
) -> None:
    body = {"messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base}/api/agents/tool-agent/chat", json={**body, "runId": "re-1"}) as sent,
    ):
        assert sent.headers["X-Run-Id"] == "re-1"
        await sent.read()
    step = {"action": "resume", "path": "/api/agents/tool-agent/chat/re-1/stream"}
    [result] = await js_clients.steps("aisdk", base, [step])
    assert result["method"] == "GET"
    assert result["status"] == "ready"
    message = result["message"]
    [call] = parts_of(message, "tool-weather")
    assert call["state"] == "output-available"
    assert [p["text"] for p in parts_of(message, "text")] == ["It is 21C and cloudy."]


async def test_ai_sdk_strict_check_of_a_tool_error(base: str, ai_chat: Chat) -> None:
    result = await ai_chat(base, "/api/agents/failing-tool-agent/chat")
    [call] = parts_of(result["message"], "tool-search")
    assert call["state"] == "output-error"
    assert call["errorText"] == "search backend down"
    assert result["errors"] == []  # a failed tool is not a failed stream


async def test_ai_sdk_strict_check_with_a_conversation_body(base: str, ai_chat: Chat) -> None:
    body = {
        "id": "chat-1",
        "messages": [
            {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Weather?"}]},
            {
                "id": "a1",
                "role": "assistant",
                "parts": [
                    {"type": "step-start"},
                    {"type": "text", "text": "Where?", "state": "done"},
                ],
            },
            {"id": "u2", "role": "user", "parts": [{"type": "text", "text": "Paris"}]},
        ],
        "trigger": "submit-message",
    }
    result = await ai_chat(base, "/api/agents/tool-agent/chat", body)
    assert result["request"] == body
    assert parts_of(result["message"], "tool-weather")


async def test_ai_sdk_strict_check_of_a_workflow(base: str, ai_chat: Chat) -> None:
    path = "/api/workflows/approval-workflow/chat"
    message = (await ai_chat(base, path, {"inputData": {"value": "x"}}))["message"]
    [state] = parts_of(message, "data-workflow")  # one part, updated in place
    assert state["data"]["status"] == "suspended"
    assert state["data"]["steps"]["approve"]["suspendPayload"] == {"why": "need approval"}
    assert parts_of(message, "data-progress") == [
        {"type": "data-progress", "data": {"stage": "prepared"}}
    ]
    resume = {"runId": state["id"], "resumeData": {"approved": True}}
    done = (await ai_chat(base, path, resume))["message"]
    [final] = parts_of(done, "data-workflow")
    assert final["data"]["status"] == "success"
    assert final["data"]["result"] == {"value": "x! approved"}


async def test_ai_sdk_strict_check_of_a_workflow_with_an_agent_step(
    base: str, ai_chat: Chat
) -> None:
    message = (await ai_chat(base, "/api/workflows/agent-workflow/chat", {"inputData": {}}))[
        "message"
    ]
    assert [p["text"] for p in parts_of(message, "text")] == ["Plan: email, gym, groceries."]
    assert parts_of(message, "data-workflow")[0]["data"]["status"] == "success"


async def test_ai_sdk_strict_check_of_a_network(base: str, ai_chat: Chat) -> None:
    message = (await ai_chat(base, "/api/agents/network-agent/network/chat"))["message"]
    [state] = parts_of(message, "data-network")
    assert state["data"]["status"] == "finished"
    assert [step["name"] for step in state["data"]["steps"]] == ["routing-agent", "researcher"]
    assert [p["text"] for p in parts_of(message, "text")] == ["Dolphins are smart, social mammals."]


# --- the harness refuses broken streams -----------------------------------------------------


def sse(*chunks: dict[str, Any] | str, done: bool = True) -> bytes:
    """An SSE body: one ``data:`` event per chunk (strings are sent as they are)."""
    events = [c if isinstance(c, str) else f"data: {json.dumps(c)}\n\n" for c in chunks]
    return "".join([*events, "data: [DONE]\n\n" if done else ""]).encode()


UI_HEADERS = {"content-type": "text/event-stream", "x-vercel-ai-ui-message-stream": "v1"}


def ui(*middle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "start"},
        {"type": "start-step"},
        *middle,
        {"type": "finish-step"},
        {"type": "finish"},
    ]


BROKEN_UI_STREAMS = {
    "delta before start": (
        sse(*ui({"type": "text-delta", "id": "t", "delta": "x"})),
        UI_HEADERS,
        'text "t" is not open',
    ),
    "part never closed": (
        sse(
            *ui({"type": "text-start", "id": "t"}, {"type": "text-delta", "id": "t", "delta": "x"})
        ),
        UI_HEADERS,
        "text t still open",
    ),
    "unknown chunk type": (
        sse(*ui({"type": "text-chunk", "id": "t"})),
        UI_HEADERS,
        'no chunk type "text-chunk"',
    ),
    "missing field": (
        sse(*ui({"type": "text-start"})),
        UI_HEADERS,
        'a "text-start" chunk that does not fit the schema (id:',
    ),
    "no [DONE]": (sse(*ui(), done=False), UI_HEADERS, 'does not end with "data: [DONE]"'),
    "no finish": (sse(*ui()[:-1]), UI_HEADERS, 'exactly one "finish"'),
    "content outside a step": (
        sse({"type": "start"}, {"type": "text-start", "id": "t"}, {"type": "finish"}),
        UI_HEADERS,
        "outside start-step ... finish-step",
    ),
    "output before input": (
        sse(*ui({"type": "tool-output-available", "toolCallId": "c", "output": 1})),
        UI_HEADERS,
        'tool call "c" has no complete input',
    ),
    "error chunk": (
        sse(*ui({"type": "error", "errorText": "boom"})),
        UI_HEADERS,
        "(error)",
    ),
    "an event name": (
        sse(*ui()).replace(b'data: {"type": "start"}', b'event: x\ndata: {"type": "start"}'),
        UI_HEADERS,
        'is not a "data: " line',
    ),
    "no protocol header": (sse(*ui()), {"content-type": "text/event-stream"}, "header x-vercel"),
}


@pytest.mark.parametrize("case", BROKEN_UI_STREAMS)
async def test_the_ai_sdk_harness_refuses_a_broken_stream(
    case: str, serve: Serve, js_clients: JsClients
) -> None:
    body, headers, problem = BROKEN_UI_STREAMS[case]

    async def chat(request: web.Request) -> web.Response:
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_post("/api/chat", chat)
    base = await serve(app)
    run = await js_clients.run(
        "aisdk", {"base": base, "steps": [{"action": "chat", "path": "/api/chat"}]}
    )
    assert run.code == 1
    assert "aisdk: FAIL: step 0 (chat): " in run.stderr
    assert problem in run.stderr


def agent_chunk(type_: str, **payload: Any) -> dict[str, Any]:
    return {"type": type_, "runId": "r1", "from": "AGENT", "payload": payload}


def agent_stream(*middle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        agent_chunk("start"),
        agent_chunk("step-start", messageId="m1"),
        *middle,
        agent_chunk("step-finish"),
        agent_chunk("finish", stepResult={"reason": "stop"}),
    ]


def workflow_chunk(type_: str, run_id: str = "r1", **payload: Any) -> dict[str, Any]:
    return {"type": type_, "runId": run_id, "from": "WORKFLOW", "payload": payload}


def records(*chunks: dict[str, Any]) -> bytes:
    return "".join(json.dumps(c) + "\x1e" for c in chunks).encode()


FINISHED = workflow_chunk("workflow-finish", workflowStatus="success")

BROKEN_MASTRA_STREAMS = {
    "an extra key": (
        "agent",
        sse({**agent_chunk("start"), "extra": 1}),
        "keys must be exactly type, runId, from, payload",
    ),
    "delta before start": (
        "agent",
        sse(*agent_stream(agent_chunk("text-delta", id="t", text="x"))),
        'text "t" was not opened by text-start',
    ),
    "result without call": (
        "agent",
        sse(*agent_stream(agent_chunk("tool-result", toolCallId="c", toolName="x", result=1))),
        'no earlier tool-call "c"',
    ),
    "tool error": (
        "agent",
        sse(
            *agent_stream(
                agent_chunk("tool-call", toolCallId="c", toolName="x", args={}),
                agent_chunk("tool-error", toolCallId="c", toolName="x", error="boom"),
            )
        ),
        '(tool-error): "boom"',
    ),
    "an event name": (
        "agent",
        b"event: x\n" + sse(*agent_stream()),
        'is not a "data: " line',
    ),
    "CRLF": ("agent", sse(*agent_stream()).replace(b"\n", b"\r\n"), '"\\r"'),
    "unterminated record": (
        "workflow",
        records(workflow_chunk("workflow-start")) + json.dumps(FINISHED).encode(),
        "does not end with \\x1E",
    ),
    "another run's chunk": (
        "workflow",
        records(workflow_chunk("workflow-start"), {**FINISHED, "runId": "r2"}),
        "is not the run's r1",
    ),
    "a step result before its start": (
        "workflow",
        records(
            workflow_chunk("workflow-start"),
            workflow_chunk("workflow-step-result", id="s", status="success"),
            FINISHED,
        ),
        'step "s" was not started',
    ),
}


@pytest.mark.parametrize("case", BROKEN_MASTRA_STREAMS)
async def test_the_mastra_harness_refuses_a_broken_stream(
    case: str, serve: Serve, js_clients: JsClients
) -> None:
    kind, body, problem = BROKEN_MASTRA_STREAMS[case]

    async def stream(request: web.Request) -> web.Response:
        if kind == "agent":
            return web.Response(body=body, content_type="text/event-stream")
        return web.Response(body=body, content_type="text/plain")

    async def create_run(request: web.Request) -> web.Response:
        return web.json_response({"runId": "r1"})

    app = web.Application()
    app.router.add_post("/api/agents/a/stream", stream)
    app.router.add_post("/api/workflows/w/create-run", create_run)
    app.router.add_post("/api/workflows/w/stream", stream)
    base = await serve(app)
    step = (
        {"action": "agent-stream", "agent": "a"}
        if kind == "agent"
        else {"action": "workflow", "workflow": "w"}
    )
    run = await js_clients.run("mastra", {"base": base, "steps": [step]})
    assert run.code == 1
    assert f"mastra: FAIL: step 0 ({step['action']}): " in run.stderr
    assert problem in run.stderr


async def test_the_harness_refuses_an_unknown_action(js_clients: JsClients) -> None:
    scenario = {"base": "http://127.0.0.1:9", "steps": [{"action": "teleport"}]}
    run = await js_clients.run("mastra", scenario)
    assert run.code == 2
    assert 'unknown action "teleport"' in run.stderr
