"""The embedded models: ScriptedModel, ScriptedModelV1 and FunctionModel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.models import (
    FunctionModel,
    LanguageModel,
    LanguageModelV1,
    ModelCall,
    ScriptedModel,
    ScriptedModelV1,
    TextDeltaPart,
)

CALL = ModelCall(prompt=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}])


async def collect(observable: Any) -> list[Any]:
    future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
    items: list[Any] = []
    observable.subscribe(items.append, future.set_exception, lambda: future.set_result(items))
    return await future


async def test_scripted_model_replays_one_step_per_call() -> None:
    model = ScriptedModel(
        [[{"type": "text-delta", "id": "t", "delta": "a"}], [TextDeltaPart(id="t", delta="b")]]
    )
    assert isinstance(model, LanguageModel)
    first = await collect(model.do_stream(CALL))
    second = await collect(model.do_stream(CALL))
    assert [p.delta for p in first] == ["a"]
    assert [p.delta for p in second] == ["b"]
    assert model.calls == [CALL, CALL]
    with pytest.raises(ConfigurationError, match="only 2 step"):
        await collect(model.do_stream(CALL))


async def test_scripted_model_never_emits_inside_subscribe() -> None:
    model = ScriptedModel([[{"type": "text-delta", "id": "t", "delta": "a"}]])
    seen: list[Any] = []
    subscription = model.do_stream(CALL).subscribe(seen.append)
    assert seen == []
    subscription.dispose()
    await asyncio.sleep(0)
    assert seen == []  # disposed before the loop callback ran


async def test_scripted_model_part_delay_emits_one_part_per_delay() -> None:
    model = ScriptedModel(
        [[{"type": "text-delta", "id": "t", "delta": str(i)} for i in range(3)]], part_delay=0.001
    )
    parts = await collect(model.do_stream(CALL))
    assert [p.delta for p in parts] == ["0", "1", "2"]


async def test_scripted_model_cycle_and_reset() -> None:
    model = ScriptedModel([[{"type": "finish", "finishReason": "stop"}]], cycle=True)
    for _ in range(3):
        await collect(model.do_stream(CALL))
    assert len(model.calls) == 3
    model.reset()
    assert model.calls == []


def test_invalid_parts_are_rejected_at_construction() -> None:
    with pytest.raises(InvalidInputError, match="invalid model part"):
        ScriptedModel([[{"type": "text-delta", "id": "t"}]])
    with pytest.raises(InvalidInputError):
        ScriptedModel([[{"type": "teleport"}]])
    with pytest.raises(ConfigurationError):
        ScriptedModel("not a list")  # type: ignore[arg-type]


async def test_scripted_exception_fails_the_stream() -> None:
    model = ScriptedModel([[{"type": "text-delta", "id": "t", "delta": "a"}, RuntimeError("x")]])
    with pytest.raises(RuntimeError, match="x"):
        await collect(model.do_stream(CALL))


async def test_v1_scripted_model() -> None:
    model = ScriptedModelV1([[{"type": "text-delta", "textDelta": "old"}]])
    assert isinstance(model, LanguageModelV1)
    assert model.specification_version == "v1"
    parts = await collect(model.do_stream(CALL))
    assert parts[0].text_delta == "old"


@pytest.mark.parametrize("kind", ["list", "generator", "coroutine", "async-generator"])
async def test_function_model_accepts_every_result_form(kind: str) -> None:
    parts = [{"type": "text-delta", "id": "t", "delta": "x"}, {"type": "finish"}]

    def as_list(call: ModelCall) -> Any:
        return parts

    def as_generator(call: ModelCall) -> Any:
        yield from parts

    async def as_coroutine(call: ModelCall) -> Any:
        return parts

    async def as_async_generator(call: ModelCall) -> Any:
        for part in parts:
            yield part

    fn = {
        "list": as_list,
        "generator": as_generator,
        "coroutine": as_coroutine,
        "async-generator": as_async_generator,
    }[kind]
    model = FunctionModel(fn)
    out = await collect(model.do_stream(CALL))
    assert [p.type for p in out] == ["text-delta", "finish"]
    assert model.calls == [CALL]


async def test_function_model_errors_become_on_error() -> None:
    def broken(call: ModelCall) -> Any:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await collect(FunctionModel(broken).do_stream(CALL))
    with pytest.raises(ConfigurationError):
        FunctionModel("nope")  # type: ignore[arg-type]


async def test_function_model_dispose_cancels_the_task() -> None:
    closed = asyncio.Event()

    async def slow(call: ModelCall) -> Any:
        try:
            yield {"type": "text-delta", "id": "t", "delta": "x"}
            await asyncio.Event().wait()
        finally:
            closed.set()

    first = asyncio.Event()
    subscription = FunctionModel(slow).do_stream(CALL).subscribe(lambda _: first.set())
    await asyncio.wait_for(first.wait(), 5)
    subscription.dispose()
    await asyncio.wait_for(closed.wait(), 5)
