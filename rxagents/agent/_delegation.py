"""Supervisor delegation: an agent's sub-agents as tools of its own runs.

An agent built with ``agents={key: agent}`` offers its model one tool per sub-agent, named
``agent-<key>``, in ``stream()`` and ``generate()`` (as Mastra 1.71 does; workflows become
``workflow-<key>`` tools, see :mod:`rxagents.agent._workflow_tool`). A delegation runs the
sub-agent on the supervisor's conversation (its tool calls and results left out) followed by the
delegation's prompt, streams the sub-agent's whole run into the supervisor's stream as
``tool-output`` chunks, and answers with ``{text, subAgentThreadId, subAgentResourceId,
subAgentToolResults}``; the supervisor's model receives only the text. A sub-agent call waiting
for approval (or a suspended sub-agent tool) pauses the supervisor on its own delegation call,
showing the sub-agent's call; approving, declining or resuming that call answers the sub-agent's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from reactivex import Observable, abc

from rxagents.agent._stream import AgentStream
from rxagents.agent.protocol import AgentLike
from rxagents.agent.tools import (
    ModelOutput,
    NestedPause,
    Tool,
    ToolContext,
    ToolSuspended,
)
from rxagents.errors import ConfigurationError, ToolExecutionError
from rxagents.events import (
    AgentChunk,
    Chunk,
    ToolCallApprovalPayload,
    ToolResultPayload,
)
from rxagents.models import Message

__all__ = (
    "AGENT_INPUT_SCHEMA",
    "DRAFT_07",
    "RESUME_DATA_SCHEMA",
    "AgentToolInput",
    "agent_tool",
    "check_tool_name",
    "strip_tool_parts",
)

_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What model providers accept as a tool name (OpenAI's and Anthropic's rule)."""

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
RESUME_DATA_SCHEMA = {
    "description": "The resumeData object created from the resumeSchema of suspended tool",
    "type": ["string", "number", "integer", "boolean", "object", "null"],
}

AGENT_INPUT_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT_07,
    "type": "object",
    "properties": {
        "prompt": {"description": "The prompt to send to the agent", "type": "string"},
        "threadId": {
            "description": "Thread ID for conversation continuity for memory messages",
            "anyOf": [{"type": "string"}, {"type": "null"}],
        },
        "resourceId": {
            "description": "Resource/user identifier for memory messages",
            "anyOf": [{"type": "string"}, {"type": "null"}],
        },
        "instructions": {
            "description": (
                "Additional instructions to append to the agent instructions. Only provide if "
                "you have specific guidance beyond what the agent already knows. Leave empty in "
                "most cases."
            ),
            "anyOf": [{"type": "string"}, {"type": "null"}],
        },
        "maxSteps": {
            "description": (
                "Maximum number of execution steps for the sub-agent (integer, minimum 3)"
            ),
            "anyOf": [
                {"type": "integer", "minimum": 3, "maximum": 9007199254740991},
                {"type": "null"},
            ],
        },
        "suspendedToolCallId": {
            "anyOf": [
                {"description": "The toolCallId of the suspended tool to resume", "type": "string"},
                {"type": "null"},
            ]
        },
        "suspendedToolRunId": {
            "anyOf": [
                {"description": "The runId of the suspended tool", "type": "string"},
                {"type": "null"},
            ]
        },
        "resumeData": RESUME_DATA_SCHEMA,
    },
    "required": ["prompt"],
    "additionalProperties": False,
}
"""The input schema of an ``agent-<key>`` tool, as Mastra 1.71 sends it to the model."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class AgentToolInput(_Strict):
    """The arguments of an ``agent-<key>`` tool."""

    prompt: str
    """What the sub-agent is asked (its last user message)."""
    thread_id: str | None = Field(None, alias="threadId")
    """The sub-agent's memory thread (default: a new one)."""
    resource_id: str | None = Field(None, alias="resourceId")
    """The owner of that thread (default: a new id)."""
    instructions: str | None = None
    """Appended to the sub-agent's instructions."""
    max_steps: int | None = Field(None, alias="maxSteps", ge=3, le=9007199254740991)
    """The sub-agent's ``max_steps`` for this run (default: its own)."""
    suspended_tool_call_id: str | None = Field(None, alias="suspendedToolCallId")
    """Accepted as in Mastra; unused (a paused sub-agent is resumed through the supervisor)."""
    suspended_tool_run_id: str | None = Field(None, alias="suspendedToolRunId")
    """Accepted as in Mastra; unused."""
    resume_data: Any = Field(None, alias="resumeData")
    """Accepted as in Mastra; unused."""


def check_tool_name(agent_id: str, name: str, taken: Sequence[str]) -> None:
    """Refuse a delegation tool name providers reject, or one a tool already has.

    Raises:
        ConfigurationError: ``name`` is not a valid tool name or is taken.
    """
    if not _TOOL_NAME.fullmatch(name):
        raise ConfigurationError(
            f"agent {agent_id!r}: the tool {name!r} would not be a valid tool name (letters, "
            "digits, '_' and '-', at most 64 characters): choose another key"
        )
    if name in taken:
        raise ConfigurationError(
            f"agent {agent_id!r}: a tool is named {name!r}, like the delegation tool of a "
            "sub-agent or workflow: rename one of them"
        )


def strip_tool_parts(messages: Sequence[Message]) -> list[Message]:
    """The conversation without tool calls and results (what a sub-agent receives).

    Tool messages are dropped, tool-call parts removed from assistant messages (an assistant
    message left empty is dropped); system, user and assistant text stay.
    """
    kept: list[Message] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            continue
        content = message.get("content")
        if role == "assistant" and isinstance(content, list):
            parts = [p for p in content if p.get("type") not in ("tool-call", "tool-result")]
            if not parts:
                continue
            message = {**message, "content": parts}
        kept.append(message)
    return kept


def _text_output(result: Any) -> ModelOutput:
    """The model receives a delegation's text only."""
    text = result.get("text", "") if isinstance(result, dict) else ""
    return {"type": "text", "value": str(text)}


def agent_tool(key: str, agent: AgentLike) -> Tool:
    """The ``agent-<key>`` tool delegating to ``agent`` (see the module docstring)."""
    name = f"agent-{key}"
    description = agent.description or f"Agent: {agent.name}"

    async def execute(args: AgentToolInput, ctx: ToolContext) -> dict[str, Any]:
        if isinstance(ctx.suspend_payload, dict):  # resumed: answer the sub-agent's call
            return await _answer_nested(agent, ctx.suspend_payload, ctx)
        has_memory = getattr(agent, "memory", None) is not None
        thread = args.thread_id or str(uuid.uuid4())
        resource = args.resource_id or str(uuid.uuid4())
        messages: list[Message] = [
            *strip_tool_parts(ctx.messages),
            {"role": "user", "content": [{"type": "text", "text": args.prompt}]},
        ]
        options: dict[str, Any] = {}
        if args.max_steps is not None:
            options["max_steps"] = args.max_steps
        if args.instructions:
            own = getattr(agent, "instructions", None)
            if isinstance(own, str):  # appended to the agent's own, as in Mastra
                options["instructions"] = (
                    f"{own}\n\n{args.instructions}" if own else args.instructions
                )
            else:  # an agent whose instructions are not known here (a remote one)
                messages.insert(0, {"role": "system", "content": args.instructions})
        if has_memory:
            options["memory"] = {"thread": thread, "resource": resource}
        stream = await _start(agent, messages, options)
        state = {"threadId": thread, "resourceId": resource, "toolResults": []}
        return await _follow(stream, state, ctx)

    return Tool(
        name,
        description,
        AgentToolInput,
        execute,
        takes_context=True,
        input_json_schema=AGENT_INPUT_SCHEMA,
        to_model_output=_text_output,
    )


async def _start(agent: AgentLike, messages: list[Message], options: dict[str, Any]) -> Any:
    """Start the sub-agent's run: its ``stream()``, or a stream over its ``observe()``."""
    stream = getattr(agent, "stream", None)
    if callable(stream):
        return await stream(messages, **options)
    return AgentStream(_ObservedSource(agent.observe(messages, **options)))


async def _follow(stream: Any, state: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Pipe the sub-agent's run into the writer; its result, or a pause on its approval."""
    await ctx.writer.pipe(stream)
    await stream.raise_for_error()
    results = list(state["toolResults"])
    for payload in await stream.tool_results:
        if isinstance(payload, ToolResultPayload):
            wire = payload.model_dump(mode="json", by_alias=True)
            results.append(
                {
                    "toolName": wire["toolName"],
                    "toolCallId": wire["toolCallId"],
                    "result": wire.get("result"),
                    "args": wire.get("args"),
                }
            )
    pending = await stream.pending_tool_calls
    if pending:  # the sub-agent paused: the supervisor pauses on this call, showing its call
        first = pending[0]
        wire = first.model_dump(mode="json", by_alias=True)
        is_approval = isinstance(first, ToolCallApprovalPayload)
        saved = {
            **state,
            "toolResults": results,
            "runId": stream.run_id,
            "toolCallId": first.tool_call_id,
            "kind": "approval" if is_approval else "suspension",
        }
        nested = NestedPause(
            "approval" if is_approval else "suspension",
            first.tool_name,
            wire.get("args"),
            suspend_payload=wire.get("suspendPayload"),
            resume_schema=wire.get("resumeSchema") if not is_approval else None,
        )
        raise ToolSuspended(saved, nested=nested)
    return {
        "text": await stream.text,
        "subAgentThreadId": state["threadId"],
        "subAgentResourceId": state["resourceId"],
        "subAgentToolResults": results,
    }


async def _answer_nested(
    agent: AgentLike, saved: dict[str, Any], ctx: ToolContext
) -> dict[str, Any]:
    """Answer the sub-agent's call the supervisor paused on, and follow the sub-agent's run.

    An approval is approved or declined (``ctx.resume_data`` is ``{"approved", "reason"?}``);
    a suspended call is resumed with ``ctx.resume_data``.
    """
    answer = ctx.resume_data
    run_id, call_id = saved["runId"], saved["toolCallId"]
    if saved.get("kind") == "suspension":
        stream = await _continue(agent, "resume_stream", ctx)(
            answer, run_id=run_id, tool_call_id=call_id
        )
    elif isinstance(answer, dict) and answer.get("approved") is True:
        stream = await _continue(agent, "approve_tool_call", ctx)(run_id, call_id)
    else:
        reason = answer.get("reason") if isinstance(answer, dict) else None
        stream = await _continue(agent, "decline_tool_call", ctx)(run_id, call_id, reason)
    return await _follow(stream, saved, ctx)


def _continue(agent: AgentLike, method: str, ctx: ToolContext) -> Any:
    """The sub-agent's method that continues its paused run.

    Raises:
        ToolExecutionError: The sub-agent has no such method (it runs only through observe()).
    """
    found = getattr(agent, method, None)
    if not callable(found):
        raise ToolExecutionError(
            f"sub-agent {agent.id!r} cannot continue a paused run (it has no {method}())",
            tool_name=ctx.tool_name,
        )
    return found


class _ObservedSource:
    """An :class:`AgentStream` source over the ``observe()`` of an agent without ``stream()``."""

    output: type[BaseModel] | None = None
    object: Any = None
    object_error: Exception | None = None

    def __init__(self, source: Observable[Chunk]) -> None:
        self.run_id = ""
        self.response_messages: list[Message] = []
        self._source = source

    def subscribe(self, observer: abc.ObserverBase[AgentChunk], /) -> abc.DisposableBase:
        def on_next(chunk: Any) -> None:
            if not self.run_id:
                self.run_id = chunk.run_id
            observer.on_next(chunk)

        return self._source.subscribe(on_next, observer.on_error, observer.on_completed)

    def closing_chunks(self) -> list[AgentChunk]:
        return []
