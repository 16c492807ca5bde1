"""Agents whose tools stream, shared by the edge tests (server, client, event logs, AI SDK).

- ``writer-agent``: one tool call whose tool writes values (``tool-output``), a ``data-*``
  value, and custom chunks (``data-progress`` with and without ``id``/``transient``, an extra
  key, a type without the ``data-`` prefix), then the model answers.
- ``nested-agent``: one tool call whose tool pipes a whole nested agent run (the nested agent
  itself calls a tool that writes), the shape of a supervisor's sub-agent.
- ``text-pipe-agent``: the same nested agent piped as text only.
- ``network-agent``: a network routing once to the writer agent; ``writer-workflow``: the
  writer agent as a workflow step; :func:`streaming_runtime` serves them all, with a
  ``long-nested-agent`` (40 nested words).
"""

from __future__ import annotations

import json
from typing import Any

from rxagents import Runtime
from rxagents.agent import Agent, ToolContext, tool
from rxagents.memory import Memory
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.workflow import Step, Workflow


def usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


def text_step(*deltas: str, block: str = "t1") -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": block},
        *({"type": "text-delta", "id": block, "delta": d} for d in deltas),
        {"type": "text-end", "id": block},
        {"type": "finish", "finishReason": "stop", "usage": usage(10, 5)},
    ]


def tool_step(call_id: str, name: str, args: str) -> list[dict[str, Any]]:
    return [
        {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": args},
        {"type": "finish", "finishReason": "tool-calls", "usage": usage(10, 5)},
    ]


CUSTOM_CHUNKS: list[dict[str, Any]] = [
    {"type": "data-progress", "data": {"pct": 75}},
    {"type": "data-progress", "id": "p1", "data": {"pct": 80}, "transient": True},
    {"type": "data-progress", "data": {"pct": 81}, "extraKey": "kept?"},
    {"type": "not-data-prefixed", "data": {"x": 1}},
    {"type": "data-empty"},
]
"""What ``progress`` passes to ``writer.custom``, in order (each travels verbatim)."""

WRITTEN: list[Any] = [
    {"status": "working", "pct": 50},
    "plain string",
    {"type": "data-fromwrite", "data": {"a": 1}},
]
"""What ``progress`` passes to ``writer.write``, in order."""


@tool
async def progress(job: str, ctx: ToolContext) -> dict[str, Any]:
    """Run a job, reporting progress."""
    for value in WRITTEN:
        await ctx.writer.write(value)
    for chunk in CUSTOM_CHUNKS:
        await ctx.writer.custom(chunk)
    return {"done": True, "job": job}


def writer_agent() -> Agent:
    return Agent(
        "writer-agent",
        model=ScriptedModel(
            [tool_step("call-1", "progress", '{"job":"x"}'), text_step("done")], cycle=True
        ),
        tools=[progress],
    )


@tool
async def lookup(topic: str, ctx: ToolContext) -> str:
    """Look a topic up."""
    await ctx.writer.write({"looking": topic})
    await ctx.writer.custom({"type": "data-lookup", "id": "l1", "data": {"topic": topic}})
    return f"facts about {topic}"


def inner_agent(words: int = 3) -> Agent:
    deltas = [f"w{i} " if words < 10 else f"w{i:04d} " for i in range(words)]  # same widths
    return Agent(
        "researcher",
        description="finds facts",
        model=ScriptedModel(
            [tool_step("inner-1", "lookup", '{"topic":"dolphins"}'), text_step(*deltas)],
            cycle=True,
        ),
        tools=[lookup],
    )


def nested_agent(key: str = "nested-agent", *, words: int = 3, text_only: bool = False) -> Agent:
    inner = inner_agent(words)

    @tool
    async def research(question: str, ctx: ToolContext) -> str:
        """Ask the researcher."""
        stream = await inner.stream(question)
        if text_only:
            await ctx.writer.pipe_text(stream)
        else:
            await ctx.writer.pipe(stream)
        return await stream.text

    return Agent(
        key,
        model=ScriptedModel(
            [tool_step("call-1", "research", '{"question":"dolphins?"}'), text_step("ok")],
            cycle=True,
        ),
        tools=[research],
    )


def _router(call: ModelCall) -> list[dict[str, Any]]:
    """Route to the writer once, then judge the task complete."""
    properties = (call.response_format or {}).get("schema", {}).get("properties", {})
    if "primitiveId" in properties:
        answer = {
            "primitiveId": "writer-agent",
            "primitiveType": "agent",
            "prompt": "run the job",
            "selectionReason": "it runs jobs",
        }
    else:
        answer = {"isComplete": True, "completionReason": "done", "finalResult": "the job ran"}
    return text_step(json.dumps(answer))


def network_agent() -> Agent:
    return Agent(
        "network-agent",
        instructions="Coordinate.",
        model=FunctionModel(_router),
        agents={"writer-agent": writer_agent()},
        memory=Memory(),
    )


def writer_workflow() -> Workflow:
    return (
        Workflow("writer-workflow")
        .then(Step("to-prompt", None, None, lambda ctx: {"prompt": "go"}))
        .then(Step.from_agent(writer_agent()))
        .commit()
    )


def streaming_agents() -> dict[str, Agent]:
    """The agents above, by key."""
    return {
        "writer-agent": writer_agent(),
        "nested-agent": nested_agent(),
        "text-pipe-agent": nested_agent("text-pipe-agent", text_only=True),
        "network-agent": network_agent(),
    }


def streaming_runtime() -> Runtime:
    """The agents above, a ``long-nested-agent`` (40 nested words) and ``writer-workflow``."""
    agents = {**streaming_agents(), "long-nested-agent": nested_agent("long", words=40)}
    return Runtime(agents=agents, workflows={"writer-workflow": writer_workflow()})
