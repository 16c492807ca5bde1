"""An Agent with tools end to end over each real provider (against the fake servers)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from rxagents.agent import Agent, tool
from rxagents.errors import ProviderError, RunFailedError
from rxagents.events import ToolResultPayload
from rxagents.models import ScriptedModel
from rxagents.models.providers import AnthropicModel, OpenAIChatModel, RetryPolicy
from rxagents.testing import assert_well_formed
from tests.agent.test_supervisor import AGENT_SCHEMA


@tool
def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "celsius": 21 if city == "Paris" else 25}


class Forecast(BaseModel):
    city: str
    celsius: int


@dataclass
class Kit:
    name: str
    server: Any
    fakes: ModuleType

    def model(self) -> Any:
        policy = RetryPolicy.disabled()
        if self.name == "openai":
            return OpenAIChatModel(
                "gpt-4o-mini", base_url=f"{self.server.url}/v1", api_key="k", retry=policy
            )
        return AnthropicModel(
            "claude-haiku-4-5", base_url=self.server.url, api_key="k", retry=policy
        )

    def text(self, pieces: list[str], tokens: tuple[int, int]) -> Any:
        if self.name == "openai":
            return self.fakes.openai_text(pieces, self.fakes.openai_usage(*tokens))
        return self.fakes.anthropic_text(pieces, input_tokens=tokens[0], output_tokens=tokens[1])

    def tool_calls(self, calls: list[tuple[str, str, list[str]]], tokens: tuple[int, int]) -> Any:
        if self.name == "openai":
            return self.fakes.openai_tool_calls(calls, self.fakes.openai_usage(*tokens))
        blocks = [self.fakes.ToolUse(*call) for call in calls]
        return self.fakes.anthropic_reply(
            blocks, "tool_use", input_tokens=tokens[0], output_tokens=tokens[1]
        )

    def structured(self, fragments: list[str]) -> Any:
        if self.name == "openai":
            return self.fakes.openai_text(fragments)
        return self.fakes.anthropic_reply(
            [self.fakes.ToolUse("toolu_j", "json", fragments)], "tool_use"
        )


@pytest.fixture(params=["openai", "anthropic"])
def kit(request: pytest.FixtureRequest, fakes: ModuleType) -> Kit:
    return Kit(request.param, request.getfixturevalue(f"{request.param}_server"), fakes)


def tool_results_sent(kit: Kit, request_json: dict[str, Any]) -> dict[str, Any]:
    """The tool results the second request carried, by call id, as JSON values."""
    if kit.name == "openai":
        return {
            m["tool_call_id"]: json.loads(m["content"])
            for m in request_json["messages"]
            if m["role"] == "tool"
        }
    return {
        block["tool_use_id"]: json.loads(block["content"])
        for message in request_json["messages"]
        for block in message["content"]
        if message["role"] == "user" and block["type"] == "tool_result"
    }


async def test_agent_runs_tools_over_several_steps(kit: Kit) -> None:
    kit.server.script(
        kit.tool_calls(
            [
                ("call_p", "weather", ['{"city":', ' "Paris"}']),
                ("call_r", "weather", ['{"city": "Ro', 'me"}']),
            ],
            (15, 5),
        ),
        kit.text(["Paris 21°C, ", "Rome 25°C."], (30, 8)),
    )
    agent = Agent("forecaster", model=kit.model(), instructions="Be brief.", tools=[weather])
    stream = await agent.stream("Weather in Paris and Rome?")
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks)
    assert await stream.text == "Paris 21°C, Rome 25°C."
    assert await stream.finish_reason == "stop"
    assert (await stream.usage).counters()[:3] == (45, 13, 58)
    results = await stream.tool_results
    assert all(isinstance(r, ToolResultPayload) for r in results)
    assert [(r.tool_call_id, getattr(r, "result", None)) for r in results] == [
        ("call_p", {"city": "Paris", "celsius": 21}),
        ("call_r", {"city": "Rome", "celsius": 25}),
    ]
    types = [c.type for c in chunks]
    assert types.count("step-start") == 2
    assert types.count("tool-call-delta") == 4
    first, second = (r.json for r in kit.server.requests)
    tool_spec = first["tools"][0]
    assert (tool_spec if kit.name == "anthropic" else tool_spec["function"])["name"] == "weather"
    assert tool_results_sent(kit, second) == {
        "call_p": {"city": "Paris", "celsius": 21},
        "call_r": {"city": "Rome", "celsius": 25},
    }
    metadata = [c.payload.metadata for c in chunks if c.type == "step-finish"]
    assert [getattr(m, "provider", None) for m in metadata] == [kit.name, kit.name]


async def test_agent_structured_output(kit: Kit) -> None:
    kit.server.script(kit.structured(['{"city": "Pa', 'ris", "celsius": 21}']))
    agent = Agent("structured", model=kit.model())
    stream = await agent.stream("Forecast for Paris", output=Forecast)
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks)
    assert await stream.object == Forecast(city="Paris", celsius=21)
    body = kit.server.requests[0].json
    if kit.name == "openai":
        assert body["response_format"]["json_schema"]["schema"] == Forecast.model_json_schema()
    else:
        assert body["tools"][-1]["input_schema"] == Forecast.model_json_schema()
        assert body["tool_choice"] == {"type": "tool", "name": "json"}


async def test_agent_structured_output_after_a_tool_step(kit: Kit) -> None:
    kit.server.script(
        kit.tool_calls([("call_p", "weather", ['{"city": "Paris"}'])], (10, 2)),
        kit.structured(['{"city": "Paris", ', '"celsius": 21}']),
    )
    agent = Agent("structured-tools", model=kit.model(), tools=[weather])
    stream = await agent.stream("Forecast for Paris", output=Forecast)
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks)
    assert await stream.object == Forecast(city="Paris", celsius=21)
    if kit.name == "anthropic":
        assert kit.server.requests[0].json["tool_choice"] == {"type": "any"}


async def test_leaving_async_for_early_closes_the_http_response(kit: Kit) -> None:
    frames = (
        kit.fakes.openai_frames([{"content": "Hel"}, {"content": "lo"}])[:2]
        if kit.name == "openai"
        else kit.fakes.anthropic_frames([kit.fakes.Text(["Hel", "lo"])])[:4]
    )
    headers = kit.fakes.openai_headers() if kit.name == "openai" else kit.fakes.anthropic_headers()
    kit.server.script(kit.fakes.Reply(headers=headers, frames=frames, then="stall"))
    agent = Agent("leaver", model=kit.model())
    stream = await agent.stream("Hi")
    async for chunk in stream:
        if chunk.type == "text-delta":
            break
    await asyncio.wait_for(kit.server.disconnected.wait(), 5)
    assert kit.server.disconnects == 1


async def test_a_provider_failure_ends_the_run_with_an_error_chunk(kit: Kit) -> None:
    reply = (
        kit.fakes.openai_error(400, "bad request")
        if kit.name == "openai"
        else kit.fakes.anthropic_error(400, "bad request", type="invalid_request_error")
    )
    kit.server.script(reply)
    agent = Agent("failing", model=kit.model())
    stream = await agent.stream("Hi")
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks)
    assert [c.type for c in chunks][-3:] == ["error", "step-finish", "finish"]
    assert await stream.finish_reason == "error"
    error = next(c for c in chunks if c.type == "error").payload.error
    assert "bad request" in error.message


async def test_a_wrong_api_key_fails_loudly_with_raise_for_error(kit: Kit) -> None:
    reply = (
        kit.fakes.openai_error(401, "Incorrect API key provided")
        if kit.name == "openai"
        else kit.fakes.anthropic_error(401, "invalid x-api-key", type="authentication_error")
    )
    kit.server.script(reply, reply)
    agent = Agent("keyless", model=kit.model())
    stream = await agent.stream("Hi")
    assert await stream.text == ""  # in-band, as in Mastra: nothing raises by itself
    with pytest.raises(RunFailedError) as caught:
        await stream.raise_for_error()
    assert caught.value.status == 401
    assert isinstance(caught.value.__cause__, ProviderError)
    assert "API key" in str(caught.value) or "api-key" in str(caught.value)

    result = await agent.generate("Hi")
    assert result.finish_reason == "error"
    with pytest.raises(RunFailedError) as again:
        result.raise_for_error()
    assert again.value.status == 401


async def test_raise_for_error_is_quiet_for_a_run_that_succeeded(kit: Kit) -> None:
    kit.server.script(kit.text(["Hello"], (3, 1)))
    stream = await Agent("fine", model=kit.model()).stream("Hi")
    await stream.raise_for_error()
    assert await stream.text == "Hello"


async def test_a_supervisor_sends_mastra_s_delegation_schema_and_the_text_result(kit: Kit) -> None:
    sub_steps = [
        [
            {"type": "text-start", "id": "t"},
            {"type": "text-delta", "id": "t", "delta": "Research result: 42"},
            {"type": "text-end", "id": "t"},
            {"type": "finish", "finishReason": "stop", "usage": {"inputTokens": 3}},
        ]
    ]
    research = Agent("research", model=ScriptedModel(sub_steps), description="Researches")
    kit.server.script(
        kit.tool_calls([("call_1", "agent-research", ['{"prompt": "find"}'])], (15, 5)),
        kit.text(["42."], (30, 8)),
    )
    supervisor = Agent("sup", model=kit.model(), agents={"research": research})
    stream = await supervisor.stream("What is the answer?")
    assert await stream.text == "42."
    first, second = (r.json for r in kit.server.requests)
    (offered,) = first["tools"]
    schema = offered["input_schema"] if kit.name == "anthropic" else offered["function"]
    if kit.name == "openai":
        assert schema["description"] == "Researches"
        schema = schema["parameters"]
    assert json.dumps(schema, separators=(",", ":")) == AGENT_SCHEMA
    if kit.name == "openai":
        sent = [m["content"] for m in second["messages"] if m["role"] == "tool"]
    else:
        sent = [
            block["content"]
            for message in second["messages"]
            for block in message["content"]
            if message["role"] == "user" and block["type"] == "tool_result"
        ]
    assert sent == ["Research result: 42"]
