"""Agent streams: event sequences, payload keys and awaitable results (DESIGN section 2)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from pydantic import BaseModel, ValidationError

from rxagents.agent import Agent, Tool, tool
from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.events import parse_chunk
from rxagents.models import FunctionModel, ScriptedModel, ScriptedModelV1
from rxagents.operators import reduce_usage
from rxagents.testing import assert_well_formed
from rxagents.usage import Usage


@tool
def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temp": 21}


@tool
async def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"tool failed: {reason}")


def make_agent(steps: list[Any], **kwargs: Any) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(steps)
    agent = Agent("probe-agent", instructions="Be brief.", model=model, **kwargs)
    return agent, model


async def collect(agent: Agent, messages: Any = "hi", **options: Any) -> tuple[list[Any], Any]:
    stream = await agent.stream(messages, **options)
    chunks = [chunk async for chunk in stream]
    return chunks, stream


def types(chunks: list[Any]) -> list[str]:
    return [c.type for c in chunks]


def wire(chunk: Any) -> dict[str, Any]:
    data: dict[str, Any] = chunk.model_dump(mode="json", by_alias=True)
    return data


async def test_text_only_reply_is_one_step_block(scripts: Any) -> None:
    agent, _ = make_agent([scripts.text("Hello", ", world")])
    chunks, stream = await collect(agent)
    assert types(chunks) == [
        "start",
        "step-start",
        "text-start",
        "text-delta",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    assert_well_formed(chunks)
    assert await stream.text == "Hello, world"
    assert await stream.finish_reason == "stop"
    assert (await stream.usage).counters()[:3] == (10, 5, 15)
    assert {c.run_id for c in chunks} == {stream.run_id}


async def test_payload_keys_follow_design_section_2(scripts: Any) -> None:
    agent, _ = make_agent(
        [scripts.tools(("c1", "weather", '{"city":"Paris"}')), scripts.text("ok")]
    )
    chunks, _ = await collect_with_tool(agent)
    by_type = {c.type: wire(c) for c in chunks}
    for data in by_type.values():
        assert set(data) == {"type", "runId", "from", "payload"}
        assert data["from"] == "AGENT"
    assert set(by_type["start"]["payload"]) == {"id", "messageId"}
    assert by_type["start"]["payload"]["id"] == "probe-agent"
    assert set(by_type["step-start"]["payload"]) == {
        "request",
        "warnings",
        "messageId",
        "startedAt",
    }
    assert set(by_type["text-delta"]["payload"]) == {"id", "text"}
    assert set(by_type["tool-call"]["payload"]) == {"toolCallId", "toolName", "args"}
    assert by_type["tool-call"]["payload"]["args"] == {"city": "Paris"}
    assert set(by_type["tool-result"]["payload"]) == {"toolCallId", "toolName", "args", "result"}
    for kind in ("step-finish", "finish"):
        payload = by_type[kind]["payload"]
        assert {"messageId", "stepResult", "output", "metadata"} <= set(payload)
        assert set(payload["stepResult"]) >= {"reason", "isContinued"}
        assert {"text", "toolCalls", "usage"} <= set(payload["output"])
        assert {"id", "modelId", "provider", "timestamp"} <= set(payload["metadata"])
        assert set(payload["metadata"]["modelMetadata"]) == {
            "modelId",
            "modelVersion",
            "modelProvider",
        }
    assert by_type["text-end"]["payload"] == {"type": "text-end", "id": "t1"}
    for chunk in chunks:  # the wire form parses back to the same chunk
        assert parse_chunk(wire(chunk)) == chunk


async def collect_with_tool(agent: Agent) -> tuple[list[Any], Any]:
    agent.tools["weather"] = weather
    return await collect(agent)


async def test_tool_call_then_second_step_sums_usage(scripts: Any) -> None:
    agent, model = make_agent(
        [
            scripts.tools(("call-1", "weather", '{"city":"Paris"}'), streamed=True, i=15, o=5),
            scripts.text("It is 21C", i=30, o=8),
        ],
        tools=[weather],
    )
    chunks, stream = await collect(agent, "Weather in Paris?")
    assert types(chunks) == [
        "start",
        "step-start",
        "tool-call-input-streaming-start",
        "tool-call-delta",
        "tool-call-delta",
        "tool-call-input-streaming-end",
        "tool-call",
        "tool-result",
        "step-finish",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    assert_well_formed(chunks)
    step_finishes = [c for c in chunks if c.type == "step-finish"]
    assert step_finishes[0].payload.step_result.is_continued is True
    assert step_finishes[1].payload.step_result.is_continued is False
    assert step_finishes[0].payload.output.usage.counters()[:3] == (15, 5, 20)
    finish = chunks[-1]
    assert finish.payload.output.usage.counters()[:3] == (45, 13, 58)
    assert await stream.text == "It is 21C"
    assert (await stream.usage).counters()[:3] == (45, 13, 58)
    results = await stream.tool_results
    assert results[0].result == {"city": "Paris", "temp": 21}
    assert [c.tool_name for c in await stream.tool_calls] == ["weather"]
    # the second model call saw the tool call and its result
    second = model.calls[1].prompt
    assert second[0] == {"role": "system", "content": "Be brief."}
    assert second[-2]["content"][0]["type"] == "tool-call"
    assert second[-1]["content"][0]["output"] == {
        "type": "json",
        "value": {"city": "Paris", "temp": 21},
    }
    assert [t.name for t in model.calls[0].tools] == ["weather"]
    assert model.calls[0].tools[0].input_schema["properties"]["city"]["type"] == "string"


async def test_two_tool_calls_in_one_step_are_answered_in_order(scripts: Any) -> None:
    agent, _ = make_agent(
        [
            scripts.tools(
                ("a", "weather", '{"city":"Paris"}'), ("b", "weather", '{"city":"Oslo"}')
            ),
            scripts.text("done"),
        ],
        tools=[weather],
    )
    chunks, stream = await collect(agent)
    assert_well_formed(chunks)
    assert types(chunks)[2:6] == ["tool-call", "tool-call", "tool-result", "tool-result"]
    assert [r.tool_call_id for r in await stream.tool_results] == ["a", "b"]
    assert [r.result["city"] for r in await stream.tool_results] == ["Paris", "Oslo"]


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("explode", '{"reason":"Boom"}', "tool failed: Boom"),
        ("weather", '{"town":"Paris"}', "invalid arguments for tool 'weather'"),
        ("weather", '{"city":', "not valid JSON"),
        ("nope", "{}", "unknown tool 'nope'"),
    ],
)
async def test_tool_failures_become_tool_error_and_the_run_goes_on(
    scripts: Any, name: str, args: str, message: str
) -> None:
    agent, model = make_agent(
        [scripts.tools(("c1", name, args)), scripts.text("sorry")], tools=[weather, explode]
    )
    chunks, stream = await collect(agent)
    assert_well_formed(chunks)
    errors = [c for c in chunks if c.type == "tool-error"]
    assert len(errors) == 1
    assert message in errors[0].payload.error.message
    assert await stream.text == "sorry"
    tool_message = model.calls[1].prompt[-1]["content"][0]
    assert tool_message["output"]["type"] == "error-text"
    assert message in tool_message["output"]["value"]


async def test_max_steps_stops_the_loop(scripts: Any) -> None:
    def call(n: int) -> tuple[str, str, str]:
        return (f"c{n}", "weather", '{"city":"Paris"}')

    agent, model = make_agent(
        [scripts.tools(call(1)), scripts.tools(call(2)), scripts.tools(call(3))],
        tools=[weather],
        max_steps=2,
    )
    chunks, stream = await collect(agent)
    assert_well_formed(chunks)
    assert types(chunks).count("step-start") == 2
    assert len(model.calls) == 2
    assert chunks[-2].payload.step_result.is_continued is False
    assert await stream.finish_reason == "tool-calls"


async def test_max_steps_option_overrides_the_agent(scripts: Any) -> None:
    agent, model = make_agent(
        [scripts.tools(("c1", "weather", "{}")), scripts.tools(("c2", "weather", "{}"))],
        tools=[weather],
    )
    chunks, _ = await collect(agent, max_steps=1)
    assert types(chunks).count("step-start") == 1
    assert len(model.calls) == 1


async def test_reasoning_blocks_stream(scripts: Any) -> None:
    agent, _ = make_agent(
        [
            [
                {"type": "reasoning-start", "id": "r1"},
                {"type": "reasoning-delta", "id": "r1", "delta": "thinking"},
                {"type": "reasoning-end", "id": "r1"},
                *scripts.text("answer"),
            ]
        ]
    )
    chunks, stream = await collect(agent)
    assert_well_formed(chunks)
    assert types(chunks)[2:5] == ["reasoning-start", "reasoning-delta", "reasoning-end"]
    assert (await stream.steps)[0].reasoning == "thinking"


class City(BaseModel):
    city: str
    temp: int


async def test_structured_output_streams_partial_objects() -> None:
    text = '{"city": "Paris", "temp": 21}'
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
    agent, model = make_agent(
        [
            [
                {"type": "text-start", "id": "t"},
                *({"type": "text-delta", "id": "t", "delta": p} for p in pieces),
                {"type": "text-end", "id": "t"},
                {"type": "finish", "finishReason": "stop"},
            ]
        ]
    )
    stream = await agent.stream("weather?", output=City)
    chunks = [c async for c in stream]
    assert_well_formed(chunks)
    objects = [c.payload.object for c in chunks if c.type == "object"]
    assert objects[0] == {"city": ""} or objects[0] == {}
    assert objects[-1] == {"city": "Paris", "temp": 21}
    assert types(chunks).index("object-result") < types(chunks).index("step-finish")
    # as in Mastra, each object chunk comes right before the text delta it includes
    first_object = types(chunks).index("object")
    assert types(chunks)[first_object + 1] == "text-delta"
    value = await stream.object
    assert value == City(city="Paris", temp=21)
    assert model.calls[0].response_format == {"type": "json", "schema": City.model_json_schema()}


async def test_structured_output_validation_failure_keeps_the_text() -> None:
    agent, _ = make_agent([[*({"type": "text-delta", "id": "t", "delta": '{"city": 3}'},)]])
    stream = await agent.stream("weather?", output=City)
    assert await stream.text == '{"city": 3}'
    with pytest.raises(ValueError, match="validation error"):
        await stream.object


async def test_text_stream_without_text_start_still_opens_the_block() -> None:
    agent, _ = make_agent([[{"type": "text-delta", "id": "t", "delta": "x"}]])
    chunks, _ = await collect(agent)
    assert_well_formed(chunks)
    assert types(chunks)[2:5] == ["text-start", "text-delta", "text-end"]


async def test_model_error_part_closes_the_block_then_error_and_finish(scripts: Any) -> None:
    agent, _ = make_agent(
        [
            [
                {"type": "text-start", "id": "t"},
                {"type": "text-delta", "id": "t", "delta": "par"},
                {"type": "error", "error": {"message": "provider exploded", "name": "APIError"}},
                {"type": "text-delta", "id": "t", "delta": "ignored"},
            ]
        ]
    )
    chunks, stream = await collect(agent)
    assert_well_formed(chunks)
    assert types(chunks) == [
        "start",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "error",
        "step-finish",
        "finish",
    ]
    assert chunks[5].payload.error.message == "provider exploded"
    assert await stream.text == "par"
    assert await stream.finish_reason == "error"
    assert stream.error is not None
    assert stream.error.message == "provider exploded"  # type: ignore[union-attr]


async def test_model_exception_mid_stream_is_an_error_chunk() -> None:
    agent, _ = make_agent(
        [[{"type": "text-delta", "id": "t", "delta": "abc"}, ConnectionError("socket hang up")]]
    )
    chunks, stream = await collect(agent)
    assert_well_formed(chunks)
    error = next(c for c in chunks if c.type == "error")
    assert error.payload.error.name == "ConnectionError"
    assert error.payload.error.message == "socket hang up"
    assert await stream.text == "abc"


async def test_model_failing_before_any_part_is_still_a_step_block() -> None:
    agent, _ = make_agent([[RuntimeError("401 bad key")]])
    chunks, _ = await collect(agent)
    assert_well_formed(chunks)
    assert types(chunks) == ["start", "step-start", "error", "step-finish", "finish"]


async def test_script_exhausted_is_a_clear_error(scripts: Any) -> None:
    agent, _ = make_agent([scripts.tools(("c", "weather", '{"city":"x"}'))], tools=[weather])
    chunks, stream = await collect(agent)
    assert_well_formed(chunks)
    assert "only 1 step(s) are scripted" in stream.error.message  # type: ignore[union-attr]


async def test_usage_equals_reduce_usage_over_the_stream(scripts: Any) -> None:
    agent, _ = make_agent(
        [scripts.tools(("c", "weather", '{"city":"x"}'), i=7, o=3), scripts.text("a", i=11, o=2)],
        tools=[weather],
    )
    stream = await agent.stream("hi")
    reduced: list[Usage] = []
    stream.observable.pipe(reduce_usage()).subscribe(reduced.append)
    total = await stream.usage
    assert reduced == [total]
    assert total.counters()[:3] == (18, 5, 23)


async def test_late_readers_replay_and_the_model_is_called_once(scripts: Any) -> None:
    agent, model = make_agent([scripts.text("a", "b", "c")])
    stream = await agent.stream("hi")
    assert await stream.text == "abc"
    first = [c async for c in stream]
    second = [t async for t in stream.text_stream]
    assert second == ["a", "b", "c"]
    assert [c async for c in stream] == first
    assert len(model.calls) == 1
    assert await stream.text == "abc"  # awaiting twice is fine


async def test_results_asked_for_after_the_end_equal_those_awaited_during_the_run(
    scripts: Any,
) -> None:
    steps = [scripts.tools(("c1", "weather", '{"city":"Paris"}')), scripts.text("a", "b")]
    waiting_agent, _ = make_agent(steps, tools=[weather])
    waiting = await waiting_agent.stream("hi")
    text, usage, steps_seen = waiting.text, waiting.usage, waiting.steps  # asked for first
    assert waiting.error is None
    assert not text.done()
    reading_agent, _ = make_agent(steps, tools=[weather])
    reading = await reading_agent.stream("hi")
    assert [c.type async for c in reading] == [c.type async for c in waiting]
    assert text.done()
    assert await reading.text == await text == "ab"
    assert await reading.usage == await usage
    assert (await reading.steps)[0].tool_calls[0].tool_name == "weather"
    assert [s.text for s in await reading.steps] == [s.text for s in await steps_seen]
    assert await reading.tool_results == await waiting.tool_results
    assert reading.error is None
    with pytest.raises(ConfigurationError):
        await reading.object


async def test_concurrent_readers_see_the_same_chunks(scripts: Any) -> None:
    agent, model = make_agent([scripts.text("a", "b")])
    stream = await agent.stream("hi")

    async def read() -> list[Any]:
        return [c async for c in stream]

    a, b, text = await asyncio.gather(read(), read(), stream.text)
    assert a == b
    assert text == "ab"
    assert len(model.calls) == 1


async def test_observe_is_cold_one_run_per_subscription(scripts: Any) -> None:
    model = ScriptedModel([scripts.text("x")], cycle=True)
    agent = Agent("a", model=model)
    observable = agent.observe("hi")
    assert model.calls == []
    done: list[asyncio.Future[list[Any]]] = []
    for _ in range(2):
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        items: list[Any] = []
        observable.subscribe(
            items.append, future.set_exception, lambda i=items, f=future: f.set_result(i)
        )
        done.append(future)
    first, second = await asyncio.gather(*done)
    assert len(model.calls) == 2
    assert first[0].run_id != second[0].run_id
    assert types(first) == types(second)


@pytest.mark.parametrize(
    ("messages", "error"),
    [(42, TypeError), ([{"role": "robot", "content": "x"}], InvalidInputError), ([3], TypeError)],
)
async def test_bad_messages_fail_before_the_run(scripts: Any, messages: Any, error: type) -> None:
    agent, model = make_agent([scripts.text("x")])
    with pytest.raises(error):
        await agent.stream(messages)
    assert model.calls == []


async def test_messages_forms_are_normalised(scripts: Any) -> None:
    agent, model = make_agent([scripts.text("x")] * 3)
    await (await agent.stream(["a", "b"])).text
    await (await agent.stream([{"role": "user", "content": "c"}])).text
    await (await agent.stream([{"role": "user", "content": [{"type": "text", "text": "d"}]}])).text
    prompts = [call.prompt[1:] for call in model.calls]
    assert [m["content"][0]["text"] for m in prompts[0]] == ["a", "b"]
    assert prompts[1][0]["content"] == [{"type": "text", "text": "c"}]
    assert prompts[2][0]["content"] == [{"type": "text", "text": "d"}]


async def test_unknown_option_is_a_type_error(scripts: Any) -> None:
    agent, _ = make_agent([scripts.text("x")])
    with pytest.raises(TypeError, match="unknown option"):
        await agent.stream("hi", maxSteps=3)


async def test_settings_reach_the_model_call(scripts: Any) -> None:
    agent, model = make_agent([scripts.text("x")])
    await (await agent.stream("hi", temperature=0.2, seed=7, tool_choice="none")).text
    call = model.calls[0]
    assert (call.temperature, call.seed, call.tool_choice) == (0.2, 7, "none")


async def test_v1_model_in_stream_names_stream_legacy() -> None:
    agent = Agent("old", model=ScriptedModelV1([[]]))
    with pytest.raises(ConfigurationError, match=r"stream_legacy\(\)"):
        await agent.stream("hi")


async def test_generate_returns_the_final_result(scripts: Any) -> None:
    agent, _ = make_agent(
        [scripts.tools(("c", "weather", '{"city":"Oslo"}')), scripts.text("cold")], tools=[weather]
    )
    result = await agent.generate("weather?")
    assert result.text == "cold"
    assert result.finish_reason == "stop"
    assert len(result.steps) == 2
    assert result.tool_results[0].result == {"city": "Oslo", "temp": 21}
    assert result.usage.total_tokens == 20 + 15


async def test_function_model_sync_and_async_generators() -> None:
    def sync_fn(call: Any) -> list[dict[str, Any]]:
        return [{"type": "text-delta", "id": "t", "delta": "sync"}]

    async def async_fn(call: Any) -> Any:
        yield {"type": "text-delta", "id": "t", "delta": "async"}
        yield {"type": "finish", "finishReason": "stop"}

    assert await (await Agent("a", model=FunctionModel(sync_fn)).stream("x")).text == "sync"
    assert await (await Agent("b", model=FunctionModel(async_fn)).stream("x")).text == "async"


async def test_tools_as_a_dict_use_the_key_as_the_name(scripts: Any) -> None:
    agent, model = make_agent(
        [scripts.tools(("c", "get_weather", '{"city":"x"}')), scripts.text("ok")],
        tools={"get_weather": weather},
    )
    chunks, _ = await collect(agent)
    assert next(c for c in chunks if c.type == "tool-result").payload.tool_name == "get_weather"
    assert [t.name for t in model.calls[0].tools] == ["get_weather"]


def test_bad_agent_configuration_is_rejected() -> None:
    with pytest.raises(ConfigurationError):
        Agent("", model=ScriptedModel([]))
    with pytest.raises(ConfigurationError):
        Agent("a", model="not a model")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Agent("a", model=ScriptedModel([]), tools=[lambda: 1])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError):
        Agent("a", model=ScriptedModel([]), max_steps=0)
    with pytest.raises(ConfigurationError):
        Tool("t", "d", None, None)


async def test_reasoning_goes_back_to_the_model_with_its_provider_metadata(scripts: Any) -> None:
    signed = {"anthropic": {"signature": "sig-1"}}
    agent, model = make_agent(
        [
            [
                {"type": "reasoning-start", "id": "r1"},
                {"type": "reasoning-delta", "id": "r1", "delta": "think"},
                {"type": "reasoning-end", "id": "r1", "providerMetadata": signed},
                *scripts.tools(("c1", "weather", '{"city":"Oslo"}')),
            ],
            scripts.text("done"),
        ],
        tools=[weather],
    )
    await (await agent.stream("hi")).text
    assistant = model.calls[1].prompt[-2]
    assert assistant["content"][0] == {
        "type": "reasoning",
        "text": "think",
        "providerOptions": signed,
    }


async def test_a_model_whose_id_is_not_a_string_fails_the_run_instead_of_reaching_the_wire(
    scripts: Any,
) -> None:
    model = ScriptedModel([scripts.text("Hi")], model_id=cast(Any, 5))
    stream = await Agent("a", model=model).stream("x")

    with pytest.raises(ValidationError, match="model_id"):
        async for _chunk in stream:
            pass
    assert all(chunk.type != "step-finish" for chunk in stream.chunks)
