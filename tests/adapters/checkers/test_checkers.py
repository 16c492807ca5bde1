"""The real clients of both ecosystems against our server.

- ``mastra-client-check`` (``@mastra/client-js`` 1.47.0): listing, an agent with a tool, a
  workflow that suspends and resumes, a network.
- ``aisdk-check`` (``ai`` 5.0.277, strict mode): the ``/chat`` routes for agent text, an agent
  with tools, a tool error, a workflow and a network.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel

from rxagents.adapters.server import create_app
from rxagents.agent import Agent, tool
from rxagents.memory import Memory
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.runtime import Runtime as RxRuntime
from rxagents.workflow import Step, StepContext, Workflow

pytestmark = pytest.mark.timeout(180)

Serve = Callable[[web.Application], Awaitable[str]]
Check = Callable[..., Awaitable[dict[str, Any]]]


def usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


@tool
def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temp": 21, "sky": "cloudy"}


@tool
def search(query: str) -> str:
    """Search the web (its backend is down)."""
    raise RuntimeError("search backend down")


def text_step(text: str, block: str = "t1", reasoning: str | None = None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if reasoning:
        parts += [
            {"type": "reasoning-start", "id": "r1"},
            {"type": "reasoning-delta", "id": "r1", "delta": reasoning},
            {"type": "reasoning-end", "id": "r1"},
        ]
    words = text.split(" ")
    parts += [
        {"type": "text-start", "id": block},
        *(
            {"type": "text-delta", "id": block, "delta": w + ("" if i == len(words) - 1 else " ")}
            for i, w in enumerate(words)
        ),
        {"type": "text-end", "id": block},
        {"type": "finish", "finishReason": "stop", "usage": usage(30, 8)},
    ]
    return parts


def tool_step(call_id: str, name: str, args: str) -> list[dict[str, Any]]:
    half = len(args) // 2
    return [
        {"type": "tool-input-start", "id": call_id, "toolName": name},
        {"type": "tool-input-delta", "id": call_id, "delta": args[:half]},
        {"type": "tool-input-delta", "id": call_id, "delta": args[half:]},
        {"type": "tool-input-end", "id": call_id},
        {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": args},
        {"type": "finish", "finishReason": "tool-calls", "usage": usage(15, 5)},
    ]


def agents() -> dict[str, Any]:
    return {
        "text-agent": Agent(
            "text-agent",
            model=ScriptedModel(
                [text_step("Plan: email, gym, groceries.", reasoning="List it.")], cycle=True
            ),
        ),
        "tool-agent": Agent(
            "tool-agent",
            model=ScriptedModel(
                [
                    tool_step("call-1", "weather", '{"city":"Paris"}'),
                    text_step("It is 21C and cloudy.", "t2"),
                ],
                cycle=True,
            ),
            tools=[weather],
        ),
        "failing-tool-agent": Agent(
            "failing-tool-agent",
            model=ScriptedModel(
                [
                    tool_step("call-9", "search", '{"query":"x"}'),
                    text_step("The search failed.", "t2"),
                ],
                cycle=True,
            ),
            tools=[search],
        ),
    }


class Value(BaseModel):
    value: str


class Approval(BaseModel):
    approved: bool


async def _prepare(ctx: StepContext[Value]) -> Value:
    await ctx.writer.write({"type": "data-progress", "data": {"stage": "prepared"}})
    return Value(value=ctx.input_data.value + "!")


async def _approve(ctx: StepContext[Value]) -> Value | None:
    if ctx.resume_data is None:
        await ctx.suspend({"why": "need approval"})
        return None
    verdict = "approved" if ctx.resume_data.approved else "rejected"
    return Value(value=f"{ctx.input_data.value} {verdict}")


def workflows(helper: Agent) -> dict[str, Workflow]:
    return {
        "approval-workflow": Workflow("approval-workflow", Value, Value)
        .then(Step("prepare", Value, Value, _prepare))
        .then(Step("approve", Value, Value, _approve, resume_schema=Approval))
        .commit(),
        "agent-workflow": Workflow("agent-workflow")
        .then(Step("to-prompt", None, None, lambda ctx: {"prompt": "Plan my day"}))
        .then(Step.from_agent(helper))
        .commit(),
    }


def router(call: ModelCall) -> list[dict[str, Any]]:
    """The network agent's model: routes to the researcher; checks pass with a final answer."""
    properties = (call.response_format or {}).get("schema", {}).get("properties", {})
    if "primitiveId" in properties:
        decision = {
            "primitiveId": "researcher",
            "primitiveType": "agent",
            "prompt": "Find facts about dolphins",
            "selectionReason": "the researcher finds facts",
        }
        answer = json.dumps(decision)
    else:
        verdict = {
            "isComplete": True,
            "completionReason": "the facts answer the task",
            "finalResult": "Dolphins are smart, social mammals.",
        }
        answer = json.dumps(verdict)
    return text_step(answer)


def network_agents() -> dict[str, Agent]:
    researcher = Agent(
        "researcher",
        description="finds facts",
        model=ScriptedModel([text_step("Dolphins are mammals.")], cycle=True),
    )
    network = Agent(
        "network-agent",
        instructions="Coordinate the research.",
        model=FunctionModel(router),
        agents={"researcher": researcher},
        memory=Memory(),
    )
    return {"researcher": researcher, "network-agent": network}


@pytest.fixture
async def base(serve: Serve) -> str:
    registered = {**agents(), **network_agents()}
    runtime = RxRuntime(agents=registered, workflows=workflows(registered["text-agent"]))
    return await serve(create_app(runtime))


# --- @mastra/client-js ----------------------------------------------------------------------


async def test_mastra_client_streams_an_agent_with_a_tool(base: str, mastra_check: Check) -> None:
    summary = await mastra_check(base, "--agent", "tool-agent")
    agent = summary["agent"]
    assert "tool-agent" in summary["agents"]
    assert agent["text"] == "It is 21C and cloudy."
    assert agent["finishReason"] == "stop"
    assert agent["client"]["content"] == "It is 21C and cloudy."
    assert {"toolName": "weather", "state": "result"} in agent["client"]["toolInvocations"]
    types = agent["chunkTypes"]
    assert types.index("tool-call-input-streaming-start") < types.index("tool-call-delta")
    assert types.index("tool-call") < types.index("tool-result")
    assert agent["usage"]["inputTokens"] == 45
    assert agent["framing"]["done"] is True


async def test_mastra_client_runs_a_workflow_that_suspends_and_resumes(
    base: str, mastra_check: Check
) -> None:
    summary = await mastra_check(
        base,
        "--agent",
        "tool-agent",
        "--workflow",
        "approval-workflow",
        "--input",
        '{"value": "x"}',
        "--resume-data",
        '{"approved": true}',
    )
    first, resumed = summary["workflow"], summary["workflowResume"]
    assert first["status"] == "suspended"
    assert first["suspendedStep"] == "approve"
    assert "workflow-step-output" in first["chunkTypes"]
    assert resumed["step"] == "approve"
    assert resumed["status"] == "success"
    assert resumed["result"] == {"value": "x! approved"}
    assert resumed["runId"] == first["runId"]


async def test_mastra_client_runs_a_workflow_with_an_agent_step(
    base: str, mastra_check: Check
) -> None:
    summary = await mastra_check(base, "--agent", "text-agent", "--workflow", "agent-workflow")
    workflow = summary["workflow"]
    assert workflow["status"] == "success"
    assert workflow["result"] == {"text": "Plan: email, gym, groceries."}
    assert workflow["usage"]["inputTokens"] == 30


async def test_mastra_client_streams_a_network(base: str, mastra_check: Check) -> None:
    summary = await mastra_check(
        base,
        "--agent",
        "researcher",
        "--network",
        "network-agent",
        "--max-steps",
        "10",
        "--message",
        "Research dolphins",
    )
    network = summary["network"]
    assert network["isComplete"] is True
    assert network["result"] == '"Dolphins are smart, social mammals."'
    assert network["chunkTypes"][0] == "routing-agent-start"
    assert "agent-execution-event-text-delta" in network["chunkTypes"]
    assert network["usage"]["inputTokens"] == 90  # routing 30 + researcher 30 + check 30


async def test_mastra_client_streams_an_agent_with_reasoning(
    base: str, mastra_check: Check
) -> None:
    summary = await mastra_check(base, "--agent", "text-agent", "--message", "Plan my day")
    assert summary["agent"]["text"] == "Plan: email, gym, groceries."
    assert "reasoning-delta" in summary["agent"]["chunkTypes"]


# --- the AI SDK (useChat) -------------------------------------------------------------------


def parts_of(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in message["parts"] if p["type"] == kind]


async def test_ai_sdk_strict_check_of_agent_text(base: str, aisdk_check: Check) -> None:
    message = await aisdk_check(f"{base}/api/agents/text-agent/chat")
    assert message["role"] == "assistant"
    assert [p["text"] for p in parts_of(message, "text")] == ["Plan: email, gym, groceries."]
    assert [p["text"] for p in parts_of(message, "reasoning")] == ["List it."]


async def test_ai_sdk_strict_check_of_an_agent_with_tools(base: str, aisdk_check: Check) -> None:
    message = await aisdk_check(f"{base}/api/agents/tool-agent/chat")
    [call] = parts_of(message, "tool-weather")
    assert call["state"] == "output-available"
    assert call["input"] == {"city": "Paris"}
    assert call["output"] == {"city": "Paris", "temp": 21, "sky": "cloudy"}
    assert [p["text"] for p in parts_of(message, "text")] == ["It is 21C and cloudy."]
    assert len(parts_of(message, "step-start")) == 2


async def test_ai_sdk_strict_check_of_a_tool_error(base: str, aisdk_check: Check) -> None:
    message = await aisdk_check(f"{base}/api/agents/failing-tool-agent/chat")
    [call] = parts_of(message, "tool-search")
    assert call["state"] == "output-error"
    assert call["errorText"] == "search backend down"


async def test_ai_sdk_strict_check_with_a_conversation_body(base: str, aisdk_check: Check) -> None:
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
    message = await aisdk_check(f"{base}/api/agents/tool-agent/chat", "--body", json.dumps(body))
    assert parts_of(message, "tool-weather")


async def test_ai_sdk_strict_check_of_a_workflow(base: str, aisdk_check: Check) -> None:
    body = json.dumps({"inputData": {"value": "x"}})
    message = await aisdk_check(f"{base}/api/workflows/approval-workflow/chat", "--body", body)
    [state] = parts_of(message, "data-workflow")  # one part, updated in place
    assert state["data"]["status"] == "suspended"
    assert state["data"]["steps"]["approve"]["suspendPayload"] == {"why": "need approval"}
    assert parts_of(message, "data-progress") == [
        {"type": "data-progress", "data": {"stage": "prepared"}}
    ]
    resume = json.dumps({"runId": state["id"], "resumeData": {"approved": True}})
    done = await aisdk_check(f"{base}/api/workflows/approval-workflow/chat", "--body", resume)
    assert parts_of(done, "data-workflow")[0]["data"]["result"] == {"value": "x! approved"}


async def test_ai_sdk_strict_check_of_a_workflow_with_an_agent_step(
    base: str, aisdk_check: Check
) -> None:
    message = await aisdk_check(
        f"{base}/api/workflows/agent-workflow/chat", "--body", json.dumps({"inputData": {}})
    )
    assert [p["text"] for p in parts_of(message, "text")] == ["Plan: email, gym, groceries."]
    assert parts_of(message, "data-workflow")[0]["data"]["status"] == "success"


async def test_ai_sdk_strict_check_of_a_network(base: str, aisdk_check: Check) -> None:
    message = await aisdk_check(f"{base}/api/agents/network-agent/network/chat")
    [state] = parts_of(message, "data-network")
    assert state["data"]["status"] == "finished"
    assert [step["name"] for step in state["data"]["steps"]] == ["routing-agent", "researcher"]
    assert [p["text"] for p in parts_of(message, "text")] == ["Dolphins are smart, social mammals."]
