"""rxagents: ``await agent.stream(...)`` and ``async for`` over every chunk.

The fake model is the library's ``ScriptedModel``: parts are validated once when it is built and
replayed on every call. Each text token becomes one ``text-delta`` chunk (a frozen pydantic model
with Mastra's wire shape) appended to the run's replay buffer; the run also accumulates the
step's text and usage for ``stream.text`` / ``stream.usage``.
"""

from __future__ import annotations

from typing import Any

from rxagents import Agent, tool
from rxagents.models import ScriptedModel

from . import PROMPT, TOKEN, TOOL_ARGS, TOOL_CALL_ID, TOOL_NAME, Run, Scenario, weather

NAME = "rxagents"
DISTRIBUTIONS = ("rxagents",)


def _usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


def _text_step(tokens: int) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": "t"},
        *({"type": "text-delta", "id": "t", "delta": TOKEN} for _ in range(tokens)),
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop", "usage": _usage(5, tokens)},
    ]


def _tool_step() -> list[dict[str, Any]]:
    return [
        {
            "type": "tool-call",
            "toolCallId": TOOL_CALL_ID,
            "toolName": TOOL_NAME,
            "input": TOOL_ARGS,
        },
        {"type": "finish", "finishReason": "tool-calls", "usage": _usage(5, 5)},
    ]


def runner(scenario: Scenario) -> Run:
    if scenario.kind == "text":
        model = ScriptedModel([_text_step(scenario.tokens)], cycle=True)
        agent = Agent("bench", model=model)
    else:
        model = ScriptedModel([_tool_step(), _text_step(scenario.tokens)], cycle=True)
        agent = Agent("bench", model=model, tools=[tool(weather)])

    async def run() -> int:
        model.reset()  # the model records every call; keep the heap from growing across runs
        count = 0
        stream = await agent.stream(PROMPT)
        async for _ in stream:
            count += 1
        return count

    return run
