"""``ScriptedRouter``: networks scripted as plain decisions and verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from rxagents import Agent
from rxagents.errors import ConfigurationError
from rxagents.memory import Memory
from rxagents.models import ScriptedModel, ScriptedRouter
from rxagents.network import CompletionVerdict, RoutingDecision
from rxagents.testing import assert_well_formed


def research() -> Agent:
    reply = [
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "Dolphins nap."},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop"},
    ]
    return Agent("research", description="facts", model=ScriptedModel([reply], cycle=True))


def route(target: str) -> dict[str, Any]:
    return {
        "primitiveId": target,
        "primitiveType": "agent",
        "prompt": "How do dolphins sleep?",
        "selectionReason": f"ask {target}",
    }


async def test_routes_and_checks_answer_in_order_with_their_iteration() -> None:
    router = ScriptedRouter(
        routes=[route("research"), RoutingDecision.model_validate(route("research"))],
        checks=[
            {"isComplete": False, "completionReason": "not yet"},
            CompletionVerdict(is_complete=True, completion_reason="done", final_result="Naps."),
        ],
    )
    coordinator = Agent("c", model=router, agents={"research": research()}, memory=Memory())
    stream = await coordinator.network("Dolphins?")
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks, "network")
    assert await stream.status == "success"
    assert (await stream.result).result == "Naps."
    assert [(c.kind, c.iteration) for c in router.calls] == [
        ("route", 0),
        ("check", 0),
        ("route", 1),
        ("check", 1),
    ]
    usage = await stream.usage
    assert (usage.input_tokens, usage.output_tokens) == (2 * 100 + 2 * 60, 2 * 20 + 2 * 12)


async def test_a_script_function_gets_the_iteration() -> None:
    seen: list[int] = []

    def decide(iteration: int) -> dict[str, Any]:
        seen.append(iteration)
        return route("research")

    router = ScriptedRouter(
        routes=decide,
        checks=lambda i: {"isComplete": i == 2, "completionReason": f"check {i}"},
    )
    coordinator = Agent("c", model=router, agents={"research": research()}, memory=Memory())
    stream = await coordinator.network("Dolphins?")
    assert await stream.status == "success"
    assert seen == [0, 1, 2]


async def test_running_out_of_decisions_is_a_clear_recorded_failure() -> None:
    router = ScriptedRouter(routes=[route("research")], checks=[])
    coordinator = Agent("c", model=router, agents={"research": research()}, memory=Memory())
    stream = await coordinator.network("Dolphins?", max_steps=1)
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks, "network")
    reasons = [c.payload.reason for c in chunks if c.type == "network-validation-end"] + [
        c.payload.selection_reason for c in chunks if c.type == "routing-agent-end"
    ]
    assert any("ScriptedRouter has 0 completion verdicts" in r for r in reasons)
    assert any("ScriptedRouter has 1 routing decisions" in r for r in reasons)
    assert await stream.status == "max-steps"


def test_scripts_must_be_lists_or_functions() -> None:
    with pytest.raises(ConfigurationError, match="routes must be a list or a function"):
        ScriptedRouter(routes=42)  # type: ignore[arg-type]
