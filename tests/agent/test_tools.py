"""Tools: schemas from signatures, validation, sync tools off the loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from rxagents import Agent, ToolContext
from rxagents.agent import Tool, tool
from rxagents.errors import ConfigurationError, ToolExecutionError
from rxagents.models import ScriptedModel
from tests.agent.conftest import text_step, tool_step


@tool
def add(a: int, b: int = 1) -> int:
    """Add two numbers."""
    return a + b


async def test_tool_from_a_typed_function() -> None:
    spec = add.spec()
    assert spec.name == "add"
    assert spec.description == "Add two numbers."
    assert spec.input_schema["properties"]["a"]["type"] == "integer"
    assert spec.input_schema["required"] == ["a"]
    assert await add.run({"a": 2}) == 3
    assert await add.run({"a": 2, "b": 5}) == 7


async def test_invalid_arguments_are_a_tool_execution_error() -> None:
    with pytest.raises(ToolExecutionError, match="a: Input should be a valid integer"):
        await add.run({"a": "x"})
    with pytest.raises(ToolExecutionError, match="Extra inputs"):
        await add.run({"a": 1, "c": 2})


async def test_sync_tools_run_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()

    @tool
    def where() -> bool:
        """Report whether this runs on the loop thread."""
        return threading.get_ident() == loop_thread

    assert await where.run({}) is False


async def test_async_tools_and_pydantic_results() -> None:
    class Out(BaseModel):
        value: int

    @tool(name="double", description="Double it.")
    async def twice(x: int) -> Out:
        await asyncio.sleep(0)
        return Out(value=2 * x)

    assert twice.id == "double"
    assert twice.description == "Double it."
    assert await twice.run({"x": 4}) == {"value": 8}


async def test_tool_with_an_explicit_schema() -> None:
    class In(BaseModel):
        city: str

    def execute(args: In) -> dict[str, Any]:
        return {"city": args.city.upper()}

    weather = Tool("weather", "Weather", In, execute)
    assert await weather.run({"city": "oslo"}) == {"city": "OSLO"}
    assert weather.spec("get_weather").name == "get_weather"


def test_tool_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        Tool("", "d", None, lambda a: a)
    with pytest.raises(ConfigurationError):
        Tool("t", "d", dict, lambda a: a)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="args"):

        @tool
        def bad(*args: int) -> None:
            """Bad."""


async def test_to_model_output_gives_the_model_its_own_output() -> None:
    class Query(BaseModel):
        q: str

    def search(args: Query) -> dict[str, Any]:
        return {"hits": 3, "summary": f"3 hits for {args.q}"}

    def broken(result: Any) -> dict[str, Any]:
        raise ValueError("no summary")

    searching = Tool(
        "search",
        "Search.",
        Query,
        search,
        to_model_output=lambda r: {"type": "text", "value": r["summary"]},
    )
    failing = Tool("fail", "Search.", Query, search, to_model_output=broken)
    model = ScriptedModel(
        [tool_step(("c1", "search", '{"q":"x"}'), ("c2", "fail", '{"q":"y"}')), text_step("ok")]
    )
    stream = await Agent("a", model=model, tools=[searching, failing]).stream("find x")
    chunks = [c.model_dump(by_alias=True, mode="json") async for c in stream]
    result = next(c for c in chunks if c["type"] == "tool-result")["payload"]
    assert result["result"] == {"hits": 3, "summary": "3 hits for x"}
    assert result["providerMetadata"] == {
        "mastra": {"modelOutput": {"type": "text", "value": "3 hits for x"}}
    }
    error = next(c for c in chunks if c["type"] == "tool-error")["payload"]
    assert error["error"]["message"] == "no summary"
    outputs = [part["output"] for part in model.calls[1].prompt[-1]["content"]]
    assert outputs == [
        {"type": "text", "value": "3 hits for x"},
        {"type": "error-text", "value": "no summary"},
    ]


async def test_the_context_carries_the_conversation_so_far() -> None:
    seen: list[Any] = []

    @tool
    def look(ctx: ToolContext) -> str:
        """Look at the conversation."""
        seen.append(ctx.messages)
        return "seen"

    model = ScriptedModel([tool_step(("c1", "look", "{}")), text_step("ok")])
    await Agent("a", model=model, instructions="Be kind.", tools=[look]).generate("hello")
    assert seen == [
        (
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": [{"type": "text", "text": "hello"}]},
        )
    ]
