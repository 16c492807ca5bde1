"""AI SDK v5 conversion of paused and resumed agent runs (approval, suspension, decline)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rxagents import ToolContext
from rxagents.agent import Agent, tool
from rxagents.agent._suspend import APPROVAL_RESUME_SCHEMA
from rxagents.models import ScriptedModel
from tests.adapters.ai_sdk.test_ai_sdk import check_ui_stream, text_step, types, ui_of, usage


def call_step(name: str, args: str) -> list[dict[str, Any]]:
    return [
        {"type": "tool-call", "toolCallId": "call-1", "toolName": name, "input": args},
        {"type": "finish", "finishReason": "tool-calls", "usage": usage(10, 5)},
    ]


@tool(require_approval=True)
def weather(city: str) -> dict[str, int]:
    """Weather."""
    return {"temp": 21}


class Answer(BaseModel):
    answer: str


@tool(resume_schema=Answer)
async def ask(q: str, ctx: ToolContext) -> dict[str, str]:
    """Ask."""
    if ctx.resume_data is None:
        await ctx.suspend({"question": q})
    assert isinstance(ctx.resume_data, Answer)
    return {"got": ctx.resume_data.answer}


def weather_agent() -> Agent:
    model = ScriptedModel([call_step("weather", '{"city":"Paris"}'), text_step("It is 21C")])
    return Agent("w", model=model, tools=[weather])


def check_paused(parts: list[dict[str, Any]]) -> None:
    """Closed as a finished stream is, but without finish (as Mastra's); calls left pending."""
    assert parts[-1]["type"] == "finish-step"
    assert "finish" not in types(parts)
    pending = [p["id"] for p in parts if p["type"].startswith("data-tool-call-")]
    answers = [{"type": "tool-output-available", "toolCallId": i, "output": None} for i in pending]
    check_ui_stream([*parts[:-1], *answers, parts[-1], {"type": "finish"}])


async def test_a_paused_approval_becomes_a_data_part_and_no_finish() -> None:
    agent = weather_agent()
    stream = await agent.stream("weather?")
    parts = await ui_of(stream)
    assert types(parts) == [
        "start",
        "start-step",
        "tool-input-available",
        "data-tool-call-approval",
        "finish-step",
    ]
    assert parts[3] == {
        "type": "data-tool-call-approval",
        "data": {
            "state": "data-tool-call-approval",
            "runId": stream.run_id,
            "toolCallId": "call-1",
            "toolName": "weather",
            "args": {"city": "Paris"},
            "resumeSchema": APPROVAL_RESUME_SCHEMA,
        },
        "id": "call-1",
    }
    check_paused(parts)
    approved = await ui_of(await agent.approve_tool_call(stream.run_id))
    check_ui_stream(approved)
    assert types(approved)[:5] == [
        "start",
        "start-step",
        "tool-input-available",
        "tool-output-available",
        "finish-step",
    ]
    assert approved[3]["output"] == {"temp": 21}
    assert approved[-1] == {"type": "finish", "finishReason": "stop"}


async def test_a_declined_call_is_a_tool_output_error_with_the_reason() -> None:
    agent = weather_agent()
    stream = await agent.stream("weather?")
    await stream.finish_reason
    declined = await ui_of(await agent.decline_tool_call(stream.run_id, reason="no"))
    check_ui_stream(declined)
    assert declined[3] == {"type": "tool-output-error", "toolCallId": "call-1", "errorText": "no"}


async def test_a_suspension_becomes_a_data_part_without_args() -> None:
    model = ScriptedModel([call_step("ask", '{"q":"name?"}'), text_step("Hi")])
    agent = Agent("a", model=model, tools=[ask])
    stream = await agent.stream("go")
    parts = await ui_of(stream)
    check_paused(parts)
    data = parts[3]
    assert data["type"] == "data-tool-call-suspended"
    assert data["id"] == "call-1"
    assert list(data["data"]) == [
        "state",
        "runId",
        "toolCallId",
        "toolName",
        "suspendPayload",
        "resumeSchema",
    ]
    assert data["data"]["suspendPayload"] == {"question": "name?"}
    resumed = await ui_of(await agent.resume_stream({"answer": "Bob"}, run_id=stream.run_id))
    check_ui_stream(resumed)
