"""Property: for random scripts the agent stream is well formed and its results add up."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rxagents.agent import Agent, tool
from rxagents.models import ScriptedModel
from rxagents.testing import assert_well_formed
from rxagents.testing.strategies import agent_scripts
from rxagents.usage import Usage


@tool
def weather(city: str) -> dict[str, Any]:
    """Current weather."""
    return {"city": city}


@tool
def explode(reason: str) -> None:
    """Always fails."""
    raise ValueError(reason)


TOOLS = {
    # valid arguments, or arguments that fail the schema
    "weather": st.one_of(
        st.fixed_dictionaries({"city": st.text(max_size=5)}),
        st.fixed_dictionaries({"town": st.integers()}),
    ),
    "explode": st.fixed_dictionaries({"reason": st.text(max_size=5)}),
    "ghost": st.just({}),  # not registered on the agent: unknown tool
}


def scripted_texts(step: list[dict[str, Any]]) -> list[str]:
    return [p["delta"] for p in step if p["type"] == "text-delta" and p["delta"]]


def scripted_usage(script: list[list[dict[str, Any]]]) -> Usage:
    total = Usage.zero
    for step in script:
        for part in step:
            if part["type"] == "finish":
                total = total + Usage.model_validate(part["usage"])
    return total


@given(script=agent_scripts(tools=TOOLS, min_steps=1, max_steps=5, max_tool_calls=3))
async def test_random_scripts_give_well_formed_streams(script: list[list[dict[str, Any]]]) -> None:
    agent = Agent("prop", model=ScriptedModel(script), tools=[weather, explode], max_steps=5)
    stream = await agent.stream("go")
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks)
    deltas = [t async for t in stream.text_stream]
    assert deltas == [d for step in script for d in scripted_texts(step)]
    assert await stream.text == "".join(scripted_texts(script[-1]))
    assert (await stream.usage).counters() == scripted_usage(script).counters()
    assert len([c for c in chunks if c.type == "step-start"]) == len(script)
