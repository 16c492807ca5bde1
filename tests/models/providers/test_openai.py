"""OpenAIChatModel against a fake OpenAI server: stream mapping and request shape."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.models import ModelCall, ToolSpec
from rxagents.models.providers import OpenAIChatModel

USER = {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]}


def model_for(server: Any, **kwargs: Any) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-4o-mini", base_url=f"{server.url}/v1", api_key="sk-test", **kwargs)


async def test_text_streams_as_one_block_with_metadata_and_usage(
    openai_server: Any, fakes: ModuleType
) -> None:
    usage = fakes.openai_usage(21, 3, cached=8)
    openai_server.script(fakes.openai_text(["Hel", "lo", "!"], usage))
    got = await fakes.collect(model_for(openai_server).do_stream(ModelCall(prompt=[USER])))
    assert got.completed
    assert got.error is None
    assert got.types == [
        "stream-start",
        "response-metadata",
        "text-start",
        "text-delta",
        "text-delta",
        "text-delta",
        "text-end",
        "finish",
    ]
    assert got.text == "Hello!"
    metadata = got.of("response-metadata")[0]
    assert metadata.id.startswith("chatcmpl-fake")
    assert metadata.model_id == fakes.OPENAI_MODEL
    assert metadata.timestamp == fakes.OPENAI_CREATED * 1000
    finish = got.parts[-1]
    assert finish.finish_reason == "stop"
    assert finish.usage.counters() == (21, 3, 24, 0, 8, 0)


async def test_parallel_tool_calls_with_fragmented_arguments(
    openai_server: Any, fakes: ModuleType
) -> None:
    openai_server.script(
        fakes.openai_tool_calls(
            [
                ("call_paris", "weather", ['{"ci', 'ty": "Pa', 'ris"}']),
                ("call_rome", "weather", ['{"city"', ': "Rome"}']),
            ]
        )
    )
    got = await fakes.collect(model_for(openai_server).do_stream(ModelCall(prompt=[USER])))
    kinds = [(p.type, getattr(p, "id", getattr(p, "tool_call_id", None))) for p in got.parts]
    assert kinds[2:] == [
        ("tool-input-start", "call_paris"),
        ("tool-input-delta", "call_paris"),
        ("tool-input-delta", "call_paris"),
        ("tool-input-delta", "call_paris"),
        ("tool-input-start", "call_rome"),
        ("tool-input-delta", "call_rome"),
        ("tool-input-delta", "call_rome"),
        ("tool-input-end", "call_paris"),
        ("tool-call", "call_paris"),
        ("tool-input-end", "call_rome"),
        ("tool-call", "call_rome"),
        ("finish", None),
    ]
    calls = got.of("tool-call")
    assert [(c.tool_name, json.loads(c.input)) for c in calls] == [
        ("weather", {"city": "Paris"}),
        ("weather", {"city": "Rome"}),
    ]
    deltas = "".join(p.delta for p in got.of("tool-input-delta") if p.id == "call_paris")
    assert deltas == '{"city": "Paris"}'
    assert got.parts[-1].finish_reason == "tool-calls"


async def test_interleaved_tool_call_fragments_are_keyed_by_index(
    openai_server: Any, fakes: ModuleType
) -> None:
    def fragment(index: int, **function: str) -> dict[str, Any]:
        head = {"id": f"call_{index}", "type": "function"} if "name" in function else {}
        return {"tool_calls": [{"index": index, **head, "function": function}]}

    deltas = [
        fragment(0, name="a", arguments=""),
        fragment(1, name="b", arguments='{"y"'),
        fragment(0, arguments='{"x":'),
        fragment(1, arguments=":2}"),
        fragment(0, arguments="1}"),
    ]
    frames = fakes.openai_frames(deltas, "tool_calls")
    openai_server.script(fakes.Reply(headers=fakes.openai_headers(), frames=frames))
    got = await fakes.collect(model_for(openai_server).do_stream(ModelCall(prompt=[USER])))
    assert [(c.tool_call_id, c.tool_name, c.input) for c in got.of("tool-call")] == [
        ("call_0", "a", '{"x":1}'),
        ("call_1", "b", '{"y":2}'),
    ]


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
async def test_reasoning_deltas_become_a_reasoning_block_before_text(
    openai_server: Any, fakes: ModuleType, key: str
) -> None:
    usage = fakes.openai_usage(9, 30, reasoning=22)
    openai_server.script(fakes.openai_reasoning(["Let me ", "think."], ["42"], usage, key=key))
    got = await fakes.collect(model_for(openai_server).do_stream(ModelCall(prompt=[USER])))
    assert got.types[2:] == [
        "reasoning-start",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-end",
        "finish",
    ]
    assert got.reasoning == "Let me think."
    assert got.text == "42"
    assert got.parts[-1].usage.reasoning_tokens == 22


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "tool-calls"),
        ("content_filter", "content-filter"),
        ("something_new", "other"),
    ],
)
async def test_finish_reasons_map_to_the_part_vocabulary(
    openai_server: Any, fakes: ModuleType, wire: str, reason: str
) -> None:
    frames = fakes.openai_frames([{"content": "x"}], wire)
    openai_server.script(fakes.Reply(headers=fakes.openai_headers(), frames=frames))
    got = await fakes.collect(model_for(openai_server).do_stream(ModelCall(prompt=[USER])))
    assert got.parts[-1].finish_reason == reason


async def test_compatible_server_without_done_or_usage_still_completes(
    openai_server: Any, fakes: ModuleType
) -> None:
    # llama.cpp-style: the finish chunk, then the body simply ends.
    frames = fakes.openai_frames([{"content": "ok"}], "stop")[:-2]
    openai_server.script(fakes.Reply(headers=fakes.openai_headers(), frames=frames))
    got = await fakes.collect(model_for(openai_server).do_stream(ModelCall(prompt=[USER])))
    assert got.completed
    assert got.text == "ok"
    assert got.parts[-1].finish_reason == "stop"


# --- the request ---------------------------------------------------------------------------------

CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    USER,
    {
        "role": "assistant",
        "content": [
            {"type": "reasoning", "text": "need tools"},
            {"type": "text", "text": "Checking."},
            {
                "type": "tool-call",
                "toolCallId": "c1",
                "toolName": "weather",
                "input": {"city": "Paris"},
            },
            {
                "type": "tool-call",
                "toolCallId": "c2",
                "toolName": "weather",
                "input": {"city": "Rome"},
            },
        ],
    },
    {
        "role": "tool",
        "content": [
            {
                "type": "tool-result",
                "toolCallId": "c1",
                "toolName": "weather",
                "output": {"type": "json", "value": {"temp": 21}},
            },
            {
                "type": "tool-result",
                "toolCallId": "c2",
                "toolName": "weather",
                "output": {"type": "error-text", "value": "Rome is offline"},
            },
        ],
    },
]


async def test_request_carries_conversation_tools_format_and_settings(
    openai_server: Any, fakes: ModuleType
) -> None:
    openai_server.script(fakes.openai_text(["ok"]))
    call = ModelCall(
        prompt=CONVERSATION,
        tools=[ToolSpec(name="weather", description="Weather", input_schema={"type": "object"})],
        tool_choice={"type": "tool", "toolName": "weather"},
        response_format={"type": "json", "schema": {"type": "object"}, "name": "Answer"},
        temperature=0.2,
        top_p=0.9,
        seed=7,
        max_output_tokens=100,
        stop_sequences=["END"],
        presence_penalty=0.1,
        frequency_penalty=0.3,
        headers={"X-Trace": "t1"},
        provider_options={"openai": {"user": "u-1"}},
    )
    model = model_for(openai_server, headers={"X-Team": "a"}, organization="org-1")
    got = await fakes.collect(model.do_stream(call))
    assert got.completed
    request = openai_server.requests[0]
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["OpenAI-Organization"] == "org-1"
    assert request.headers["X-Team"] == "a"
    assert request.headers["X-Trace"] == "t1"
    assert request.json == {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": '{"temp":21}'},
            {"role": "tool", "tool_call_id": "c2", "content": "Rome is offline"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Weather",
                    "parameters": {"type": "object"},
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "Answer", "schema": {"type": "object"}, "strict": False},
        },
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "max_completion_tokens": 100,
        "stop": ["END"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.3,
        "user": "u-1",
    }


async def test_compatible_providers_get_max_tokens_and_no_key(
    openai_server: Any, fakes: ModuleType
) -> None:
    openai_server.script(fakes.openai_text(["ok"]))
    model = OpenAIChatModel(
        "llama3.2", base_url=f"{openai_server.url}/v1", api_key="", provider="ollama"
    )
    got = await fakes.collect(
        model.do_stream(ModelCall(prompt=[USER], max_output_tokens=5, top_k=3))
    )
    request = openai_server.requests[0]
    assert "Authorization" not in request.headers
    assert request.json["max_tokens"] == 5
    assert "top_k" not in request.json
    assert got.parts[0].warnings == [
        {
            "type": "unsupported-setting",
            "setting": "top_k",
            "details": got.parts[0].warnings[0]["details"],
        }
    ]


def test_missing_key_for_openai_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIChatModel("gpt-4o-mini")


def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    model = OpenAIChatModel("gpt-4o-mini")
    assert model.base_url == "http://127.0.0.1:9/v1"
    assert "sk-env-key" not in repr(model)


def test_unmappable_prompt_raises_at_call_time() -> None:
    model = OpenAIChatModel("m", base_url="http://127.0.0.1:9/v1", api_key="")
    with pytest.raises(InvalidInputError):
        _ = model.do_stream(ModelCall(prompt=[{"role": "robot", "content": "hi"}]))


async def test_structured_output_is_named_after_the_schema_title(
    openai_server: Any, fakes: ModuleType
) -> None:
    openai_server.script(fakes.openai_text(['{"a": 1}']))
    schema = {"title": "City Weather", "type": "object"}
    call = ModelCall(
        prompt=[USER],
        tools=[ToolSpec(name="weather")],
        response_format={"type": "json", "schema": schema},
    )
    await fakes.collect(model_for(openai_server, strict_json_schema=True).do_stream(call))
    body = openai_server.requests[0].json
    assert body["response_format"]["json_schema"] == {
        "name": "City_Weather",
        "schema": schema,
        "strict": True,
    }
    assert body["tools"] == [
        {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
    ]
    assert body["tool_choice"] == "auto"


async def test_text_response_format_sends_no_response_format(
    openai_server: Any, fakes: ModuleType
) -> None:
    openai_server.script(fakes.openai_text(["ok"]), fakes.openai_text(["{}"]))
    model = model_for(openai_server)
    await fakes.collect(model.do_stream(ModelCall(prompt=[USER], response_format={"type": "text"})))
    await fakes.collect(model.do_stream(ModelCall(prompt=[USER], response_format={"type": "json"})))
    first, second = (r.json for r in openai_server.requests)
    assert "response_format" not in first
    assert second["response_format"] == {"type": "json_object"}
