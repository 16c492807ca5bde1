"""Hypothesis strategies for usage, scripted model responses and chunk streams.

Valid streams follow every rule :func:`rxagents.testing.assert_well_formed` checks; broken ones
come with the rule they break. Use them in this project's tests and in your own:

Example:
    >>> from hypothesis import given
    >>> from rxagents.testing import assert_well_formed
    >>> from rxagents.testing.strategies import agent_chunk_streams
    >>> @given(agent_chunk_streams())
    ... def test_my_pipeline_keeps_streams_well_formed(chunks):
    ...     assert_well_formed(my_pipeline(chunks))

This module needs hypothesis (``pip install 'rxagents[dev]'``); ``rxagents.testing`` itself does
not import it.
"""

from __future__ import annotations

import functools
import itertools
import json
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Any, Literal, TypeAlias, TypeVar, Union, cast, get_args, get_origin

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.strategies import DrawFn, SearchStrategy
except ImportError as _err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "rxagents.testing.strategies needs hypothesis; install it with: pip install 'rxagents[dev]'"
    ) from _err

from pydantic import MISSING, BaseModel

from rxagents.errors import InvalidInputError
from rxagents.events import (
    CHUNK_CLASSES,
    Abort,
    AgentChunk,
    AgentError,
    AgentErrorPayload,
    AgentExecutionEnd,
    AgentExecutionEndPayload,
    AgentExecutionStart,
    AgentExecutionStartPayload,
    Chunk,
    ChunkBase,
    ErrorInfo,
    Finish,
    NetworkChunk,
    NetworkFinish,
    NetworkFinishPayload,
    NetworkStepFinish,
    NetworkStepFinishPayload,
    NetworkValidationEnd,
    NetworkValidationEndPayload,
    NetworkValidationStart,
    NetworkValidationStartPayload,
    ObjectChunk,
    ObjectResult,
    ReasoningDelta,
    ReasoningDeltaPayload,
    ReasoningEnd,
    ReasoningStart,
    RoutingAgentEnd,
    RoutingAgentEndPayload,
    RoutingAgentStart,
    RoutingAgentStartPayload,
    RoutingAgentTextDelta,
    RoutingAgentTextDeltaPayload,
    RoutingAgentTextStart,
    RoutingAgentTextStartPayload,
    Start,
    StartPayload,
    StepFinish,
    StepFinishPayload,
    StepMetadata,
    StepOutput,
    StepResult,
    StepStart,
    StepStartPayload,
    TextBlockPayload,
    TextDelta,
    TextDeltaPayload,
    TextEnd,
    TextStart,
    ToolCall,
    ToolCallDelta,
    ToolCallDeltaPayload,
    ToolCallInputStreamingEnd,
    ToolCallInputStreamingEndPayload,
    ToolCallInputStreamingStart,
    ToolCallInputStreamingStartPayload,
    ToolCallPayload,
    ToolCallSummary,
    ToolError,
    ToolErrorPayload,
    ToolExecutionEnd,
    ToolExecutionEndPayload,
    ToolExecutionStart,
    ToolExecutionStartPayload,
    ToolResult,
    ToolResultPayload,
    WorkflowChunk,
    WorkflowExecutionEnd,
    WorkflowExecutionEndPayload,
    WorkflowExecutionStart,
    WorkflowExecutionStartPayload,
    WorkflowFinish,
    WorkflowFinishOutput,
    WorkflowFinishPayload,
    WorkflowStart,
    WorkflowStartPayload,
    WorkflowStatus,
    WorkflowStepOutput,
    WorkflowStepOutputPayload,
    WorkflowStepResult,
    WorkflowStepResultPayload,
    WorkflowStepStart,
    WorkflowStepStartPayload,
    WorkflowStepSuspended,
    WorkflowStepSuspendedPayload,
    WrappedChunk,
)
from rxagents.testing._wellformed import Rule
from rxagents.usage import Usage

__all__ = (
    "BREAKABLE_RULES",
    "DEFAULT_TOOLS",
    "Breakage",
    "ModelPartDict",
    "Script",
    "ToolSpec",
    "agent_chunk_streams",
    "agent_scripts",
    "broken_agent_streams",
    "chunks",
    "json_values",
    "network_chunk_streams",
    "usages",
    "violations",
    "workflow_chunk_streams",
)

_T = TypeVar("_T")

ModelPartDict: TypeAlias = dict[str, Any]
"""One model part in the AI SDK v5 provider wire form, e.g. ``{"type": "text-delta", ...}``."""
Script: TypeAlias = list[list[ModelPartDict]]
"""Scripted model responses: one list of parts per model call (``ScriptedModel`` input)."""
ToolSpec: TypeAlias = "Sequence[str] | Mapping[str, SearchStrategy[Mapping[str, Any]]]"
"""Tool names, or tool names mapped to a strategy for their arguments."""
Breakage: TypeAlias = "tuple[list[Chunk], Rule]"
"""A broken stream and the rule :func:`~rxagents.testing.check_well_formed` reports first."""

DEFAULT_TOOLS: tuple[str, ...] = ("get_weather", "search_docs")
"""Tool names the stream strategies use unless told otherwise."""

_NAME_CHARS = string.ascii_lowercase + string.digits + "_"
_names = st.text(_NAME_CHARS, min_size=1, max_size=10)
_texts = st.text(max_size=12)
_small_ints = st.integers(min_value=0, max_value=10_000)
_stamps = st.integers(min_value=1_600_000_000_000, max_value=1_900_000_000_000)
_EXTRA_KEYS = ("custom", "xMeta", "providerOptions", "note", "type")
_OPTIONAL_COUNTERS = tuple(
    name for name, info in Usage.model_fields.items() if info.default is MISSING
)


def _ids(prefix: str) -> SearchStrategy[str]:
    return _names.map(lambda suffix: f"{prefix}{suffix}")


@functools.cache
def json_values(*, max_leaves: int = 6) -> SearchStrategy[Any]:
    """Return a strategy for JSON data (null, booleans, ints, finite floats, strings, nests).

    Every value survives ``json.dumps``/``json.loads`` unchanged.
    """
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**53), max_value=2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | _texts
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(_texts, children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


@functools.cache
def _json_objects() -> SearchStrategy[dict[str, Any]]:
    return st.dictionaries(_names, json_values(max_leaves=3), max_size=3)


# --- usage -----------------------------------------------------------------------------------


@st.composite
def _usages(draw: DrawFn, max_tokens: int, optional_counters: bool, raw: bool) -> Usage:
    input_tokens = draw(st.integers(0, max_tokens))
    output_tokens = draw(st.integers(0, max_tokens))
    fields: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    if optional_counters:
        for name in _OPTIONAL_COUNTERS:
            if draw(st.booleans()):
                fields[name] = draw(st.integers(0, max_tokens))
    if raw and draw(st.booleans()):
        fields["raw"] = draw(_json_objects())
    return Usage(**fields)


@functools.cache
def usages(
    *, max_tokens: int = 100_000, optional_counters: bool = True, raw: bool = False
) -> SearchStrategy[Usage]:
    """Return a strategy for :class:`~rxagents.usage.Usage` values.

    ``total_tokens`` is input plus output. Optional counters (``reasoningTokens`` …) are present
    or absent at random when ``optional_counters``; with ``raw`` some values carry a provider
    ``raw`` object (kept on the wire, never summed).
    """
    return _usages(max_tokens, optional_counters, raw)


@functools.cache
def _errors() -> SearchStrategy[ErrorInfo]:
    plain = st.builds(ErrorInfo, name=_names, message=_texts)
    foreign = (
        _texts
        | st.fixed_dictionaries(
            {"__error__": st.fixed_dictionaries({"name": _names, "message": _texts})}
        )
        | st.fixed_dictionaries({"name": _names, "message": _texts, "stack": _texts})
    )
    return plain | foreign.map(ErrorInfo.model_validate)


# --- scripted model responses ----------------------------------------------------------------


def _tool_args(tools: ToolSpec) -> dict[str, SearchStrategy[Mapping[str, Any]]]:
    if isinstance(tools, Mapping):
        return dict(tools)
    if isinstance(tools, str):
        raise InvalidInputError("tools must be a sequence of names, not one string")
    return {name: _json_objects() for name in tools}


_DEFAULT_TOOL_ARGS = _tool_args(DEFAULT_TOOLS)


def _check_steps(min_steps: int, max_steps: int) -> None:
    if not 1 <= min_steps <= max_steps:
        raise InvalidInputError(f"need 1 <= min_steps <= max_steps, got {min_steps}, {max_steps}")


def _split(draw: DrawFn, text: str) -> list[str]:
    """Cut ``text`` into 1-4 non-empty fragments (one empty fragment for empty text)."""
    if len(text) < 2:
        return [text]
    cuts = sorted(draw(st.sets(st.integers(1, len(text) - 1), max_size=3)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _interleave(draw: DrawFn, sequences: Sequence[Sequence[_T]]) -> list[_T]:
    """Merge sequences in a drawn order that keeps each sequence's own order."""
    queues = [list(seq) for seq in sequences if seq]
    merged: list[_T] = []
    while queues:
        pick = draw(st.integers(0, len(queues) - 1))
        merged.append(queues[pick].pop(0))
        if not queues[pick]:
            queues.pop(pick)
    return merged


def _usage_wire(usage: Usage) -> dict[str, Any]:
    return usage.model_dump(by_alias=True)


def _draw_script_step(
    draw: DrawFn,
    index: int,
    is_last: bool,
    tools: Mapping[str, SearchStrategy[Mapping[str, Any]]],
    max_tool_calls: int,
) -> list[ModelPartDict]:
    blocks: list[list[ModelPartDict]] = []
    for kind, count in (
        ("reasoning", draw(st.integers(0, 1))),
        ("text", draw(st.integers(0, 2))),
    ):
        for k in range(count):
            block_id = f"{kind}-{index}-{k}"
            deltas = draw(st.lists(_texts, min_size=1, max_size=3))
            blocks.append(
                [
                    {"type": f"{kind}-start", "id": block_id},
                    *({"type": f"{kind}-delta", "id": block_id, "delta": d} for d in deltas),
                    {"type": f"{kind}-end", "id": block_id},
                ]
            )
    calls = 0 if is_last else draw(st.integers(1, max_tool_calls))
    for k in range(calls):
        name = draw(st.sampled_from(sorted(tools)))
        arguments = json.dumps(dict(draw(tools[name])))
        call_id = f"call-{index}-{k}"
        call: list[ModelPartDict] = []
        if draw(st.booleans()):
            call.append({"type": "tool-input-start", "id": call_id, "toolName": name})
            call.extend(
                {"type": "tool-input-delta", "id": call_id, "delta": piece}
                for piece in _split(draw, arguments)
            )
            call.append({"type": "tool-input-end", "id": call_id})
        call.append(
            {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": arguments}
        )
        blocks.append(call)
    parts = _interleave(draw, blocks) if draw(st.booleans()) else [p for b in blocks for p in b]
    parts.append(
        {
            "type": "finish",
            "finishReason": "stop" if is_last else "tool-calls",
            "usage": _usage_wire(draw(usages(max_tokens=5_000))),
        }
    )
    return parts


def _draw_script(
    draw: DrawFn,
    tools: Mapping[str, SearchStrategy[Mapping[str, Any]]],
    min_steps: int,
    max_steps: int,
    max_tool_calls: int,
) -> Script:
    steps = draw(st.integers(min_steps, max_steps)) if tools else 1
    return [_draw_script_step(draw, k, k == steps - 1, tools, max_tool_calls) for k in range(steps)]


def agent_scripts(
    *,
    tools: ToolSpec = DEFAULT_TOOLS,
    min_steps: int = 1,
    max_steps: int = 3,
    max_tool_calls: int = 2,
) -> SearchStrategy[Script]:
    """Return a strategy for scripted model responses (``ScriptedModel`` input).

    Each step is a list of AI SDK v5 provider parts: optional reasoning and text blocks
    (``*-start``, deltas, ``*-end``), tool calls (sometimes with streamed input:
    ``tool-input-start``, ``tool-input-delta``, ``tool-input-end``, then ``tool-call`` with the
    JSON ``input``), blocks sometimes interleaved, and a closing ``finish`` with usage. Every step
    but the last calls at least one tool and finishes with ``tool-calls``; the last finishes with
    ``stop``. Without tools there is one step.

    Args:
        tools: Tool names (arguments are JSON objects), or names mapped to a strategy for the
            arguments a tool accepts.
        min_steps: Fewest model calls.
        max_steps: Most model calls.
        max_tool_calls: Most tool calls per step.
    """
    _check_steps(min_steps, max_steps)
    args = (_tool_args(tools), min_steps, max_steps, max(1, max_tool_calls))
    return st.composite(lambda draw: _draw_script(draw, *args))()


# --- agent streams ---------------------------------------------------------------------------


@dataclass
class _StepChunks:
    chunks: list[AgentChunk]
    text: str
    usage: Usage
    reason: str
    calls: list[ToolCallSummary]


def _step_chunks(
    draw: DrawFn, run_id: str, message_id: str, parts: list[ModelPartDict], is_last: bool
) -> _StepChunks:
    """Turn one scripted step into the chunks the agent loop emits for it."""
    out: list[AgentChunk] = [
        StepStart(
            run_id=run_id,
            payload=StepStartPayload(
                message_id=message_id, request={}, warnings=[], started_at=draw(_stamps)
            ),
        )
    ]
    text: list[str] = []
    names: dict[str, str] = {}
    calls: list[ToolCallSummary] = []
    usage, reason = Usage.zero, "stop"
    for part in parts:
        kind = part["type"]
        if kind in ("text-start", "reasoning-start"):
            block_start = TextStart if kind == "text-start" else ReasoningStart
            out.append(block_start(run_id=run_id, payload=TextBlockPayload(id=part["id"])))
        elif kind == "text-delta":
            text.append(part["delta"])
            out.append(
                TextDelta(
                    run_id=run_id, payload=TextDeltaPayload(id=part["id"], text=part["delta"])
                )
            )
        elif kind == "reasoning-delta":
            payload = ReasoningDeltaPayload(id=part["id"], text=part["delta"])
            out.append(ReasoningDelta(run_id=run_id, payload=payload))
        elif kind in ("text-end", "reasoning-end"):
            block_end = TextEnd if kind == "text-end" else ReasoningEnd
            out.append(block_end(run_id=run_id, payload=TextBlockPayload(id=part["id"])))
        elif kind == "tool-input-start":
            names[part["id"]] = part["toolName"]
            start = ToolCallInputStreamingStartPayload(
                tool_call_id=part["id"], tool_name=part["toolName"]
            )
            out.append(ToolCallInputStreamingStart(run_id=run_id, payload=start))
        elif kind == "tool-input-delta":
            delta = ToolCallDeltaPayload(
                tool_call_id=part["id"], tool_name=names[part["id"]], args_text_delta=part["delta"]
            )
            out.append(ToolCallDelta(run_id=run_id, payload=delta))
        elif kind == "tool-input-end":
            end = ToolCallInputStreamingEndPayload(tool_call_id=part["id"])
            out.append(ToolCallInputStreamingEnd(run_id=run_id, payload=end))
        elif kind == "tool-call":
            args = json.loads(part["input"])
            call = ToolCallPayload(
                tool_call_id=part["toolCallId"], tool_name=part["toolName"], args=args
            )
            out.append(ToolCall(run_id=run_id, payload=call))
            calls.append(
                ToolCallSummary(
                    tool_call_id=part["toolCallId"], tool_name=part["toolName"], args=args
                )
            )
        elif kind == "finish":
            usage = Usage.model_validate(part["usage"])
            reason = part["finishReason"]
    for summary in draw(st.permutations(calls)):
        if draw(st.integers(0, 3)) == 0:
            failed = ToolErrorPayload(
                tool_call_id=summary.tool_call_id,
                tool_name=summary.tool_name,
                args=summary.args,
                error=draw(_errors()),
            )
            out.append(ToolError(run_id=run_id, payload=failed))
        else:
            result = ToolResultPayload(
                tool_call_id=summary.tool_call_id,
                tool_name=summary.tool_name,
                args=summary.args,
                result=draw(json_values()),
            )
            out.append(ToolResult(run_id=run_id, payload=result))
    joined = "".join(text)
    out.append(
        StepFinish(
            run_id=run_id,
            payload=_finish_payload(message_id, reason, not is_last, joined, usage, calls),
        )
    )
    return _StepChunks(out, joined, usage, reason, calls)


def _finish_payload(
    message_id: str,
    reason: str,
    is_continued: bool,
    text: str,
    usage: Usage,
    calls: list[ToolCallSummary] | None = None,
) -> StepFinishPayload:
    output = (
        StepOutput(text=text, tool_calls=calls, usage=usage)
        if calls
        else StepOutput(text=text, usage=usage)
    )
    return StepFinishPayload(
        message_id=message_id,
        step_result=StepResult(reason=reason, is_continued=is_continued, warnings=[]),
        output=output,
        metadata=StepMetadata(model_id="scripted-model", provider="scripted"),
    )


def _close_open(run_id: str, chunks: Sequence[AgentChunk]) -> list[AgentChunk]:
    """Return the ``*-end`` chunks that close what is open at the end of ``chunks``."""
    blocks: dict[tuple[type, str], None] = {}
    inputs: dict[str, None] = {}
    for chunk in chunks:
        if isinstance(chunk, TextStart):
            blocks[(TextEnd, chunk.payload.id)] = None
        elif isinstance(chunk, ReasoningStart):
            blocks[(ReasoningEnd, chunk.payload.id)] = None
        elif isinstance(chunk, TextEnd | ReasoningEnd):
            blocks.pop((type(chunk), chunk.payload.id), None)
        elif isinstance(chunk, ToolCallInputStreamingStart):
            inputs[chunk.payload.tool_call_id] = None
        elif isinstance(chunk, ToolCallInputStreamingEnd):
            inputs.pop(chunk.payload.tool_call_id, None)
    closing: list[AgentChunk] = [
        cast(AgentChunk, end(run_id=run_id, payload=TextBlockPayload(id=block_id)))
        for end, block_id in blocks
    ]
    closing.extend(
        ToolCallInputStreamingEnd(
            run_id=run_id, payload=ToolCallInputStreamingEndPayload(tool_call_id=call_id)
        )
        for call_id in inputs
    )
    return closing


def _draw_agent_stream(
    draw: DrawFn,
    run_id: str | None,
    tools: Mapping[str, SearchStrategy[Mapping[str, Any]]],
    min_steps: int,
    max_steps: int,
    max_tool_calls: int,
    endings: tuple[str, ...],
) -> list[AgentChunk]:
    rid = run_id if run_id is not None else draw(_ids("run-"))
    message_id = f"msg-{rid}"
    script = _draw_script(draw, tools, min_steps, max_steps, max_tool_calls)
    ending = draw(st.sampled_from(endings))
    out: list[AgentChunk] = [
        Start(run_id=rid, payload=StartPayload(id="agent", message_id=message_id))
    ]
    total, text, reason = Usage.zero, "", "stop"
    for k, parts in enumerate(script):
        is_last = k == len(script) - 1
        if is_last and ending == "error":
            parts = [p for p in parts if p["type"].startswith("text")][: draw(st.integers(0, 3))]
        step = _step_chunks(draw, rid, message_id, parts, is_last)
        if is_last and ending == "abort":
            body = step.chunks[: draw(st.integers(1, len(step.chunks) - 1))]
            out.extend(body)
            out.extend(_close_open(rid, body))
            out.append(Abort(run_id=rid))
            return out
        if is_last and ending == "error":
            body = step.chunks[:-1]
            out.extend(body)
            out.extend(_close_open(rid, body))
            error = AgentErrorPayload(error=draw(_errors()))
            out.append(AgentError(run_id=rid, payload=error))
            step.reason, step.usage = "error", Usage.zero
            payload = _finish_payload(message_id, "error", False, step.text, Usage.zero)
            out.append(StepFinish(run_id=rid, payload=payload))
        else:
            out.extend(step.chunks)
        total, text, reason = total + step.usage, step.text, step.reason
    out.append(Finish(run_id=rid, payload=_finish_payload(message_id, reason, False, text, total)))
    return out


def agent_chunk_streams(
    *,
    run_id: str | None = None,
    tools: ToolSpec = DEFAULT_TOOLS,
    min_steps: int = 1,
    max_steps: int = 3,
    max_tool_calls: int = 2,
    include_errors: bool = False,
    include_aborts: bool = False,
) -> SearchStrategy[list[AgentChunk]]:
    """Return a strategy for well-formed agent streams, as the agent loop emits them.

    ``start``; per model call a step block with reasoning and text blocks (sometimes
    interleaved), tool calls (sometimes with streamed input) each answered by a ``tool-result``
    or ``tool-error`` (in any order) before ``step-finish``; then ``finish`` whose usage is the sum
    of the steps'. All chunks share one runId.

    Args:
        run_id: The run id; drawn when omitted.
        tools: Tool names, or names mapped to argument strategies (see :func:`agent_scripts`).
        min_steps: Fewest model calls.
        max_steps: Most model calls.
        max_tool_calls: Most tool calls per step.
        include_errors: Sometimes end with a failed model call: ``error`` inside the last step,
            ``step-finish`` and ``finish`` with reason ``error``.
        include_aborts: Sometimes cut the last step: open blocks are closed, then ``abort`` is the
            last chunk (no ``finish``).
    """
    _check_steps(min_steps, max_steps)
    endings = ("finish",) + ("error",) * include_errors + ("abort",) * include_aborts
    args = (run_id, _tool_args(tools), min_steps, max_steps, max(1, max_tool_calls), endings)
    return st.composite(lambda draw: _draw_agent_stream(draw, *args))()


# --- workflow streams ------------------------------------------------------------------------


class _Clock:
    def __init__(self, start: int) -> None:
        self.now = start

    def tick(self) -> int:
        self.now += 7
        return self.now


@dataclass
class _WorkflowRun:
    run_id: str
    clock: _Clock
    with_call_ids: bool
    calls: int = 0
    usage: Usage = Usage.zero

    def call_id(self, step_id: str) -> str | None:
        self.calls += 1
        return f"{step_id}#{self.calls}" if self.with_call_ids else None


@functools.cache
def _custom_outputs() -> SearchStrategy[Any]:
    progress = st.fixed_dictionaries(
        {"type": st.just("my-progress"), "payload": st.fixed_dictionaries({"percent": _small_ints})}
    )
    return json_values() | progress


def _step_fields(
    step_id: str, name: str, call_id: str | None, data: Any, started: int
) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": step_id, "step_name": name, "payload": data}
    if call_id is not None:
        fields["step_call_id"] = call_id
    fields["started_at"] = started
    return fields


def _draw_workflow_step(
    draw: DrawFn,
    run: _WorkflowRun,
    step_id: str,
    name: str,
    data: Any,
    outcome: Literal["success", "failed", "suspended"] = "success",
    agent: bool = False,
) -> list[WorkflowChunk]:
    """One execution of one step: start, what it wrote, its result or suspension."""
    rid = run.run_id
    call_id = run.call_id(step_id)
    started = run.clock.tick()
    fields = _step_fields(step_id, name, call_id, data, started)
    out: list[WorkflowChunk] = [
        WorkflowStepStart(run_id=rid, payload=WorkflowStepStartPayload(**fields, status="running"))
    ]
    written: list[Any]
    result: Any
    if agent:
        inner = _draw_agent_stream(draw, f"{rid}.{name}", _DEFAULT_TOOL_ARGS, 1, 2, 1, ("finish",))
        written = list(inner)
        last = cast(Finish, inner[-1])
        run.usage = run.usage + last.payload.output.usage
        result = {"text": last.payload.output.text}
    else:
        written = draw(st.lists(_custom_outputs(), max_size=2))
        result = draw(json_values())
    out.extend(
        WorkflowStepOutput(
            run_id=rid, payload=WorkflowStepOutputPayload(step_name=name, run_id=rid, output=value)
        )
        for value in written
    )
    if outcome == "suspended":
        suspended = WorkflowStepSuspendedPayload(
            **fields,
            status="suspended",
            suspend_payload=draw(json_values()),
            suspended_at=run.clock.tick(),
        )
        out.append(WorkflowStepSuspended(run_id=rid, payload=suspended))
    elif outcome == "failed":
        failed = WorkflowStepResultPayload(
            **fields, status="failed", error=draw(_errors()), ended_at=run.clock.tick()
        )
        out.append(WorkflowStepResult(run_id=rid, payload=failed))
    else:
        done = WorkflowStepResultPayload(
            **fields, status="success", output=result, ended_at=run.clock.tick()
        )
        out.append(WorkflowStepResult(run_id=rid, payload=done))
    return out


_BLOCKS = ("step", "step", "agent", "parallel", "loop", "nested")


def _draw_workflow_stream(
    draw: DrawFn,
    run_id: str | None,
    workflow_id: str | None,
    max_steps: int,
    endings: tuple[WorkflowStatus, ...],
    include_agents: bool,
) -> list[WorkflowChunk]:
    rid = run_id if run_id is not None else draw(_ids("wf-run-"))
    run = _WorkflowRun(rid, _Clock(draw(_stamps)), draw(st.booleans()))
    wid = workflow_id if workflow_id is not None else draw(_ids("workflow-"))
    out: list[WorkflowChunk] = [
        WorkflowStart(run_id=rid, payload=WorkflowStartPayload(workflow_id=wid))
    ]
    blocks = [b for b in _BLOCKS if include_agents or b != "agent"]
    data = draw(json_values())
    for k in range(draw(st.integers(1, max_steps))):
        block = draw(st.sampled_from(blocks))
        if block in ("step", "agent"):
            out.extend(
                _draw_workflow_step(
                    draw, run, f"step-{k}", f"step-{k}", data, agent=block == "agent"
                )
            )
        elif block == "parallel":
            branches = [
                _draw_workflow_step(draw, run, f"branch-{k}-{j}", f"branch-{k}-{j}", data)
                for j in range(draw(st.integers(2, 3)))
            ]
            out.extend(_interleave(draw, branches))
        elif block == "loop":
            for _ in range(draw(st.integers(2, 3))):
                out.extend(_draw_workflow_step(draw, run, f"loop-{k}", f"loop-{k}", data))
        else:
            outer = f"nested-{k}"
            call_id = run.call_id(outer)
            fields = _step_fields(outer, outer, call_id, data, run.clock.tick())
            out.append(WorkflowStepStart(run_id=rid, payload=WorkflowStepStartPayload(**fields)))
            for j in range(draw(st.integers(1, 2))):
                out.extend(_draw_workflow_step(draw, run, f"{outer}.inner-{j}", f"inner-{j}", data))
            done = WorkflowStepResultPayload(
                **fields, status="success", output=data, ended_at=run.clock.tick()
            )
            out.append(WorkflowStepResult(run_id=rid, payload=done))
    status = draw(st.sampled_from(endings))
    if status == "failed":
        out.extend(_draw_workflow_step(draw, run, "failing-step", "failing-step", data, "failed"))
    elif status == "suspended":
        out.extend(_draw_workflow_step(draw, run, "approval", "approval", data, "suspended"))
    result: dict[str, Any] = {"final_workflow_result": data} if status == "success" else {}
    finish = WorkflowFinishPayload(
        workflow_status=status, output=WorkflowFinishOutput(usage=run.usage), metadata={}, **result
    )
    out.append(WorkflowFinish(run_id=rid, payload=finish))
    return out


def workflow_chunk_streams(
    *,
    run_id: str | None = None,
    workflow_id: str | None = None,
    max_steps: int = 4,
    include_failures: bool = True,
    include_suspends: bool = True,
    include_agents: bool = True,
) -> SearchStrategy[list[WorkflowChunk]]:
    """Return a strategy for well-formed workflow streams.

    ``workflow-start``, then blocks of steps: single steps writing plain JSON or custom
    ``{"type": "my-progress", ...}`` objects, agents used as steps (each agent chunk wrapped whole
    in ``workflow-step-output``), parallel blocks (children interleaved), loops (one step id run
    several times) and nested workflows (dotted ids); ``stepCallId`` present or absent per stream;
    then ``workflow-finish`` (``success``, or ``failed`` after a failed step, or ``suspended``
    after a suspended one) with the agents' summed usage.

    Args:
        run_id: The workflow run id; drawn when omitted.
        workflow_id: The workflow id; drawn when omitted.
        max_steps: Most step blocks before the last one.
        include_failures: Sometimes end with a failed step and ``workflowStatus: failed``.
        include_suspends: Sometimes end with a suspended step and ``workflowStatus: suspended``.
        include_agents: Use agents as steps.
    """
    _check_steps(1, max_steps)
    optional: tuple[tuple[bool, WorkflowStatus], ...] = (
        (include_failures, "failed"),
        (include_suspends, "suspended"),
    )
    endings: tuple[WorkflowStatus, ...] = ("success", *(s for on, s in optional if on))
    args = (run_id, workflow_id, max_steps, endings, include_agents)
    return st.composite(lambda draw: _draw_workflow_stream(draw, *args))()


# --- network streams -------------------------------------------------------------------------


def _wrap(prefix: str, network_run: str, chunk: Chunk) -> WrappedChunk:
    return WrappedChunk(type=prefix + chunk.type, run_id=network_run, payload=chunk)


def _draw_network_stream(
    draw: DrawFn,
    run_id: str | None,
    max_iterations: int,
    primitives: tuple[str, ...],
    include_validation: bool,
) -> list[NetworkChunk | WrappedChunk]:
    rid = run_id if run_id is not None else draw(_ids("net-run-"))
    task = draw(_texts)
    out: list[NetworkChunk | WrappedChunk] = []
    usage = Usage.zero
    iterations = draw(st.integers(1, max_iterations))
    primitive_id, primitive_type, result = "", "none", ""
    for k in range(iterations + 1):
        is_final = k == iterations
        primitive_type = "none" if is_final else draw(st.sampled_from(primitives))
        primitive_id = "" if is_final else f"{primitive_type}-{k}"
        routing_usage = draw(usages(max_tokens=2_000, optional_counters=False))
        usage = usage + routing_usage
        start = RoutingAgentStartPayload(
            network_id="router",
            agent_id="router",
            run_id=rid,
            input_data={"task": task, "iteration": k},
        )
        out.append(RoutingAgentStart(run_id=rid, payload=start))
        decision = RoutingAgentEndPayload(
            task=task,
            primitive_id=primitive_id,
            primitive_type=primitive_type,
            prompt=draw(_texts),
            selection_reason=draw(_texts),
            is_complete=is_final,
            iteration=k,
            run_id=rid,
            usage=routing_usage,
        )
        out.append(RoutingAgentEnd(run_id=rid, payload=decision))
        if is_final:
            out.append(
                RoutingAgentTextStart(run_id=rid, payload=RoutingAgentTextStartPayload(run_id=rid))
            )
            answer = draw(st.lists(_texts, min_size=1, max_size=3))
            out.extend(
                RoutingAgentTextDelta(run_id=rid, payload=RoutingAgentTextDeltaPayload(text=piece))
                for piece in answer
            )
            result = "".join(answer)
            step = NetworkStepFinishPayload(
                task=task, result=result, is_complete=True, iteration=k, run_id=rid
            )
            out.append(NetworkStepFinish(run_id=rid, payload=step))
            break
        inner_run = f"{rid}.{primitive_id}"
        if primitive_type == "agent":
            inner_agent = _draw_agent_stream(
                draw, inner_run, _DEFAULT_TOOL_ARGS, 1, 2, 1, ("finish", "error")
            )
            last = cast(Finish, inner_agent[-1])
            inner_usage, result = last.payload.output.usage, last.payload.output.text
            started = AgentExecutionStartPayload(
                agent_id=primitive_id, args={"prompt": task}, run_id=inner_run
            )
            out.append(AgentExecutionStart(run_id=rid, payload=started))
            out.extend(_wrap("agent-execution-event-", rid, c) for c in inner_agent)
            ended = AgentExecutionEndPayload(
                agent_id=primitive_id,
                result=result,
                iteration=k,
                run_id=inner_run,
                usage=inner_usage,
            )
            out.append(AgentExecutionEnd(run_id=rid, payload=ended))
            usage = usage + inner_usage
        elif primitive_type == "workflow":
            inner_workflow = _draw_workflow_stream(
                draw, inner_run, primitive_id, 2, ("success", "failed"), True
            )
            last_wf = cast(WorkflowFinish, inner_workflow[-1])
            inner_usage = last_wf.payload.output.usage
            result = json.dumps(last_wf.payload.final_workflow_result, default=str)
            started_wf = WorkflowExecutionStartPayload(
                workflow_id=primitive_id, args={"task": task}, run_id=inner_run
            )
            out.append(WorkflowExecutionStart(run_id=rid, payload=started_wf))
            out.extend(_wrap("workflow-execution-event-", rid, c) for c in inner_workflow)
            ended_wf = WorkflowExecutionEndPayload(
                name=primitive_id, result=result, iteration=k, run_id=inner_run, usage=inner_usage
            )
            out.append(WorkflowExecutionEnd(run_id=rid, payload=ended_wf))
            usage = usage + inner_usage
        else:
            args = draw(_json_objects())
            out.append(
                ToolExecutionStart(
                    run_id=rid, payload=ToolExecutionStartPayload(args=args, run_id=rid)
                )
            )
            tool_result = draw(json_values())
            result = json.dumps(tool_result)
            ended_tool = ToolExecutionEndPayload(
                tool_name=primitive_id, tool_call_id=f"call-{k}", result=tool_result, iteration=k
            )
            out.append(ToolExecutionEnd(run_id=rid, payload=ended_tool))
        if include_validation and draw(st.booleans()):
            check_usage = draw(usages(max_tokens=2_000, optional_counters=False))
            usage = usage + check_usage
            validation = NetworkValidationStartPayload(run_id=rid, iteration=k)
            out.append(NetworkValidationStart(run_id=rid, payload=validation))
            verdict = NetworkValidationEndPayload(
                passed=False, reason=draw(_texts), iteration=k, usage=check_usage
            )
            out.append(NetworkValidationEnd(run_id=rid, payload=verdict))
    finish = NetworkFinishPayload(
        task=task,
        result=result,
        is_complete=True,
        completion_reason="routing-agent-complete",
        iteration=iterations,
        primitive_id=primitive_id,
        primitive_type=primitive_type,
        thread_id=f"thread-{rid}",
        usage=usage,
    )
    out.append(NetworkFinish(run_id=rid, payload=finish))
    return out


def network_chunk_streams(
    *,
    run_id: str | None = None,
    max_iterations: int = 3,
    primitives: Sequence[Literal["agent", "workflow", "tool"]] = ("agent", "workflow", "tool"),
    include_validation: bool = True,
) -> SearchStrategy[list[NetworkChunk | WrappedChunk]]:
    """Return a strategy for well-formed network streams.

    Each iteration: ``routing-agent-start``/``-end`` (the decision, with usage), the chosen
    primitive's span (an agent's whole stream wrapped as ``agent-execution-event-*`` with its own
    runId, a workflow's as ``workflow-execution-event-*``, or a tool's start/end), sometimes a
    completion check (``network-validation-start``/``-end``); a final routing call choosing
    ``none`` streams the answer (``routing-agent-text-*``) and ``network-execution-event-step-
    finish``; the run ends with ``network-execution-event-finish`` carrying the summed usage.

    Args:
        run_id: The network run id; drawn when omitted.
        max_iterations: Most primitive runs.
        primitives: Which primitive kinds the router may choose.
        include_validation: Sometimes run a completion check after a primitive.
    """
    _check_steps(1, max_iterations)
    if not primitives or not set(primitives) <= {"agent", "workflow", "tool"}:
        raise InvalidInputError(f"primitives must be some of agent, workflow, tool: {primitives!r}")
    args = (run_id, max_iterations, tuple(primitives), include_validation)
    return st.composite(lambda draw: _draw_network_stream(draw, *args))()


# --- any single chunk ------------------------------------------------------------------------


def _strip_missing(annotation: Any) -> tuple[Any, ...]:
    return tuple(arg for arg in get_args(annotation) if arg is not MISSING)


def _for_annotation(annotation: Any) -> SearchStrategy[Any]:
    """Derive a value strategy from a payload field's type."""
    origin = get_origin(annotation)
    if annotation is Any:
        return json_values()
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin in (Union, UnionType):
        return st.one_of([_for_annotation(arg) for arg in _strip_missing(annotation)])
    if origin is list:
        return st.lists(_for_annotation(get_args(annotation)[0]), max_size=2)
    if origin is dict:
        return st.dictionaries(_names, _for_annotation(get_args(annotation)[1]), max_size=2)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return _small_ints
    if annotation is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if annotation is str:
        return _texts
    if annotation is Usage:
        return usages(raw=True)
    if annotation is ErrorInfo:
        return _errors()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _models(annotation)
    raise TypeError(f"no strategy for payload field type {annotation!r}")  # pragma: no cover


_PAYLOADLESS = (ObjectChunk, ObjectResult)
_OVERRIDES: dict[tuple[type[BaseModel], str], Callable[[], SearchStrategy[Any]]] = {}


@st.composite
def _model_instances(draw: DrawFn, cls: type[BaseModel]) -> BaseModel:
    fields: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if not info.is_required() and not draw(st.booleans()):
            continue
        override = _OVERRIDES.get((cls, name))
        strategy = override() if override is not None else _for_annotation(info.annotation)
        fields[name] = draw(strategy)
    if cls in _PAYLOADLESS and "payload" not in fields:
        fields["object"] = draw(json_values(max_leaves=3))  # Mastra's form: a top-level key
    if not issubclass(cls, ChunkBase):
        taken = set(cls.model_fields) | {info.alias for info in cls.model_fields.values()}
        free = [key for key in _EXTRA_KEYS if key not in taken]
        for key in draw(st.lists(st.sampled_from(free), max_size=2, unique=True)):
            fields[key] = draw(json_values(max_leaves=3))
    return cls(**fields)


_MODEL_CACHE: dict[type[BaseModel], SearchStrategy[Any]] = {}


def _models(cls: type[BaseModel]) -> SearchStrategy[Any]:
    if cls not in _MODEL_CACHE:
        _MODEL_CACHE[cls] = st.deferred(lambda: _model_instances(cls))
    return _MODEL_CACHE[cls]


@functools.cache
def _fixed_chunks() -> SearchStrategy[Chunk]:
    return st.one_of([_models(cls) for _, cls in sorted(CHUNK_CLASSES.items())])


def _wrapped_chunks(inner: SearchStrategy[Chunk]) -> SearchStrategy[WrappedChunk]:
    prefixes = st.sampled_from(
        ("agent-execution-event-", "workflow-execution-event-", "my-prefix-")
    )
    return st.builds(
        lambda prefix, run_id, chunk: _wrap(prefix, run_id, chunk), prefixes, _ids("net-"), inner
    )


@functools.cache
def _step_output_values() -> SearchStrategy[Any]:
    inner = _fixed_chunks() | _wrapped_chunks(_fixed_chunks())
    return _custom_outputs() | inner


_OVERRIDES[(WorkflowStepOutputPayload, "output")] = _step_output_values


def chunks(*, types: Iterable[str] | None = None, wrapped: bool = True) -> SearchStrategy[Chunk]:
    """Return a strategy for single chunks, valid for the wire but in no particular stream.

    Every chunk class, with optional payload fields present or absent, extra payload keys (kept
    on the wire), errors in their foreign forms (plain strings, ``{"__error__": {...}}``), usage
    with a ``raw`` object, wrapped chunks (also wrapping a wrapped chunk), and
    ``workflow-step-output`` carrying plain JSON, a custom ``{"type": "my-progress", ...}``
    object or a whole chunk.

    Args:
        types: Only these wire types (keys of ``CHUNK_CLASSES``); all of them when omitted.
        wrapped: Also generate wrapped chunks (``agent-execution-event-*`` …) around any chunk.

    Raises:
        InvalidInputError: A type is not in the vocabulary, or nothing would be generated.
    """
    if types is None:
        fixed = _fixed_chunks()
        options = [fixed]
    else:
        chosen = sorted(set(types))
        unknown = [t for t in chosen if t not in CHUNK_CLASSES]
        if unknown:
            raise InvalidInputError(f"unknown chunk types {unknown}; see CHUNK_CLASSES")
        options = [_models(CHUNK_CLASSES[t]) for t in chosen]
        fixed = _fixed_chunks()
    if wrapped:
        options.append(_wrapped_chunks(fixed | _wrapped_chunks(fixed)))
    if not options:
        raise InvalidInputError("chunks() needs some types or wrapped=True")
    return st.one_of(options)


# --- broken streams --------------------------------------------------------------------------


_Stream: TypeAlias = "list[Any]"
"""A stream under mutation: chunks of any class, payload fields read after an isinstance test."""
_Where: TypeAlias = Callable[[_Stream], list[int]]


@dataclass(frozen=True)
class _Mutation:
    """One way to break a stream: the rules it can break, where it applies, what it does."""

    rules: tuple[Rule, ...]
    where: _Where
    apply: Callable[[_Stream, int], Breakage]


def _of(*kinds: type) -> _Where:
    return lambda stream: [i for i, chunk in enumerate(stream) if isinstance(chunk, kinds)]


def _without(stream: _Stream, index: int) -> _Stream:
    return stream[:index] + stream[index + 1 :]


def _inserted(stream: _Stream, index: int, chunk: Any) -> _Stream:
    return [*stream[:index], chunk, *stream[index:]]


def _moved(stream: _Stream, source: int, target: int) -> _Stream:
    """Move ``stream[source]`` so that it lands just before the original ``stream[target]``."""
    return _inserted(_without(stream, source), target - (source < target), stream[source])


def _drop(rule: Rule, where: _Where) -> _Mutation:
    return _Mutation((rule,), where, lambda s, i: (_without(s, i), rule))


def _repeat(rule: Rule, where: _Where) -> _Mutation:
    return _Mutation((rule,), where, lambda s, i: (_inserted(s, i + 1, s[i]), rule))


def _edit(rule: Rule, where: _Where, change: Callable[[Any], Any]) -> _Mutation:
    return _Mutation((rule,), where, lambda s, i: ([*s[:i], change(s[i]), *s[i + 1 :]], rule))


def _payload_copy(chunk: Any, **update: Any) -> Any:
    return chunk.model_copy(update={"payload": chunk.payload.model_copy(update=update)})


def _first_after(stream: _Stream, start: int, test: Callable[[Any], bool]) -> int:
    return next(i for i in range(start + 1, len(stream)) if test(stream[i]))


# agent


def _call_id(chunk: Any) -> str:
    return str(chunk.payload.tool_call_id)


def _block(chunk: Any) -> tuple[str, str]:
    return (chunk.type.rsplit("-", 1)[0], str(chunk.payload.id))


def _calls(streamed: bool) -> _Where:
    def where(stream: _Stream) -> list[int]:
        inputs = {_call_id(stream[i]) for i in _of(ToolCallInputStreamingStart)(stream)}
        return [i for i in _of(ToolCall)(stream) if (_call_id(stream[i]) in inputs) == streamed]

    return where


def _call_of(stream: _Stream, index: int) -> int:
    return _first_after(
        stream, -1, lambda c: isinstance(c, ToolCall) and _call_id(c) == _call_id(stream[index])
    )


def _same_block(key: tuple[str, str], *kinds: type) -> Callable[[Any], bool]:
    return lambda chunk: isinstance(chunk, kinds) and _block(chunk) == key


_DELTAS = (TextDelta, ReasoningDelta)
_ENDS = (TextEnd, ReasoningEnd)
_STARTS = (TextStart, ReasoningStart)
_IN_STEP = (
    *_STARTS,
    *_DELTAS,
    *_ENDS,
    ToolCallInputStreamingStart,
    ToolCallDelta,
    ToolCallInputStreamingEnd,
    ToolCall,
    ToolResult,
    ToolError,
)


def _delta_after_end(stream: _Stream, index: int) -> Breakage:
    end = _first_after(stream, index, _same_block(_block(stream[index]), *_ENDS))
    return _moved(stream, index, end + 1), "delta-outside-block"


def _start_after_delta(stream: _Stream, index: int) -> Breakage:
    delta = _first_after(stream, index, _same_block(_block(stream[index]), *_DELTAS))
    return _moved(stream, index, delta + 1), "delta-outside-block"


def _blocks_with_deltas(stream: _Stream) -> list[int]:
    keys = {_block(stream[i]) for i in _of(*_DELTAS)(stream)}
    return [i for i in _of(*_STARTS)(stream) if _block(stream[i]) in keys]


def _drop_step_start(stream: _Stream, index: int) -> Breakage:
    broken = _without(stream, index)
    end = _first_after(broken, index - 1, lambda c: isinstance(c, StepFinish))
    has_content = any(isinstance(c, _IN_STEP) for c in broken[index:end])
    return broken, "outside-step" if has_content else "step-not-open"


def _more_usage(chunk: Any) -> Any:
    output = chunk.payload.output
    more = output.model_copy(update={"usage": output.usage + Usage(input_tokens=1)})
    return _payload_copy(chunk, output=more)


_AGENT_MUTATIONS: tuple[_Mutation, ...] = (
    _drop("missing-finish", _of(Finish)),
    _drop("start-first", _of(Start)),
    _repeat("duplicate-start", _of(Start)),
    _repeat("after-finish", _of(Finish)),
    _Mutation(("step-unclosed",), _of(Finish), lambda s, i: (_moved(s, i, i - 1), "step-unclosed")),
    _Mutation(("outside-step", "step-not-open"), _of(StepStart), _drop_step_start),
    _repeat("step-nested", _of(StepStart)),
    _repeat("step-not-open", _of(StepFinish)),
    _Mutation(("delta-outside-block",), _of(*_DELTAS), _delta_after_end),
    _Mutation(("delta-outside-block",), _blocks_with_deltas, _start_after_delta),
    _edit("delta-outside-block", _of(*_DELTAS), lambda c: _payload_copy(c, id=c.payload.id + "~")),
    _repeat("block-reopened", _of(*_STARTS)),
    _drop("block-unclosed", _of(*_ENDS)),
    _repeat("block-not-open", _of(*_ENDS)),
    _drop("tool-input-not-open", _of(ToolCallInputStreamingStart)),
    _repeat("tool-input-reopened", _of(ToolCallInputStreamingStart)),
    _Mutation(
        ("tool-input-unclosed",),
        _of(ToolCallInputStreamingEnd),
        lambda s, i: (_moved(s, i, _call_of(s, i) + 1), "tool-input-unclosed"),
    ),
    _drop("tool-input-without-call", _calls(streamed=True)),
    _drop("tool-result-without-call", _calls(streamed=False)),
    _repeat("tool-call-duplicate", _of(ToolCall)),
    _drop("tool-call-unanswered", _of(ToolResult, ToolError)),
    _repeat("tool-result-duplicate", _of(ToolResult, ToolError)),
    _Mutation(
        ("tool-result-without-call",),
        _of(ToolResult, ToolError),
        lambda s, i: (_moved(s, i, _call_of(s, i)), "tool-result-without-call"),
    ),
    _edit(
        "tool-name-mismatch",
        _of(ToolResult, ToolError),
        lambda c: _payload_copy(c, tool_name=c.payload.tool_name + "~"),
    ),
    _edit(
        "run-id-mismatch",
        lambda s: list(range(1, len(s))),
        lambda c: c.model_copy(update={"run_id": c.run_id + "~"}),
    ),
    _edit("usage-mismatch", _of(Finish), _more_usage),
)


# workflow


def _drop_workflow_step_start(stream: _Stream, index: int) -> Breakage:
    start = stream[index].payload
    broken = _without(stream, index)

    def closes(chunk: Any) -> bool:
        if not isinstance(chunk, WorkflowStepResult | WorkflowStepSuspended):
            return False
        if start.step_call_id is not MISSING:
            return bool(chunk.payload.step_call_id == start.step_call_id)
        return bool(chunk.payload.id == start.id)

    end = _first_after(broken, index - 1, closes)
    writes = any(
        isinstance(c, WorkflowStepOutput) and c.payload.step_name == start.step_name
        for c in broken[index:end]
    )
    return broken, "workflow-step-output-outside-step" if writes else "workflow-step-without-start"


def _output_after_result(stream: _Stream, index: int) -> Breakage:
    name = stream[index].payload.step_name
    end = _first_after(
        stream,
        index,
        lambda c: (
            isinstance(c, WorkflowStepResult | WorkflowStepSuspended)
            and c.payload.step_name == name
        ),
    )
    return _moved(stream, index, end + 1), "workflow-step-output-outside-step"


def _finished(status: WorkflowStatus) -> _Where:
    return lambda s: [i for i in _of(WorkflowFinish)(s) if s[i].payload.workflow_status == status]


def _with_call_ids(kind: type) -> _Where:
    return lambda s: [i for i in _of(kind)(s) if s[i].payload.step_call_id is not MISSING]


_WORKFLOW_MUTATIONS: tuple[_Mutation, ...] = (
    _drop("missing-finish", _of(WorkflowFinish)),
    _drop("start-first", _of(WorkflowStart)),
    _repeat("duplicate-start", _of(WorkflowStart)),
    _repeat("after-finish", _of(WorkflowFinish)),
    _drop("workflow-step-unfinished", _of(WorkflowStepResult, WorkflowStepSuspended)),
    _Mutation(
        ("workflow-step-without-start", "workflow-step-output-outside-step"),
        _of(WorkflowStepStart),
        _drop_workflow_step_start,
    ),
    _Mutation(
        ("workflow-step-output-outside-step",), _of(WorkflowStepOutput), _output_after_result
    ),
    _repeat("workflow-step-duplicate", _with_call_ids(WorkflowStepStart)),
    _edit(
        "workflow-step-id-mismatch",
        _with_call_ids(WorkflowStepResult),
        lambda c: _payload_copy(c, id=c.payload.id + "~"),
    ),
    _edit(
        "workflow-status",
        _finished("failed"),
        lambda c: _payload_copy(c, workflow_status="success"),
    ),
    _edit(
        "workflow-status",
        _finished("success"),
        lambda c: _payload_copy(c, workflow_status="suspended"),
    ),
)


# network

_SPAN_STARTS = (
    RoutingAgentStart,
    AgentExecutionStart,
    WorkflowExecutionStart,
    ToolExecutionStart,
    NetworkValidationStart,
)
_SPAN_ENDS = (
    RoutingAgentEnd,
    AgentExecutionEnd,
    WorkflowExecutionEnd,
    ToolExecutionEnd,
    NetworkValidationEnd,
)


def _drop_span_end(stream: _Stream, index: int) -> Breakage:
    broken = _without(stream, index)
    later = any(isinstance(c, _SPAN_STARTS) for c in broken[index:])
    return broken, "span-interleaved" if later else "span-unclosed"


def _drop_span_start(stream: _Stream, index: int) -> Breakage:
    broken = _without(stream, index)
    wrapped = isinstance(broken[index], WrappedChunk)
    return broken, "wrapped-outside-execution" if wrapped else "span-not-open"


def _copy_after_execution(stream: _Stream, index: int) -> Breakage:
    end = _first_after(
        stream, index, lambda c: isinstance(c, AgentExecutionEnd | WorkflowExecutionEnd)
    )
    return _inserted(stream, end + 1, stream[index]), "wrapped-outside-execution"


def _inner_run_changed(chunk: Any) -> Any:
    inner = chunk.payload
    return chunk.model_copy(
        update={"payload": inner.model_copy(update={"run_id": inner.run_id + "~"})}
    )


def _inner_finishes(stream: _Stream) -> list[int]:
    return [
        i
        for i in _of(WrappedChunk)(stream)
        if isinstance(stream[i].payload, Finish | WorkflowFinish)
    ]


_NETWORK_MUTATIONS: tuple[_Mutation, ...] = (
    _drop("missing-finish", _of(NetworkFinish)),
    _repeat("after-finish", _of(NetworkFinish)),
    _Mutation(("span-interleaved", "span-unclosed"), _of(*_SPAN_ENDS), _drop_span_end),
    _Mutation(("wrapped-outside-execution", "span-not-open"), _of(*_SPAN_STARTS), _drop_span_start),
    _Mutation(("wrapped-outside-execution",), _of(WrappedChunk), _copy_after_execution),
    _edit("inner-run-id", _of(WrappedChunk), _inner_run_changed),
    _drop("inner-stream", _inner_finishes),
)

BREAKABLE_RULES: frozenset[Rule] = frozenset(
    rule
    for mutation in _AGENT_MUTATIONS + _WORKFLOW_MUTATIONS + _NETWORK_MUTATIONS
    for rule in mutation.rules
)
"""Every rule :func:`violations` can break."""


@st.composite
def _broken(
    draw: DrawFn, streams: SearchStrategy[_Stream], mutations: tuple[_Mutation, ...]
) -> Breakage:
    stream = draw(streams)
    applicable = [(m, places) for m in mutations if (places := m.where(stream))]
    assume(applicable)  # e.g. no text block to break in this stream
    mutation, places = draw(st.sampled_from(applicable))
    return mutation.apply(stream, draw(st.sampled_from(places)))


def _targeted(
    streams: SearchStrategy[_Stream],
    mutations: tuple[_Mutation, ...],
    rules: frozenset[Rule] | None,
) -> SearchStrategy[Breakage] | None:
    if rules is None:
        return _broken(streams, mutations)
    chosen = tuple(m for m in mutations if rules & set(m.rules))
    if not chosen:
        return None
    return _broken(streams, chosen).filter(lambda breakage: breakage[1] in rules)


def _rule_set(rules: Iterable[Rule] | None) -> frozenset[Rule] | None:
    if rules is None:
        return None
    chosen = frozenset(rules)
    unknown = chosen - BREAKABLE_RULES
    if unknown:
        raise InvalidInputError(f"no mutation breaks {sorted(unknown)}; see BREAKABLE_RULES")
    return chosen


def broken_agent_streams(
    *, rules: Iterable[Rule] | None = None, tools: ToolSpec = DEFAULT_TOOLS
) -> SearchStrategy[Breakage]:
    """Return a strategy for agent streams broken by one mutation, with the rule they break.

    A valid stream (from :func:`agent_chunk_streams`, sometimes ending in a failed model call)
    gets one change: ``finish`` or ``start`` dropped or repeated; ``finish`` moved before the last
    ``step-finish``; a step start dropped or repeated; a delta moved out of its block or given
    another id; a block start or end dropped or repeated; streamed tool input not started,
    started twice or ended after its call; a tool-call dropped or repeated; a tool-result
    dropped, repeated, moved before its call or naming another tool; a runId or the total usage
    changed. The rule is the one :func:`~rxagents.testing.check_well_formed` reports first.

    Args:
        rules: Only breakages of these rules (each must be in ``BREAKABLE_RULES``).
        tools: Tool names for the underlying streams (see :func:`agent_scripts`).

    Raises:
        InvalidInputError: A rule in ``rules`` has no agent mutation.
    """
    streams = cast(SearchStrategy[_Stream], agent_chunk_streams(tools=tools, include_errors=True))
    strategy = _targeted(streams, _AGENT_MUTATIONS, _rule_set(rules))
    if strategy is None:
        raise InvalidInputError(f"no agent mutation breaks {sorted(rules or ())}")
    return strategy


def violations(*, rules: Iterable[Rule] | None = None) -> SearchStrategy[Breakage]:
    """Return a strategy for broken agent, workflow and network streams with the broken rule.

    Agent breakages as in :func:`broken_agent_streams`; workflow streams lose or repeat their
    start or finish, lose a step's start or result, have output after its step's result, start
    a running ``stepCallId`` again, close a step with another id, or end with a status their
    steps contradict; network streams lose or repeat their finish, lose a span's start or end,
    repeat a wrapped chunk after its execution, change an inner runId, or lose an inner stream's
    finish.

    Args:
        rules: Only breakages of these rules (each must be in ``BREAKABLE_RULES``); parametrize
            a test over ``BREAKABLE_RULES`` to exercise every rule evenly.

    Raises:
        InvalidInputError: A rule in ``rules`` is not in ``BREAKABLE_RULES``.
    """
    chosen = _rule_set(rules)
    families = (
        (agent_chunk_streams(include_errors=True), _AGENT_MUTATIONS),
        (workflow_chunk_streams(max_steps=3), _WORKFLOW_MUTATIONS),
        (network_chunk_streams(max_iterations=2), _NETWORK_MUTATIONS),
    )
    strategies = [
        found
        for streams, mutations in families
        if (found := _targeted(cast(SearchStrategy[_Stream], streams), mutations, chosen))
        is not None
    ]
    return st.one_of(strategies)
