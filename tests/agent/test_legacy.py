"""stream_legacy(): v1 models and the legacy part vocabulary."""

from __future__ import annotations

from typing import Any

import pytest

from rxagents.agent import Agent, tool
from rxagents.errors import ConfigurationError
from rxagents.models import ScriptedModel, ScriptedModelV1


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def finish(reason: str, p: int, c: int) -> dict[str, Any]:
    return {
        "type": "finish",
        "finishReason": reason,
        "usage": {"promptTokens": p, "completionTokens": c},
    }


async def test_legacy_stream_with_a_tool_call() -> None:
    model = ScriptedModelV1(
        [
            [
                {
                    "type": "tool-call",
                    "toolCallType": "function",
                    "toolCallId": "c1",
                    "toolName": "add",
                    "args": '{"a": 2, "b": 3}',
                },
                finish("tool-calls", 10, 4),
            ],
            [
                {"type": "text-delta", "textDelta": "The sum "},
                {"type": "text-delta", "textDelta": "is 5"},
                finish("stop", 20, 6),
            ],
        ]
    )
    agent = Agent("old", model=model, tools=[add])
    stream = await agent.stream_legacy("2+3?")
    chunks = [c.model_dump(by_alias=True) async for c in stream]
    assert [c["type"] for c in chunks] == [
        "step-start",
        "tool-call",
        "tool-result",
        "step-finish",
        "step-start",
        "text-delta",
        "text-delta",
        "step-finish",
        "finish",
    ]
    assert "runId" not in chunks[0]
    assert "payload" not in chunks[0]
    assert chunks[1]["args"] == {"a": 2, "b": 3}
    assert chunks[2]["result"] == 5
    assert chunks[3]["isContinued"] is True
    assert chunks[3]["usage"] == {"promptTokens": 10, "completionTokens": 4, "totalTokens": 14}
    assert chunks[5] == {"type": "text-delta", "textDelta": "The sum "}
    assert await stream.text == "The sum is 5"
    assert await stream.finish_reason == "stop"
    usage = await stream.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (30, 10, 40)
    assert [t async for t in stream.text_stream] == ["The sum ", "is 5"]


async def test_legacy_error_part_ends_the_run() -> None:
    model = ScriptedModelV1(
        [[{"type": "text-delta", "textDelta": "x"}, {"type": "error", "error": "boom"}]]
    )
    stream = await Agent("old", model=model).stream_legacy("hi")
    types = [c.type async for c in stream]
    assert types == ["step-start", "text-delta", "error", "step-finish", "finish"]
    assert await stream.finish_reason == "error"


async def test_stream_legacy_with_a_v2_model_is_refused() -> None:
    agent = Agent("new", model=ScriptedModel([[]]))
    with pytest.raises(ConfigurationError, match=r"stream\(\)"):
        await agent.stream_legacy("hi")
