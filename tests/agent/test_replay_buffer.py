"""An agent stream's replay buffer: light (compact deltas), and replaying equal chunks."""

from __future__ import annotations

import gc
from typing import Any

from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

from rxagents.agent import Agent
from rxagents.models import FunctionModel, ScriptedModel
from rxagents.testing.strategies import Script, agent_scripts


def _tracked(item: Any) -> int:
    """Objects the collector tracks that one stored item holds (itself included)."""
    count, pending = 0, [item]
    while pending:
        obj = pending.pop()
        count += gc.is_tracked(obj)
        if isinstance(obj, tuple):
            pending.extend(obj)
        elif isinstance(obj, BaseModel):
            count += gc.is_tracked(obj.__dict__)
            pending.extend(v for v in obj.__dict__.values() if isinstance(v, BaseModel))
    return count


def _generated(tokens: int) -> FunctionModel:
    def parts(call: Any) -> Any:
        yield {"type": "text-start", "id": "t"}
        for index in range(tokens):
            yield {"type": "text-delta", "id": "t", "delta": f"w{index} "}
        yield {"type": "reasoning-start", "id": "r"}
        for index in range(tokens):
            yield {"type": "reasoning-delta", "id": "r", "delta": f"r{index}"}
        yield {"type": "reasoning-end", "id": "r"}
        yield {"type": "text-end", "id": "t"}
        yield {"type": "finish", "finishReason": "stop"}

    return FunctionModel(parts)


async def test_finished_run_keeps_at_most_one_tracked_object_per_chunk() -> None:
    stream = await Agent("a", model=_generated(500)).stream("go")
    read = [chunk async for chunk in stream]
    assert await stream.text == "".join(f"w{index} " for index in range(500))
    gc.collect()
    stored = stream.chunks.raw
    assert len(stored) == len(read) > 1000
    assert sum(_tracked(item) for item in stored) <= len(stored)
    assert sum(type(item) is tuple for item in stored) >= 1000


async def test_every_reader_sees_equal_chunks_that_dump_the_same() -> None:
    stream = await Agent("a", model=_generated(200)).stream("go")
    live: list[Any] = []
    stream.observable.subscribe(live.append)
    first = [chunk async for chunk in stream]
    late = [chunk async for chunk in stream]
    assert first == live == late == list(stream.chunks)
    for a, b in zip(first, live, strict=True):
        assert a.model_dump(by_alias=True) == b.model_dump(by_alias=True)
    assert [text async for text in stream.text_stream] == [
        c.payload.text for c in first if c.type == "text-delta"
    ]
    steps = await stream.steps
    assert steps[0].reasoning == "".join(f"r{index}" for index in range(200))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(agent_scripts())
async def test_scripted_runs_replay_what_live_observers_saw(script: Script) -> None:
    agent = Agent("a", model=ScriptedModel(script))
    stream = await agent.stream("go")
    live: list[Any] = []
    stream.observable.subscribe(live.append)
    read = [chunk async for chunk in stream]
    assert read == live
    assert [c.model_dump(by_alias=True) for c in stream.chunks] == [
        c.model_dump(by_alias=True) for c in live
    ]
    steps = await stream.steps
    assert "".join(step.text for step in steps) == "".join(
        c.payload.text for c in read if c.type == "text-delta"
    )
