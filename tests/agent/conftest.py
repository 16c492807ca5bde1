"""Script builders shared by the agent tests."""

from __future__ import annotations

from typing import Any

import pytest


def usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


def text_step(*deltas: str, block: str = "t1", i: int = 10, o: int = 5) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": block},
        *({"type": "text-delta", "id": block, "delta": d} for d in deltas),
        {"type": "text-end", "id": block},
        {"type": "finish", "finishReason": "stop", "usage": usage(i, o)},
    ]


def tool_step(
    *calls: tuple[str, str, str], streamed: bool = False, i: int = 15, o: int = 5
) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for call_id, name, args in calls:
        if streamed:
            half = len(args) // 2
            parts += [
                {"type": "tool-input-start", "id": call_id, "toolName": name},
                {"type": "tool-input-delta", "id": call_id, "delta": args[:half]},
                {"type": "tool-input-delta", "id": call_id, "delta": args[half:]},
                {"type": "tool-input-end", "id": call_id},
            ]
        parts.append({"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": args})
    parts.append({"type": "finish", "finishReason": "tool-calls", "usage": usage(i, o)})
    return parts


@pytest.fixture
def scripts() -> Any:
    class Scripts:
        text = staticmethod(text_step)
        tools = staticmethod(tool_step)
        usage = staticmethod(usage)

    return Scripts
