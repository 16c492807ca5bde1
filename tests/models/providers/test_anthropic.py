"""AnthropicModel against a fake Anthropic server: stream mapping and request shape."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from rxagents.errors import ConfigurationError, InvalidInputError, ProviderError
from rxagents.models import ModelCall, ToolSpec
from rxagents.models.providers import AnthropicModel

USER = {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def model_for(server: Any, **kwargs: Any) -> AnthropicModel:
    return AnthropicModel("claude-haiku-4-5", base_url=server.url, api_key="sk-ant-test", **kwargs)


async def test_text_thinking_and_tool_use_blocks_map_to_parts(
    anthropic_server: Any, fakes: ModuleType
) -> None:
    anthropic_server.script(
        fakes.anthropic_reply(
            [
                fakes.Thinking(["Paris is ", "in France."]),
                fakes.Text(["Let me ", "check."]),
                fakes.ToolUse("toolu_01", "weather", ['{"city":', ' "Paris"}']),
            ],
            "tool_use",
            input_tokens=40,
            output_tokens=25,
            cache_read=100,
            cache_creation=7,
        )
    )
    got = await fakes.collect(model_for(anthropic_server).do_stream(ModelCall(prompt=[USER])))
    assert got.completed
    assert got.error is None
    assert got.types == [
        "stream-start",
        "response-metadata",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-delta",
        "text-end",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-delta",
        "tool-input-end",
        "tool-call",
        "finish",
    ]
    assert got.reasoning == "Paris is in France."
    assert got.text == "Let me check."
    end = got.of("reasoning-end")[0]
    assert end.provider_metadata == {"anthropic": {"signature": fakes.Thinking([]).signature}}
    call = got.of("tool-call")[0]
    assert (call.tool_call_id, call.tool_name, json.loads(call.input)) == (
        "toolu_01",
        "weather",
        {"city": "Paris"},
    )
    metadata = got.of("response-metadata")[0]
    assert metadata.id.startswith("msg_fake")
    assert metadata.model_id == fakes.ANTHROPIC_MODEL
    finish = got.parts[-1]
    assert finish.finish_reason == "tool-calls"
    # input counts cached tokens too (as OpenAI's prompt_tokens do)
    assert finish.usage.counters() == (147, 25, 172, 0, 100, 7)


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool-calls"),
        ("refusal", "content-filter"),
        ("pause_turn", "other"),
    ],
)
async def test_stop_reasons_map_to_the_part_vocabulary(
    anthropic_server: Any, fakes: ModuleType, wire: str, reason: str
) -> None:
    anthropic_server.script(fakes.anthropic_reply([fakes.Text(["x"])], wire))
    got = await fakes.collect(model_for(anthropic_server).do_stream(ModelCall(prompt=[USER])))
    assert got.parts[-1].finish_reason == reason


async def test_error_event_becomes_an_error_part_after_the_text(
    anthropic_server: Any, fakes: ModuleType
) -> None:
    frames = fakes.anthropic_frames([fakes.Text(["Partial ", "answer"])])[:5]
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    frames.append(fakes.anthropic_frame(error))
    anthropic_server.script(fakes.Reply(headers=fakes.anthropic_headers(), frames=frames))
    got = await fakes.collect(model_for(anthropic_server).do_stream(ModelCall(prompt=[USER])))
    assert got.text == "Partial answer"
    assert got.types[-2:] == ["error", "finish"]
    error_part = got.of("error")[0].error
    assert isinstance(error_part, ProviderError)
    assert "Overloaded" in str(error_part)
    assert "overloaded_error" in str(error_part)
    assert got.parts[-1].finish_reason == "error"
    assert len(anthropic_server.requests) == 1


async def test_structured_output_forces_a_json_tool_streamed_as_text(
    anthropic_server: Any, fakes: ModuleType
) -> None:
    anthropic_server.script(
        fakes.anthropic_reply(
            [fakes.ToolUse("toolu_j", "json", ['{"city"', ': "Paris"}'])], "tool_use"
        )
    )
    call = ModelCall(prompt=[USER], response_format={"type": "json", "schema": SCHEMA})
    got = await fakes.collect(model_for(anthropic_server).do_stream(call))
    assert got.types[2:] == ["text-start", "text-delta", "text-delta", "text-end", "finish"]
    assert json.loads(got.text) == {"city": "Paris"}
    assert got.parts[-1].finish_reason == "stop"
    body = anthropic_server.requests[0].json
    assert body["tools"] == [
        {"name": "json", "description": body["tools"][0]["description"], "input_schema": SCHEMA}
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "json"}


async def test_structured_output_with_tools_lets_the_model_call_them_first(
    anthropic_server: Any, fakes: ModuleType
) -> None:
    anthropic_server.script(fakes.anthropic_text(["unused"]))
    call = ModelCall(
        prompt=[USER],
        tools=[ToolSpec(name="weather", input_schema={"type": "object"})],
        response_format={"type": "json", "schema": SCHEMA},
    )
    await fakes.collect(model_for(anthropic_server).do_stream(call))
    body = anthropic_server.requests[0].json
    assert [t["name"] for t in body["tools"]] == ["weather", "json"]
    assert body["tool_choice"] == {"type": "any"}


async def test_native_structured_output_uses_output_config(
    anthropic_server: Any, fakes: ModuleType
) -> None:
    anthropic_server.script(fakes.anthropic_text(['{"city": "Paris"}']))
    call = ModelCall(prompt=[USER], response_format={"type": "json", "schema": SCHEMA})
    got = await fakes.collect(
        model_for(anthropic_server, structured_output="native").do_stream(call)
    )
    body = anthropic_server.requests[0].json
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in body
    assert json.loads(got.text) == {"city": "Paris"}


# --- the request ---------------------------------------------------------------------------------


async def test_request_carries_system_conversation_tools_and_settings(
    anthropic_server: Any, fakes: ModuleType
) -> None:
    anthropic_server.script(fakes.anthropic_text(["ok"]))
    prompt: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Use metric units."},
        USER,
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "unsigned: dropped"},
                {
                    "type": "reasoning",
                    "text": "signed",
                    "providerOptions": {"anthropic": {"signature": "sig"}},
                },
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool-call",
                    "toolCallId": "toolu_1",
                    "toolName": "weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool-result",
                    "toolCallId": "toolu_1",
                    "toolName": "weather",
                    "output": {"type": "json", "value": {"temp": 21}},
                },
            ],
        },
        {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
    ]
    call = ModelCall(
        prompt=prompt,
        tools=[ToolSpec(name="weather", description="Weather", input_schema={"type": "object"})],
        tool_choice="required",
        temperature=0.5,
        top_k=40,
        stop_sequences=["END"],
        seed=1,
        provider_options={"anthropic": {"thinking": {"type": "enabled", "budget_tokens": 1024}}},
    )
    got = await fakes.collect(model_for(anthropic_server, max_tokens=1000).do_stream(call))
    request = anthropic_server.requests[0]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in request.headers
    assert request.json == {
        "model": "claude-haiku-4-5",
        "max_tokens": 1000,
        "stream": True,
        "system": "Be brief.\n\nUse metric units.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "signed", "signature": "sig"},
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "weather",
                        "input": {"city": "Paris"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"temp":21}'},
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
        "tools": [
            {"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}
        ],
        "tool_choice": {"type": "any"},
        "temperature": 0.5,
        "top_k": 40,
        "stop_sequences": ["END"],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    assert [w["setting"] for w in got.parts[0].warnings] == ["seed"]


async def test_tool_errors_are_sent_back_as_error_results(
    anthropic_server: Any, fakes: ModuleType
) -> None:
    anthropic_server.script(fakes.anthropic_text(["ok"]))
    prompt = [
        USER,
        {
            "role": "assistant",
            "content": [{"type": "tool-call", "toolCallId": "t", "toolName": "w", "input": {}}],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool-result",
                    "toolCallId": "t",
                    "toolName": "w",
                    "output": {"type": "error-text", "value": "boom"},
                }
            ],
        },
    ]
    await fakes.collect(model_for(anthropic_server).do_stream(ModelCall(prompt=prompt)))
    result = anthropic_server.requests[0].json["messages"][2]["content"][0]
    assert result == {
        "type": "tool_result",
        "tool_use_id": "t",
        "content": "boom",
        "is_error": True,
    }


def test_base_url_with_v1_is_accepted() -> None:
    model = AnthropicModel("c", base_url="http://127.0.0.1:9/v1/", api_key="k")
    assert model.base_url == "http://127.0.0.1:9"


def test_missing_key_for_anthropic_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        AnthropicModel("claude-haiku-4-5")


def test_a_user_tool_named_like_the_json_tool_is_refused() -> None:
    model = AnthropicModel("c", base_url="http://127.0.0.1:9", api_key="k")
    call = ModelCall(
        prompt=[USER],
        tools=[ToolSpec(name="json")],
        response_format={"type": "json", "schema": SCHEMA},
    )
    with pytest.raises(InvalidInputError, match="structured_output='native'"):
        _ = model.do_stream(call)
