"""Tool approval and suspension checked with the real clients: @mastra/client-js's
``approveToolCall``, ``declineToolCall``, ``resumeStream`` and ``listSuspendedRuns``, and the
strict AI SDK checker on paused and resumed chat streams.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from rxagents import ToolContext
from rxagents.adapters.server import create_app
from rxagents.agent import Agent, tool
from rxagents.agent._suspend import APPROVAL_RESUME_SCHEMA
from rxagents.models import ScriptedModel
from rxagents.runtime import Runtime

from .conftest import Chat, Mastra, Serve, text_step, tool_step


@tool(require_approval=True)
def pay(amount: int) -> dict[str, Any]:
    """Pay an amount."""
    return {"paid": amount}


class Answer(BaseModel):
    answer: str


@tool(resume_schema=Answer)
async def ask(q: str, ctx: ToolContext) -> dict[str, str]:
    """Ask the user a question."""
    if ctx.resume_data is None:
        await ctx.suspend({"question": q})
    assert isinstance(ctx.resume_data, Answer)
    return {"got": ctx.resume_data.answer}


def hitl_agents() -> dict[str, Agent]:
    paying = [tool_step("call-1", "pay", '{"amount":5}'), text_step("Done.", "t2")]
    asking = [tool_step("call-1", "ask", '{"q":"name?"}'), text_step("Hi Bob.", "t2")]
    return {
        "pay-agent": Agent("pay-agent", model=ScriptedModel(paying, cycle=True), tools=[pay]),
        "ask-agent": Agent("ask-agent", model=ScriptedModel(asking, cycle=True), tools=[ask]),
    }


@pytest.fixture
async def base(serve: Serve) -> str:
    return await serve(create_app(Runtime(agents=hitl_agents())))


async def test_mastra_client_approves_a_tool_call(base: str, mastra: Mastra) -> None:
    [run] = await mastra(base, {"action": "approval", "agent": "pay-agent", "answer": "approve"})
    assert run["pausedTypes"] == [
        "start",
        "step-start",
        "tool-call-input-streaming-start",
        "tool-call-delta",
        "tool-call-delta",
        "tool-call-input-streaming-end",
        "tool-call",
        "tool-call-approval",
    ]
    assert run["pause"] == {
        "toolCallId": "call-1",
        "toolName": "pay",
        "args": {"amount": 5},
        "resumeSchema": APPROVAL_RESUME_SCHEMA,
    }
    assert run["listed"]["toolCalls"] == [
        {"toolCallId": "call-1", "toolName": "pay", "args": {"amount": 5}, "requiresApproval": True}
    ]
    assert run["request"] == {"runId": run["runId"], "toolCallId": "call-1"}
    assert run["resumedTypes"][:2] == ["tool-result", "step-finish"]
    assert run["first"]["result"] == {"paid": 5}
    assert run["text"] == "Done."
    assert run["usage"]["totalTokens"] == 58


@pytest.mark.parametrize(
    ("reason", "expected"),
    [(None, "Tool call was not approved by the user"), ("Too much", "Too much")],
)
async def test_mastra_client_declines_a_tool_call(
    base: str, mastra: Mastra, reason: str | None, expected: str
) -> None:
    step: dict[str, Any] = {"action": "approval", "agent": "pay-agent", "answer": "decline"}
    if reason is not None:
        step["reason"] = reason
    [run] = await mastra(base, step)
    assert run["resumedTypes"][0] == "tool-output-denied"
    assert run["first"]["approval"] == {"id": "call-1", "approved": False, "reason": expected}
    assert ("reason" in run["request"]) == (reason is not None)


async def test_mastra_client_resumes_a_suspended_tool(base: str, mastra: Mastra) -> None:
    [run] = await mastra(
        base,
        {
            "action": "approval",
            "agent": "ask-agent",
            "answer": "resume",
            "resumeData": {"answer": "Bob"},
        },
    )
    assert run["pausedTypes"][-1] == "tool-call-suspended"
    assert run["pause"]["suspendPayload"] == {"question": "name?"}
    assert run["listed"]["toolCalls"] == [
        {
            "toolCallId": "call-1",
            "toolName": "ask",
            "requiresApproval": False,
            "suspendPayload": {"question": "name?"},
        }
    ]
    assert run["request"] == {
        "runId": run["runId"],
        "toolCallId": "call-1",
        "resumeData": {"answer": "Bob"},
    }
    assert run["first"]["result"] == {"got": "Bob"}
    assert run["text"] == "Hi Bob."


async def test_mastra_client_run_level_approval(base: str, mastra: Mastra) -> None:
    [run] = await mastra(
        base,
        {
            "action": "approval",
            "agent": "ask-agent",
            "options": {"requireToolApproval": True},
            "answer": "decline",
        },
    )
    assert run["pausedTypes"][-1] == "tool-call-approval"
    assert run["resumedTypes"][0] == "tool-output-denied"


def parts_of(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in message["parts"] if p["type"] == kind]


async def test_ai_sdk_strict_check_of_an_approval_in_a_chat(base: str, ai_chat: Chat) -> None:
    paused = await ai_chat(base, "/api/agents/pay-agent/chat", text="pay 5")
    assert paused["chunkTypes"] == [
        "start",
        "start-step",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-delta",
        "tool-input-available",
        "data-tool-call-approval",
        "finish-step",
    ]
    [request] = parts_of(paused["message"], "data-tool-call-approval")
    assert request["id"] == "call-1"
    data = request["data"]
    assert (data["toolName"], data["args"]) == ("pay", {"amount": 5})
    [call] = parts_of(paused["message"], "tool-pay")
    assert call["state"] == "input-available"
    # the answer: what a front end sends with useChat's sendMessage(..., {body})
    body = {
        "messages": [],
        "runId": data["runId"],
        "toolCallId": data["toolCallId"],
        "resumeData": {"approved": True},
    }
    approved = await ai_chat(base, "/api/agents/pay-agent/chat", body=body)
    [call] = parts_of(approved["message"], "tool-pay")
    assert call["state"] == "output-available"
    assert call["output"] == {"paid": 5}
    assert [p["text"] for p in parts_of(approved["message"], "text")] == ["Done."]
    assert approved["finishReason"] == "stop"


async def test_ai_sdk_strict_check_of_a_decline_and_a_suspension(base: str, ai_chat: Chat) -> None:
    paused = await ai_chat(base, "/api/agents/pay-agent/chat")
    [request] = parts_of(paused["message"], "data-tool-call-approval")
    body = {
        "messages": [],
        "runId": request["data"]["runId"],
        "resumeData": {"approved": False, "reason": "Too much"},
    }
    declined = await ai_chat(base, "/api/agents/pay-agent/chat", body=body)
    [call] = parts_of(declined["message"], "tool-pay")
    assert (call["state"], call["errorText"]) == ("output-error", "Too much")

    suspended = await ai_chat(base, "/api/agents/ask-agent/chat")
    [asked] = parts_of(suspended["message"], "data-tool-call-suspended")
    assert asked["data"]["suspendPayload"] == {"question": "name?"}
    body = {"messages": [], "runId": asked["data"]["runId"], "resumeData": {"answer": "Bob"}}
    resumed = await ai_chat(base, "/api/agents/ask-agent/chat", body=body)
    [call] = parts_of(resumed["message"], "tool-ask")
    assert call["output"] == {"got": "Bob"}
