"""Model settings are checked before a run starts: finite numbers, known shapes."""

from __future__ import annotations

import math

import pytest

from rxagents import Agent
from rxagents.errors import InvalidInputError
from rxagents.models import ScriptedModel, check_settings

FINISH = [{"type": "finish", "finishReason": "stop"}]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, float("1e400")])
@pytest.mark.parametrize("name", ["temperature", "top_p", "presence_penalty", "frequency_penalty"])
async def test_non_finite_numbers_are_refused_naming_the_setting(name: str, value: float) -> None:
    agent = Agent("a", model=ScriptedModel([FINISH]))
    with pytest.raises(InvalidInputError, match=f"{name}: Input should be a finite number"):
        await agent.stream("hi", **{name: value})
    assert agent.model.calls == []  # type: ignore[union-attr]  # nothing ran


async def test_valid_settings_reach_the_model() -> None:
    model = ScriptedModel([FINISH])
    stream = await Agent("a", model=model).stream("hi", temperature=0.2, top_p=1, seed=7)
    assert await stream.finish_reason == "stop"
    assert (model.calls[0].temperature, model.calls[0].top_p, model.calls[0].seed) == (0.2, 1, 7)


def test_check_settings_accepts_what_a_model_call_accepts() -> None:
    check_settings({"temperature": 1.0, "stop_sequences": ["\n"], "tool_choice": "auto"})
    with pytest.raises(InvalidInputError, match="stop_sequences"):
        check_settings({"stop_sequences": "not a list"})
