"""The floor: a plain async generator yielding one small dict per event, read with ``async for``.

No framework: what it costs just to hand ``tokens`` events through one ``async for``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from . import TOKEN, TOOL_NAME, Run, Scenario, weather

NAME = "async generator (floor)"
DISTRIBUTIONS: tuple[str, ...] = ()


def runner(scenario: Scenario) -> Run:
    tokens = scenario.tokens

    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "start"}
        if scenario.kind == "tool":
            yield {"type": "tool-call", "toolName": TOOL_NAME, "args": {"city": "Paris"}}
            yield {"type": "tool-result", "result": weather("Paris")}
        for _ in range(tokens):
            yield {"type": "text-delta", "text": TOKEN}
        yield {"type": "finish"}

    async def run() -> int:
        count = 0
        async for _ in events():
            count += 1
        return count

    return run
