"""Wire shapes pinned against Mastra 1.71.0 runs on the same scripted model parts.

Each expected dict below is the key set (recursively, for nested objects) that Mastra's
``fullStream`` produced for the same model input; ours may differ only where DESIGN says so
(``metadata.provider``, no ``output.steps``/``messages``, ``text-end`` before ``error``,
``tool-error`` keeping ``message``).
"""

from __future__ import annotations

from typing import Any

from rxagents.agent import Agent, tool
from rxagents.events import ErrorInfo
from rxagents.models import ScriptedModel
from rxagents.operators import reduce_usage
from rxagents.testing import assert_well_formed


@tool
def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    if city == "Boom":
        raise RuntimeError("tool failed: Boom")
    return {"city": city, "temp": 21}


PM = {"providerMetadata": {"mock": {"x": 1}}}
ARGS = '{"city":"Paris"}'


def _usage(i: int, o: int, **more: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o, **more}


def _tool_step(city: str = "Paris", *, streamed: bool = True) -> list[dict[str, Any]]:
    args = f'{{"city":"{city}"}}'
    parts: list[dict[str, Any]] = []
    if streamed:
        parts += [
            {"type": "tool-input-start", "id": "c1", "toolName": "weather"},
            {"type": "tool-input-delta", "id": "c1", "delta": args},
            {"type": "tool-input-end", "id": "c1"},
        ]
    parts += [
        {"type": "tool-call", "toolCallId": "c1", "toolName": "weather", "input": args},
        {"type": "finish", "finishReason": "tool-calls", "usage": _usage(15, 5)},
    ]
    return parts


def _text_step(text: str = "ok", **usage: int) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": "t1"},
        {"type": "text-delta", "id": "t1", "delta": text},
        {"type": "text-end", "id": "t1"},
        {"type": "finish", "finishReason": "stop", "usage": _usage(30, 8, **usage)},
    ]


def keys(value: Any) -> Any:
    """The key structure of a JSON value: dicts become ``{key: keys(value)}``, leaves ``...``."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(v) for v in value[:1]]
    return ...


async def wire(steps: list[list[Any]], **options: Any) -> list[dict[str, Any]]:
    model = ScriptedModel(steps, provider="mock-provider", model_id="mock-model-id")
    agent = Agent("probe-agent", model=model, tools=[weather])
    stream = await agent.stream("hi", **options)
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks)
    return [chunk.model_dump(by_alias=True, mode="json") for chunk in chunks]


STEP_FINISH_KEYS = {"messageId", "stepResult", "output", "metadata", "processorRetryCount"}
METADATA_KEYS = {"id", "modelId", "provider", "timestamp", "modelMetadata", "request"}


async def test_text_step_finish_and_finish_carry_mastras_keys() -> None:
    chunks = await wire([_text_step(reasoningTokens=2, cachedInputTokens=1)])
    assert [c["type"] for c in chunks] == [
        "start",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    for chunk in chunks[-2:]:
        payload = chunk["payload"]
        assert set(payload) == STEP_FINISH_KEYS
        assert payload["processorRetryCount"] == 0
        # no response-metadata part: Mastra names the model's version and provider
        assert set(payload["metadata"]) == METADATA_KEYS | {"modelVersion", "modelProvider"}
        counters = _usage(30, 8, reasoningTokens=2, cachedInputTokens=1)
        assert payload["output"]["usage"] == {**counters, "raw": counters}
        assert set(payload["stepResult"]) == {"reason", "isContinued"}


async def test_finish_usage_is_the_total_with_the_last_steps_raw() -> None:
    model = ScriptedModel([_tool_step(), _text_step()])
    stream = await Agent("a", model=model, tools=[weather]).stream("hi")
    chunks = [c async for c in stream]
    finish = chunks[-1].model_dump(by_alias=True)["payload"]["output"]["usage"]
    assert finish == {**_usage(45, 13), "raw": _usage(30, 8)}
    # the run's usage is the counters only, the same as reduce_usage over the stream
    assert (await stream.usage).model_dump(by_alias=True) == _usage(45, 13)
    assert await stream.usage == await stream.observable.pipe(reduce_usage())


async def test_response_metadata_leaves_model_version_and_provider_out() -> None:
    step = [
        {"type": "response-metadata", "id": "resp-1", "modelId": "m", "timestamp": 0},
        *_text_step(),
    ]
    chunks = await wire([step])
    assert set(chunks[-1]["payload"]["metadata"]) == METADATA_KEYS


async def test_provider_metadata_reaches_tool_chunks_and_step_metadata() -> None:
    step = [
        {"type": "tool-input-start", "id": "c1", "toolName": "weather", **PM},
        {"type": "tool-input-delta", "id": "c1", "delta": ARGS},
        {"type": "tool-input-end", "id": "c1", **PM},
        {"type": "tool-call", "toolCallId": "c1", "toolName": "weather", "input": ARGS, **PM},
        {"type": "finish", "finishReason": "tool-calls", "usage": _usage(3, 4), **PM},
    ]
    chunks = await wire([step, _text_step()])
    payloads = {c["type"]: keys(c["payload"]) for c in chunks[:8]}
    meta = {"providerMetadata": {"mock": {"x": ...}}}
    assert payloads == {
        "start": {"id": ..., "messageId": ...},
        "step-start": {"request": {}, "warnings": [], "messageId": ..., "startedAt": ...},
        "tool-call-input-streaming-start": {"toolCallId": ..., "toolName": ..., **meta},
        "tool-call-delta": {"toolCallId": ..., "toolName": ..., "argsTextDelta": ...},
        "tool-call-input-streaming-end": {"toolCallId": ..., **meta},
        "tool-call": {"toolCallId": ..., "toolName": ..., "args": {"city": ...}, **meta},
        "tool-result": {
            "toolCallId": ...,
            "toolName": ...,
            "args": {"city": ...},
            "result": {"city": ..., "temp": ...},
            **meta,
        },
        "step-finish": payloads["step-finish"],
    }
    step_finish = chunks[7]["payload"]
    assert keys(step_finish["output"]["toolCalls"]) == [
        {"toolCallId": ..., "toolName": ..., "args": {"city": ...}, **meta}
    ]
    assert step_finish["metadata"]["providerMetadata"] == {"mock": {"x": 1}}


async def test_unparseable_tool_input_leaves_args_out() -> None:
    bad = [
        {"type": "tool-call", "toolCallId": "c1", "toolName": "weather", "input": '{"city":'},
        {"type": "finish", "finishReason": "tool-calls", "usage": _usage(15, 5)},
    ]
    chunks = await wire([bad, _text_step()])
    by_type = {c["type"]: c["payload"] for c in chunks[:5]}
    assert set(by_type["tool-call"]) == {"toolCallId", "toolName"}
    assert set(by_type["tool-error"]) == {"toolCallId", "toolName", "error"}
    assert set(by_type["step-finish"]["output"]["toolCalls"][0]) == {"toolCallId", "toolName"}


async def test_tool_errors_have_mastras_error_keys_and_keep_the_message() -> None:
    chunks = await wire([_tool_step("Boom"), _text_step()])
    error = next(c for c in chunks if c["type"] == "tool-error")["payload"]["error"]
    assert keys(error) == {
        "name": ...,
        "message": ...,  # ours only: Mastra's JSON drops it (DESIGN section 5)
        "cause": {"message": ..., "name": ...},
        "id": ...,
        "domain": ...,
        "category": ...,
        "details": {"errorMessage": ..., "model": ...},
    }
    assert error["message"] == error["cause"]["message"] == "tool failed: Boom"
    assert (error["id"], error["domain"], error["category"]) == (
        "TOOL_EXECUTION_FAILED",
        "TOOL",
        "USER",
    )


async def test_an_unknown_tool_is_a_tool_not_found_error() -> None:
    step = [
        {"type": "tool-call", "toolCallId": "c1", "toolName": "nosuch", "input": ARGS},
        {"type": "finish", "finishReason": "tool-calls", "usage": _usage(15, 5)},
    ]
    chunks = await wire([step, _text_step()])
    error = next(c for c in chunks if c["type"] == "tool-error")["payload"]["error"]
    assert error["name"] == "ToolNotFoundError"


async def test_model_errors_repeat_the_type_and_thrown_ones_carry_no_stack() -> None:
    error_part = [
        {"type": "text-start", "id": "t1"},
        {"type": "text-delta", "id": "t1", "delta": "par"},
        {"type": "error", "error": {"name": "APICallError", "message": "boom"}},
    ]
    chunks = await wire([error_part])
    assert [c["type"] for c in chunks] == [
        "start",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",  # ours: the open block is closed before the error (DESIGN section 2)
        "error",
        "step-finish",
        "finish",
    ]
    assert keys(chunks[5]["payload"]) == {"error": {"name": ..., "message": ...}, "type": ...}

    # Mastra sends the JavaScript stack; ours never puts a traceback on the wire (it shows file
    # paths and source lines to whoever reads the stream): the exception stays in process.
    thrown = await wire([[{"type": "text-start", "id": "t1"}, RuntimeError("hang up")]])
    error = next(c for c in thrown if c["type"] == "error")["payload"]
    assert keys(error) == {"error": {"name": ..., "message": ...}}
    assert error["error"] == {"name": "RuntimeError", "message": "hang up"}


async def test_do_stream_throwing_gives_typed_error_and_step_warnings() -> None:
    class Broken:
        specification_version = "v2"
        provider = "mock-provider"
        model_id = "mock-model-id"

        def do_stream(self, call: Any) -> Any:
            raise RuntimeError("401 bad key")

    stream = await Agent("a", model=Broken()).stream("hi")
    chunks = [c.model_dump(by_alias=True) async for c in stream]
    assert [c["type"] for c in chunks] == ["start", "step-start", "error", "step-finish", "finish"]
    assert keys(chunks[2]["payload"]) == {"error": {"name": ..., "message": ...}, "type": ...}
    assert isinstance(stream.error, ErrorInfo)
    assert isinstance(stream.error.exception, RuntimeError)  # in process: the exception itself
    assert stream.error.exception.__traceback__ is not None
    for chunk in chunks[3:]:
        assert chunk["payload"]["stepResult"] == {
            "reason": "error",
            "isContinued": False,
            "warnings": [],
        }


async def test_structured_output_is_in_step_finish_and_finish_output() -> None:
    from pydantic import BaseModel

    class City(BaseModel):
        city: str
        temp: int

    step = [
        {"type": "text-start", "id": "o1"},
        {"type": "text-delta", "id": "o1", "delta": '{"city":"Paris",'},
        {"type": "text-delta", "id": "o1", "delta": '"temp":21}'},
        {"type": "text-end", "id": "o1"},
        {"type": "finish", "finishReason": "stop", "usage": _usage(10, 5)},
    ]
    chunks = await wire([step], output=City)
    for chunk in chunks[-2:]:
        assert set(chunk["payload"]["output"]) == {"text", "toolCalls", "usage", "object"}
        assert chunk["payload"]["output"]["object"] == {"city": "Paris", "temp": 21}
