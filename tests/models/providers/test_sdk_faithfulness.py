"""The fake servers are faithful: the official SDKs parse the same bytes into the same result.

Each scripted reply is served twice, once to our model and once to the official ``openai`` or
``anthropic`` SDK (dev extras), and both readings must agree on text, reasoning, tool calls,
usage, finish reason and ids. Errors and broken streams fail in both.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import anthropic
import openai
import pytest

from rxagents.errors import ProviderError
from rxagents.models import ModelCall
from rxagents.models.providers import AnthropicModel, OpenAIChatModel

CALL = ModelCall(prompt=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
MESSAGES: list[Any] = [{"role": "user", "content": "Hi"}]


def summary_of_parts(got: Any) -> dict[str, Any]:
    finish = got.parts[-1]
    metadata = got.of("response-metadata")[0]
    return {
        "id": metadata.id,
        "model": metadata.model_id,
        "text": got.text,
        "reasoning": got.reasoning,
        "tool_calls": [
            (c.tool_call_id, c.tool_name, json.loads(c.input)) for c in got.of("tool-call")
        ],
        "finish_reason": finish.finish_reason,
        "usage": finish.usage.counters(),
    }


# --- OpenAI ---------------------------------------------------------------------------------------


@pytest.fixture
async def openai_client(openai_server: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        api_key="sk-test", base_url=f"{openai_server.url}/v1", max_retries=0
    )
    yield client
    await client.close()


OPENAI_FINISH = {"stop": "stop", "tool_calls": "tool-calls", "length": "length"}


async def openai_sdk_summary(client: openai.AsyncOpenAI) -> dict[str, Any]:
    """Read the stream with the SDK's raw chunks (reasoning) and its accumulator (the rest)."""
    reasoning: list[str] = []
    async with client.chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        async for event in stream:
            if event.type == "chunk" and event.chunk.choices:
                extra = event.chunk.choices[0].delta.model_extra or {}
                piece = extra.get("reasoning_content") or extra.get("reasoning")
                if piece:
                    reasoning.append(piece)
        final = await stream.get_final_completion()
    message = final.choices[0].message
    usage = final.usage
    assert usage is not None
    details = usage.completion_tokens_details
    cached = usage.prompt_tokens_details
    return {
        "id": final.id,
        "model": final.model,
        "text": message.content or "",
        "reasoning": "".join(reasoning),
        "tool_calls": [
            (c.id, c.function.name, json.loads(c.function.arguments))
            for c in message.tool_calls or []
        ],
        "finish_reason": OPENAI_FINISH[final.choices[0].finish_reason],
        "usage": (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens,
            (details.reasoning_tokens or 0) if details else 0,
            (cached.cached_tokens or 0) if cached else 0,
            0,
        ),
    }


def openai_scripts(fakes: ModuleType) -> dict[str, Any]:
    return {
        "text": fakes.openai_text(["Hel", "lo ", "wörld ✓"], fakes.openai_usage(11, 4, cached=3)),
        "parallel tool calls": fakes.openai_tool_calls(
            [
                ("call_1", "weather", ['{"ci', 'ty": ', '"Paris"}']),
                ("call_2", "time", ["{", '"tz": "Europe/Rome"', "}"]),
            ],
            fakes.openai_usage(50, 30),
            text="Let me check.",
        ),
        "reasoning": fakes.openai_reasoning(
            ["Think", "ing..."], ["Answer"], fakes.openai_usage(7, 40, reasoning=33)
        ),
    }


@pytest.mark.parametrize("script", ["text", "parallel tool calls", "reasoning"])
async def test_openai_sdk_reads_the_fake_stream_as_we_do(
    openai_server: Any, openai_client: openai.AsyncOpenAI, fakes: ModuleType, script: str
) -> None:
    reply = openai_scripts(fakes)[script]
    openai_server.script(reply, reply)
    model = OpenAIChatModel("gpt-4o-mini", base_url=f"{openai_server.url}/v1", api_key="sk-test")
    ours = summary_of_parts(await fakes.collect(model.do_stream(CALL)))
    assert ours == await openai_sdk_summary(openai_client)
    assert ours["text"] or ours["tool_calls"]


async def test_openai_sdk_sees_the_same_error_body(
    openai_server: Any, openai_client: openai.AsyncOpenAI, fakes: ModuleType
) -> None:
    reply = fakes.openai_error(400, "Invalid schema for function 'weather'", param="tools")
    openai_server.script(reply, reply)
    model = OpenAIChatModel("m", base_url=f"{openai_server.url}/v1", api_key="sk-test")
    got = await fakes.collect(model.do_stream(CALL))
    with pytest.raises(openai.BadRequestError) as raised:
        await openai_client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert isinstance(got.error, ProviderError)
    assert got.error.status == raised.value.status_code == 400
    assert raised.value.body is not None
    assert "Invalid schema for function 'weather'" in str(got.error)
    assert "Invalid schema for function 'weather'" in raised.value.message


async def test_openai_sdk_honours_the_fake_retry_headers(
    openai_server: Any, fakes: ModuleType
) -> None:
    openai_server.script(
        fakes.openai_error(429, "Rate limit", type="requests", **{"retry-after-ms": "5"}),
        fakes.openai_text(["ok"]),
    )
    client = openai.AsyncOpenAI(api_key="k", base_url=f"{openai_server.url}/v1", max_retries=1)
    try:
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    finally:
        await client.close()
    assert text == "ok"
    assert len(openai_server.requests) == 2


async def test_openai_sdk_also_fails_on_the_dropped_stream(
    openai_server: Any, openai_client: openai.AsyncOpenAI, fakes: ModuleType
) -> None:
    frames = fakes.openai_frames([{"content": "Hel"}, {"content": "lo"}])[:3]
    openai_server.script(fakes.Reply(headers=fakes.openai_headers(), frames=frames, then="drop"))
    pieces: list[str] = []

    async def read() -> None:
        stream = await openai_client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        async for chunk in stream:
            pieces.append(chunk.choices[0].delta.content or "")

    with pytest.raises(openai.APIConnectionError):  # the SDK's wrapper for a cut-off body
        await read()
    assert "".join(pieces) == "Hello"


# --- Anthropic ------------------------------------------------------------------------------------


@pytest.fixture
async def anthropic_client(anthropic_server: Any) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        api_key="sk-ant", base_url=anthropic_server.url, max_retries=0
    )
    yield client
    await client.close()


ANTHROPIC_STOP = {"end_turn": "stop", "tool_use": "tool-calls", "max_tokens": "length"}


async def anthropic_sdk_summary(client: anthropic.AsyncAnthropic) -> dict[str, Any]:
    async with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=1024, messages=MESSAGES
    ) as stream:
        message = await stream.get_final_message()
    usage = message.usage
    cache_read = usage.cache_read_input_tokens or 0
    cache_creation = usage.cache_creation_input_tokens or 0
    total_in = usage.input_tokens + cache_read + cache_creation
    return {
        "id": message.id,
        "model": message.model,
        "text": "".join(b.text for b in message.content if b.type == "text"),
        "reasoning": "".join(b.thinking for b in message.content if b.type == "thinking"),
        "tool_calls": [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"],
        "finish_reason": ANTHROPIC_STOP[message.stop_reason or ""],
        "usage": (
            total_in,
            usage.output_tokens,
            total_in + usage.output_tokens,
            0,
            cache_read,
            cache_creation,
        ),
        "signatures": [b.signature for b in message.content if b.type == "thinking"],
    }


def anthropic_scripts(fakes: ModuleType) -> dict[str, Any]:
    return {
        "text": fakes.anthropic_text(["Hel", "lo ", "wörld ✓"], input_tokens=9, output_tokens=4),
        "thinking and parallel tools": fakes.anthropic_reply(
            [
                fakes.Thinking(["Two ", "cities."]),
                fakes.Text(["Checking both."]),
                fakes.ToolUse("toolu_a", "weather", ['{"city": ', '"Paris"}']),
                fakes.ToolUse("toolu_b", "weather", ['{"city"', ': "Rome"}']),
            ],
            "tool_use",
            input_tokens=30,
            output_tokens=60,
            cache_read=200,
            cache_creation=12,
        ),
        "max tokens": fakes.anthropic_reply([fakes.Text(["cut"])], "max_tokens"),
    }


@pytest.mark.parametrize("script", ["text", "thinking and parallel tools", "max tokens"])
async def test_anthropic_sdk_reads_the_fake_stream_as_we_do(
    anthropic_server: Any,
    anthropic_client: anthropic.AsyncAnthropic,
    fakes: ModuleType,
    script: str,
) -> None:
    reply = anthropic_scripts(fakes)[script]
    anthropic_server.script(reply, reply)
    model = AnthropicModel("claude-haiku-4-5", base_url=anthropic_server.url, api_key="sk-ant")
    got = await fakes.collect(model.do_stream(CALL))
    ours = summary_of_parts(got)
    ours["signatures"] = [
        p.provider_metadata["anthropic"]["signature"] for p in got.of("reasoning-end")
    ]
    assert ours == await anthropic_sdk_summary(anthropic_client)


async def test_anthropic_sdk_sees_the_same_error_body(
    anthropic_server: Any, anthropic_client: anthropic.AsyncAnthropic, fakes: ModuleType
) -> None:
    reply = fakes.anthropic_error(400, "max_tokens: Field required", type="invalid_request_error")
    anthropic_server.script(reply, reply)
    model = AnthropicModel("c", base_url=anthropic_server.url, api_key="sk-ant")
    got = await fakes.collect(model.do_stream(CALL))
    with pytest.raises(anthropic.BadRequestError) as raised:
        async with anthropic_client.messages.stream(
            model="c", max_tokens=1, messages=MESSAGES
        ) as stream:
            await stream.get_final_message()
    assert isinstance(got.error, ProviderError)
    assert got.error.status == raised.value.status_code == 400
    assert "max_tokens: Field required" in str(got.error)
    assert "max_tokens: Field required" in raised.value.message


async def test_anthropic_sdk_also_fails_on_the_error_event(
    anthropic_server: Any, anthropic_client: anthropic.AsyncAnthropic, fakes: ModuleType
) -> None:
    frames = fakes.anthropic_frames([fakes.Text(["Partial"])])[:4]
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    frames.append(fakes.anthropic_frame(error))
    reply = fakes.Reply(headers=fakes.anthropic_headers(), frames=frames)
    anthropic_server.script(reply, reply)
    model = AnthropicModel("c", base_url=anthropic_server.url, api_key="sk-ant")
    got = await fakes.collect(model.do_stream(CALL))
    assert got.text == "Partial"
    assert "Overloaded" in str(got.of("error")[0].error)

    async def read() -> None:
        async with anthropic_client.messages.stream(
            model="c", max_tokens=1, messages=MESSAGES
        ) as stream:
            async for _ in stream:
                pass

    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        await read()
