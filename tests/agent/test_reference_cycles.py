"""A finished agent run leaves no reference cycles: reference counting alone frees all of it.

Each test runs once to warm up, then again with the garbage collector disabled, drops every
reference to the run and its stream, and checks that ``gc.collect()`` finds nothing unreachable.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rxagents.agent import Agent, tool
from rxagents.models import ScriptedModel
from tests._cycles import Drive, garbage_after


@tool
def weather(city: str) -> dict[str, Any]:
    """The weather in a city."""
    return {"city": city, "temperature": 21}


def run_of(steps: list[Any], *, part_delay: float = 0.0, awaited: bool = True) -> Drive:
    async def drive() -> None:
        agent = Agent("a", model=ScriptedModel(steps, part_delay=part_delay), tools=[weather])
        stream = await agent.stream("Weather in Paris?")
        async for _chunk in stream:
            pass
        if awaited:
            await stream.text
        await asyncio.sleep(0)  # let the loop drop its last handles

    return drive


@pytest.mark.parametrize("part_delay", [0.0, 0.001])
@pytest.mark.parametrize("awaited", [True, False])
async def test_a_text_run_leaves_no_cycles(scripts: Any, part_delay: float, awaited: bool) -> None:
    drive = run_of([scripts.text("Hello", ", world")], part_delay=part_delay, awaited=awaited)

    assert await garbage_after(drive) == 0


async def test_a_tool_loop_leaves_no_cycles(scripts: Any) -> None:
    steps = [scripts.tools(("c1", "weather", '{"city": "Paris"}')), scripts.text("Sunny")]

    assert await garbage_after(run_of(steps)) == 0
