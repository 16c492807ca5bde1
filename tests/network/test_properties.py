"""Random routing scripts: every network stream is well formed and its usage adds up."""

from __future__ import annotations

from typing import Any

import reactivex
from hypothesis import given
from hypothesis import strategies as st

from rxagents import Agent, tool
from rxagents.models import ScriptedModel
from rxagents.operators import reduce_usage
from rxagents.testing import assert_well_formed
from rxagents.usage import Usage

from .conftest import (
    NONE,
    Router,
    collect,
    network_agent,
    of_type,
    route,
    text_parts,
    verdict,
    word_count,
)


@tool
async def failing(text: str) -> str:
    """Always fail."""
    raise RuntimeError("tool failed")


def agents() -> dict[str, Agent]:
    return {
        "research": Agent(
            "research", model=ScriptedModel([text_parts("Facts.", 20, 4)], cycle=True)
        ),
        "broken": Agent("broken", model=ScriptedModel([[RuntimeError("down")]], cycle=True)),
    }


ROUTES: dict[str, Any] = {
    "agent": route("research", "agent", "Find facts"),
    "broken-agent": route("broken", "agent", "Try"),
    "workflow": route("report", "workflow", {"topic": "dolphins"}),
    "tool": route("word_count", "tool", {"text": "a b c"}),
    "failing-tool": route("failing", "tool", {"text": "x"}),
    "none": NONE,
    "bad-json": '{"primitiveId": ',
    "unknown": route("ghost", "agent", "x"),
    "bad-prompt": route("report", "workflow", "not json"),
}
CHECKS: dict[str, Any] = {
    "fail": verdict(False, "not yet"),
    "pass": verdict(True, "done"),
    "pass-with-answer": verdict(True, "done", "The final answer."),
    "garbage": "no idea",
}


@given(
    routes=st.lists(st.sampled_from(sorted(ROUTES)), max_size=8),
    checks=st.lists(st.sampled_from(sorted(CHECKS)), max_size=8),
    max_steps=st.integers(min_value=1, max_value=6),
)
async def test_random_routing_scripts_give_well_formed_streams(
    routes: list[str], checks: list[str], max_steps: int
) -> None:
    router = Router([ROUTES[r] for r in routes], [CHECKS[c] for c in checks])
    agent = network_agent(
        router, agents=agents(), tools={"word_count": word_count, "failing": failing}
    )
    stream = await agent.network("Task", max_steps=max_steps, memory={"thread": "t"})
    chunks = await collect(stream)

    assert_well_formed(chunks)  # inner agent and workflow streams included
    assert chunks[-1].type == "network-execution-event-finish"
    routings = len(of_type(chunks, "routing-agent-start"))
    checks_run = len(of_type(chunks, "network-validation-start"))
    agent_steps = len(
        [
            c
            for c in of_type(chunks, "agent-execution-event-step-finish")
            if c.payload.payload.output.usage.input_tokens
        ]
    )
    expected = Usage(
        input_tokens=100 * routings + 50 * checks_run + 20 * agent_steps,
        output_tokens=10 * routings + 5 * checks_run + 4 * agent_steps,
    )
    out: list[Usage] = []
    reactivex.from_iterable(chunks).pipe(reduce_usage()).subscribe(out.append)
    assert out == [expected]
    assert await stream.usage == expected

    result = await stream.result
    passed = [c.payload.passed for c in of_type(chunks, "network-validation-end")]
    assert result.is_complete == (bool(passed) and passed[-1])
    assert await stream.status == ("success" if result.is_complete else "max-steps")
    assert 1 <= routings <= max_steps + 1  # iterations 0 to max_steps, as in Mastra
    assert result.iteration == routings - 1
    if not result.is_complete:
        assert routings == max_steps + 1
        assert result.completion_reason == f"Max iterations reached: {max_steps}"
    assert result.usage == expected.filled()
    # every primitive that ran (failed or not) and every none is checked; a rejected decision
    # goes straight back to the router
    ends = [c for c in chunks if c.type.endswith("-execution-end")]
    nones = len(of_type(chunks, "network-execution-event-step-finish"))
    assert checks_run == len(ends) + nones
