"""Agents and tools as steps: wrapped agent chunks, ``{prompt}``/``{text}``, usage."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from rxagents.agent import Agent, tool
from rxagents.errors import ConfigurationError
from rxagents.events import AgentChunk, WorkflowStepOutput, parse_chunk
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.operators import reduce_usage, usage_of
from rxagents.workflow import AgentStepInput, AgentStepOutput, Step, StepContext, Workflow

from .conftest import events, run_workflow, wire


def text_step(text: str, i: int = 10, o: int = 5) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": "t1"},
        {"type": "text-delta", "id": "t1", "delta": text},
        {"type": "text-end", "id": "t1"},
        {
            "type": "finish",
            "finishReason": "stop",
            "usage": {"inputTokens": i, "outputTokens": o, "totalTokens": i + o},
        },
    ]


def agent(id: str, *texts: str, i: int = 10, o: int = 5) -> Agent:
    return Agent(id, model=ScriptedModel([text_step(t, i, o) for t in texts]))


async def test_an_agent_step_wraps_every_agent_chunk_whole_and_outputs_its_text() -> None:
    step = Step.from_agent(agent("step-agent", "Hi!"))
    assert (step.input_schema, step.output_schema) == (AgentStepInput, AgentStepOutput)
    workflow = Workflow("wf-agent", AgentStepInput, AgentStepOutput).then(step).commit()
    chunks, _ = await run_workflow(workflow, {"prompt": "hello"}, run_id="run-agent")
    kinds = events(chunks)
    assert kinds[:2] == [("workflow-start", None), ("workflow-step-start", "step-agent")]
    assert kinds[-2:] == [("workflow-step-result", "step-agent"), ("workflow-finish", None)]
    outputs = [c for c in chunks if isinstance(c, WorkflowStepOutput)]
    inner = [o.payload.output for o in outputs]
    assert [c.type for c in inner] == [
        "start",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    assert all(isinstance(c, AgentChunk.__args__) for c in inner)
    assert {c.run_id for c in inner} != {"run-agent"}  # the agent keeps its own run id
    assert {o.run_id for o in outputs} == {"run-agent"}
    first = wire(outputs[0])
    assert first["from"] == "USER"
    assert first["payload"]["stepName"] == "step-agent"
    assert first["payload"]["output"]["type"] == "start"
    assert first["payload"]["output"]["from"] == "AGENT"
    assert parse_chunk(first) == outputs[0]  # the wrapped chunk parses back as a chunk
    assert chunks[1].payload.payload == {"prompt": "hello"}
    assert chunks[-2].payload.output == {"text": "Hi!"}
    finish = wire(chunks[-1])["payload"]
    assert finish["output"]["usage"] == {
        "inputTokens": 10,
        "outputTokens": 5,
        "totalTokens": 15,
        "reasoningTokens": 0,
        "cachedInputTokens": 0,
        "cacheCreationInputTokens": 0,
    }
    assert finish["finalWorkflowResult"] == {"text": "Hi!"}


async def test_workflow_usage_sums_every_agent_and_equals_reduce_usage() -> None:
    first = Step.from_agent(agent("writer", "Draft", i=15, o=5), id="draft")
    second = Step.from_agent(agent("editor", "Final", i=30, o=8), id="edit")
    to_prompt = Step(
        "to-prompt", AgentStepOutput, AgentStepInput, lambda c: {"prompt": c.input_data.text}
    )
    inner = Workflow("inner", AgentStepInput, AgentStepOutput).then(second).commit()
    workflow = (
        Workflow("wf", AgentStepInput)
        .then(first)
        .then(to_prompt)
        .parallel([inner, Step("noop", None, None, lambda c: None)])
        .commit()
    )
    chunks, stream = await run_workflow(workflow, {"prompt": "write"})
    usage = await stream.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (45, 13, 58)
    totals: list[Any] = []
    stream.observable.pipe(reduce_usage()).subscribe(totals.append)
    assert totals == [usage]
    assert sum((usage_of(c) or usage.zero).total_tokens for c in chunks) == 58
    assert wire(chunks[-1])["payload"]["output"]["usage"]["inputTokens"] == 45


async def test_an_agent_error_fails_the_agent_step() -> None:
    broken = Agent("broken", model=ScriptedModel([[RuntimeError("model down")]]))
    workflow = Workflow("wf", AgentStepInput).then(Step.from_agent(broken)).commit()
    chunks, stream = await run_workflow(workflow, {"prompt": "hi"})
    result = await stream.result
    assert result.status == "failed"
    assert result.error is not None
    assert "model down" in result.error.message
    assert any(
        c.type == "workflow-step-output" and c.payload.output.type == "error" for c in chunks
    )


async def test_agent_step_options_reach_the_agent_call() -> None:
    calls: list[ModelCall] = []

    def echo(call: ModelCall) -> list[dict[str, Any]]:
        calls.append(call)
        return text_step(call.prompt[-1]["content"][0]["text"].upper())

    step = Step.from_agent(Agent("echo", model=FunctionModel(echo)), temperature=0.25)
    workflow = Workflow("wf", AgentStepInput, AgentStepOutput).then(step).commit()
    _, stream = await run_workflow(workflow, {"prompt": "shout"})
    assert (await stream.result).result == {"text": "SHOUT"}
    assert calls[0].temperature == 0.25


async def test_agents_and_tools_can_be_given_to_the_builder_directly() -> None:
    class City(BaseModel):
        city: str

    @tool
    def weather(city: str) -> dict[str, Any]:
        """Current weather."""
        return {"city": city, "temp": 21}

    workflow = Workflow("wf", City).then(weather).commit()
    chunks, stream = await run_workflow(workflow, {"city": "Oslo"})
    assert events(chunks)[1] == ("workflow-step-start", "weather")
    assert (await stream.result).result == {"city": "Oslo", "temp": 21}
    direct = Workflow("wf2", AgentStepInput).then(agent("helper", "ok")).commit()
    _, stream = await run_workflow(direct, {"prompt": "hi"})
    assert (await stream.result).result == {"text": "ok"}


async def test_a_tool_step_validates_its_arguments() -> None:
    @tool
    async def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    step = Step.from_tool(add, id="adder")
    assert step.id == "adder"
    workflow = Workflow("wf").then(step).commit()
    _, stream = await run_workflow(workflow, {"a": 1, "b": 2})
    assert (await stream.result).result == 3
    _, stream = await run_workflow(workflow, {"a": "x"})
    assert (await stream.result).status == "failed"


def test_two_steps_from_one_agent_need_distinct_ids() -> None:
    helper = agent("helper", "a", "b")
    with pytest.raises(ConfigurationError, match="two different steps have the id 'helper'"):
        Workflow("wf").then(Step.from_agent(helper)).then(Step.from_agent(helper))
    Workflow("wf").then(Step.from_agent(helper, id="one")).then(Step.from_agent(helper, id="two"))


async def test_a_step_can_write_any_json_or_models() -> None:
    class Note(BaseModel):
        text: str

    async def chatty(ctx: StepContext[Any]) -> None:
        await ctx.writer.write("plain text")
        _ = ctx.writer.write(Note(text="a model"))  # sync use: no await needed
        await ctx.writer.write({"type": "custom-kind", "data": [1, 2]})

    workflow = Workflow("wf").then(Step("chatty", None, None, chatty)).commit()
    chunks, _ = await run_workflow(workflow)
    outputs = [c.payload.output for c in chunks if c.type == "workflow-step-output"]
    assert outputs == ["plain text", {"text": "a model"}, {"type": "custom-kind", "data": [1, 2]}]
    for chunk in chunks:
        assert parse_chunk(wire(chunk)) == chunk


def test_bad_agent_options_are_refused_when_the_step_is_made() -> None:
    with pytest.raises(ConfigurationError, match="unknown option"):
        Step.from_agent(agent("helper", "ok"), temperture=0.2)
