"""The agent stream grammar: steps, text and reasoning blocks, tool input, calls and results.

Paused runs: a stream may end right after ``tool-call-approval`` / ``tool-call-suspended`` (no
``step-finish``, no ``finish``). A resumed stream has no ``start``: it opens inside the paused
step with the answer to a paused call (or with what the resumed tool writes first); a paused
stream followed by its resumed stream is one well-formed stream.

Tools that stream: a ``tool-output`` comes inside its call's window (after the ``tool-call``,
before the answer); a data chunk (``ctx.writer.custom``, no envelope) may come anywhere between
``start`` and the end. The chunks of nested runs a ``tool-output`` carries (a piped agent, a
sub-agent) are grouped by their runId, and each group is checked as a stream of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast, get_args

from pydantic import MISSING

from rxagents.events import (
    Abort,
    AgentChunk,
    AgentError,
    Chunk,
    ChunkBase,
    DataChunk,
    Finish,
    NetworkValidationEnd,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningStart,
    RoutingAgentEnd,
    Start,
    StepFinish,
    StepStart,
    TextDelta,
    TextEnd,
    TextStart,
    ToolCall,
    ToolCallApproval,
    ToolCallDelta,
    ToolCallInputStreamingEnd,
    ToolCallInputStreamingStart,
    ToolCallSuspended,
    ToolError,
    ToolOutput,
    ToolOutputDenied,
    ToolResult,
    WorkflowChunk,
    WorkflowStepOutput,
    WrappedChunk,
)
from rxagents.usage import Usage

from ._rules import Items, Report, Rule, Violation
from ._workflow import check_workflow

__all__ = ("AGENT_CLASSES", "check_agent")

AGENT_CLASSES: tuple[type, ...] = get_args(AgentChunk)
_WORKFLOW_CLASSES: tuple[type, ...] = get_args(WorkflowChunk)
_RESUMING = (ToolResult, ToolError, ToolOutputDenied, ToolOutput, DataChunk)
"""Chunks a resumed stream may open with: an answer, or what the resumed tool writes."""
_IN_STEP = frozenset(
    {
        "text-start",
        "text-delta",
        "text-end",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "tool-call-input-streaming-start",
        "tool-call-delta",
        "tool-call-input-streaming-end",
        "tool-call",
        "tool-result",
        "tool-error",
        "tool-call-approval",
        "tool-call-suspended",
        "tool-output-denied",
        "response-metadata",
        "source",
        "file",
        "tool-output",
    }
)


@dataclass
class _Step:
    """What is open inside the current agent step (or between steps)."""

    start: int | None = None
    blocks: dict[tuple[str, str], int] = field(default_factory=dict)
    inputs: dict[str, int] = field(default_factory=dict)
    inputs_done: dict[str, int] = field(default_factory=dict)
    calls: dict[str, tuple[int, str]] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    failed: bool = False
    resumed: bool = False
    """The step began before a pause (a resumed stream's first step): its calls are unseen."""


def check_agent(items: Items, *, inner: bool = False, truncated: bool = False) -> list[Violation]:
    """Check an agent stream.

    Args:
        items: ``(index, chunk)`` pairs; indices are positions in the outermost stream.
        inner: The stream was unwrapped from a network; it may also end with ``error``.
        truncated: The outer stream was aborted; the stream may end anywhere.
    """
    report = Report()
    add = report.add

    first_index, first = items[0]
    resumed = isinstance(first, _RESUMING)
    if not isinstance(first, Start) and not resumed:
        add(Rule.START_FIRST, first_index, f"the stream starts with {first.type!r}, not 'start'")
    run_id = first.run_id
    step = _Step(start=first_index, resumed=True) if resumed else _Step()
    called: set[str] = set()
    usage = Usage.zero
    nested_usage = Usage.zero
    nested: dict[str, list[tuple[int, Chunk]]] = {}
    """The chunks of each nested run carried in tool-output, by runId."""
    carriers: dict[str, tuple[int, str]] = {}
    """Each nested run's first carrying tool-output: its index and call id."""
    failed_calls: set[str] = set()
    failed = False
    terminal: tuple[int, str] | None = None
    paused: dict[str, int] = {}
    """Calls paused on, by id, to where the pause chunks began (cleared by the answer)."""
    pause_at: int | None = None

    def close_blocks(index: int, closer: str) -> None:
        for (kind, block_id), opened in step.blocks.items():
            add(
                Rule.BLOCK_UNCLOSED,
                index,
                f"{kind} block {block_id!r} (opened at chunk {opened}) is still open at {closer}",
            )
        for call_id, opened in step.inputs.items():
            add(
                Rule.TOOL_INPUT_UNCLOSED,
                index,
                f"tool input {call_id!r} (streaming since {opened}) is still open at {closer}",
            )
        step.blocks.clear()
        step.inputs.clear()

    def close_step(index: int, closer: str) -> None:
        close_blocks(index, closer)
        for call_id, opened in step.inputs_done.items():
            add(
                Rule.TOOL_INPUT_WITHOUT_CALL,
                opened,
                f"streamed tool input {call_id!r} has no tool-call before {closer} at {index}",
            )
        if not step.failed:
            for call_id, (called_at, name) in step.calls.items():
                if call_id not in step.answered:
                    add(
                        Rule.TOOL_CALL_UNANSWERED,
                        called_at,
                        f"tool-call {call_id!r} ({name}) has no tool-result or tool-error before "
                        f"{closer} at chunk {index}",
                    )

    for position, (index, chunk) in enumerate(items):
        if terminal is not None:
            add(
                Rule.AFTER_FINISH,
                index,
                f"{chunk.type!r} after {terminal[1]!r} at chunk {terminal[0]}",
            )
            break
        if not isinstance(chunk, AGENT_CLASSES):
            add(Rule.FOREIGN_CHUNK, index, f"{chunk.type!r} is not an agent chunk")
            continue
        if chunk.run_id != run_id and not (isinstance(chunk, DataChunk) and not chunk.run_id):
            add(
                Rule.RUN_ID_MISMATCH,
                index,
                f"runId {chunk.run_id!r} differs from the run's {run_id!r}",
            )
        if chunk.type in _IN_STEP and step.start is None:
            add(
                Rule.OUTSIDE_STEP, index, f"{chunk.type!r} outside a step-start … step-finish block"
            )
        if pause_at is not None and not isinstance(chunk, ToolCallApproval | ToolCallSuspended):
            if isinstance(chunk, DataChunk) or (
                isinstance(chunk, ToolResult | ToolError | ToolOutputDenied | ToolOutput)
                and chunk.payload.tool_call_id in paused
            ):
                pause_at = None  # the run was resumed
            else:
                add(
                    Rule.AFTER_PAUSE,
                    index,
                    f"{chunk.type!r} after the pause at chunk {pause_at} (not the answer to a "
                    "paused call)",
                )
                pause_at = None
        match chunk:
            case Start():
                if position:
                    add(
                        Rule.DUPLICATE_START,
                        index,
                        f"a second 'start' (the first is {first_index})",
                    )
            case StepStart():
                if step.start is not None:
                    add(
                        Rule.STEP_NESTED,
                        index,
                        f"step-start inside the step opened at {step.start}",
                    )
                    close_step(index, "step-start")
                step = _Step(start=index)
            case StepFinish():
                if step.start is None:
                    add(Rule.STEP_NOT_OPEN, index, "step-finish without an open step")
                close_step(index, "step-finish")
                step = _Step()
                usage = usage + chunk.payload.output.usage
            case TextStart() | ReasoningStart():
                key = (chunk.type.removesuffix("-start"), chunk.payload.id)
                if key in step.blocks:
                    add(
                        Rule.BLOCK_REOPENED,
                        index,
                        f"{key[0]} block {key[1]!r} is already open (since {step.blocks[key]})",
                    )
                step.blocks[key] = index
            case TextDelta() | ReasoningDelta():
                key = (chunk.type.removesuffix("-delta"), chunk.payload.id)
                if key not in step.blocks:
                    add(Rule.DELTA_OUTSIDE_BLOCK, index, f"no open {key[0]} block {key[1]!r}")
            case TextEnd() | ReasoningEnd():
                key = (chunk.type.removesuffix("-end"), chunk.payload.id)
                if step.blocks.pop(key, None) is None:
                    add(Rule.BLOCK_NOT_OPEN, index, f"no open {key[0]} block {key[1]!r} to end")
            case ToolCallInputStreamingStart():
                call_id = chunk.payload.tool_call_id
                if call_id in step.inputs or call_id in step.inputs_done or call_id in called:
                    add(Rule.TOOL_INPUT_REOPENED, index, f"tool input {call_id!r} started again")
                else:
                    step.inputs[call_id] = index
            case ToolCallDelta() | ToolCallInputStreamingEnd():
                call_id = chunk.payload.tool_call_id
                if call_id not in step.inputs:
                    add(Rule.TOOL_INPUT_NOT_OPEN, index, f"no open tool input stream {call_id!r}")
                elif isinstance(chunk, ToolCallInputStreamingEnd):
                    step.inputs_done[call_id] = step.inputs.pop(call_id)
            case ToolCall():
                call_id = chunk.payload.tool_call_id
                if call_id in step.inputs:
                    add(
                        Rule.TOOL_INPUT_UNCLOSED,
                        index,
                        f"tool-call {call_id!r} while its input (since chunk "
                        f"{step.inputs.pop(call_id)}) is still streaming",
                    )
                step.inputs_done.pop(call_id, None)
                if call_id in called:
                    add(Rule.TOOL_CALL_DUPLICATE, index, f"tool-call {call_id!r} was already made")
                else:
                    called.add(call_id)
                    step.calls[call_id] = (index, chunk.payload.tool_name)
            case ToolCallApproval() | ToolCallSuspended():
                call_id = chunk.payload.tool_call_id
                if step.resumed and call_id not in step.calls:  # paused on before, again
                    step.calls[call_id] = (index, chunk.payload.tool_name)
                if call_id not in step.calls or call_id in step.answered:
                    add(
                        Rule.PAUSE_WITHOUT_CALL,
                        index,
                        f"{chunk.type} for {call_id!r}, not an unanswered tool-call of this step",
                    )
                close_blocks(index, chunk.type)
                paused[call_id] = index
                if pause_at is None:
                    pause_at = index
            case ToolOutput():
                call_id = chunk.payload.tool_call_id
                if step.resumed and call_id not in step.calls:
                    step.calls[call_id] = (index, chunk.payload.tool_name)
                if call_id not in step.calls or call_id in step.answered:
                    add(
                        Rule.TOOL_OUTPUT_OUTSIDE_CALL,
                        index,
                        f"tool-output of {call_id!r}, not a running tool-call of this step",
                    )
                elif chunk.payload.tool_name != (name := step.calls[call_id][1]):
                    add(
                        Rule.TOOL_NAME_MISMATCH,
                        index,
                        f"tool-output names {chunk.payload.tool_name!r}, the call {name!r}",
                    )
                output = chunk.payload.output
                if isinstance(output, ChunkBase):
                    nested_usage = nested_usage + usage_in(output)
                    if not (isinstance(output, DataChunk) and not output.run_id):
                        nested.setdefault(output.run_id, []).append((index, cast(Chunk, output)))
                        carriers.setdefault(output.run_id, (index, call_id))
            case ToolResult() | ToolError() | ToolOutputDenied():
                call_id = chunk.payload.tool_call_id
                paused.pop(call_id, None)
                if isinstance(chunk, ToolResult | ToolError):
                    nested_usage = nested_usage + usage_in(chunk)
                if isinstance(chunk, ToolError):
                    failed_calls.add(call_id)
                if step.resumed and call_id not in step.calls:
                    step.calls[call_id] = (index, chunk.payload.tool_name)
                if call_id in step.answered:
                    add(
                        Rule.TOOL_RESULT_DUPLICATE, index, f"tool-call {call_id!r} already answered"
                    )
                elif call_id not in step.calls:
                    add(
                        Rule.TOOL_RESULT_WITHOUT_CALL,
                        index,
                        f"{chunk.type} for {call_id!r} without a tool-call in this step",
                    )
                else:
                    step.answered.add(call_id)
                    name = step.calls[call_id][1]
                    if chunk.payload.tool_name != name:
                        add(
                            Rule.TOOL_NAME_MISMATCH,
                            index,
                            f"{chunk.type} names {chunk.payload.tool_name!r}, the call {name!r}",
                        )
            case AgentError():
                close_blocks(index, "error")
                step.failed = True
                failed = True
            case Abort():
                close_blocks(index, "abort")
                terminal = (index, "abort")
            case Finish():
                if step.start is not None:
                    add(
                        Rule.STEP_UNCLOSED,
                        index,
                        f"finish while the step opened at chunk {step.start} is open",
                    )
                close_blocks(index, "finish")
                total = chunk.payload.output.usage
                expected = usage + nested_usage
                if not resumed and total.counters() != expected.counters():
                    add(
                        Rule.USAGE_MISMATCH,
                        index,
                        f"finish usage {total!r} is not the sum of the steps' {usage!r} and the "
                        f"nested calls' {nested_usage!r}",
                    )
                terminal = (index, "finish")
            case _:
                pass  # object, response-metadata: no ordering rule of their own
    if terminal is None and not truncated and pause_at is None:
        last_index, last = items[-1]
        if not (inner and isinstance(last, AgentError)):
            add(
                Rule.MISSING_FINISH,
                last_index,
                f"the stream ends with {last.type!r}, not 'finish' or 'abort'",
            )
    cut = truncated or failed or (terminal is not None and terminal[1] == "abort")
    for nested_run, chunks in nested.items():
        carrier, call_id = carriers[nested_run]
        report.found.extend(
            _check_nested(nested_run, chunks, carrier, call_id, cut or call_id in failed_calls)
        )
    return report.found


def _check_nested(
    run_id: str, items: Items, carrier: int, call_id: str, truncated: bool
) -> list[Violation]:
    """Check one nested run's chunks; its violations come back as ``inner-stream`` ones."""
    if isinstance(items[0][1], _WORKFLOW_CLASSES):
        found = check_workflow(items, truncated=truncated)
    else:
        found = check_agent(items, truncated=truncated)
    return [
        Violation(
            Rule.INNER_STREAM,
            violation.index,
            f"the nested run {run_id!r} of tool-call {call_id!r} (from chunk {carrier}): "
            f"{violation}",
            inner=violation,
        )
        for violation in sorted(found, key=lambda v: v.index)
    ]


def usage_in(chunk: ChunkBase) -> Usage:
    """Return the usage of the model calls ``chunk`` reports, nested ones included.

    A ``step-finish`` (also inside ``tool-output``, wrapped chunks and workflow step output, at
    any depth), ``usage`` on ``tool-result`` / ``tool-error`` and on a router's or validator's
    end; never an aggregate (``finish`` …). Written apart from ``reduce_usage`` on purpose: the
    checker is an independent statement of the rule.
    """
    while True:
        if isinstance(chunk, WrappedChunk):
            chunk = chunk.payload
        elif isinstance(chunk, ToolOutput | WorkflowStepOutput):
            output = chunk.payload.output
            if not isinstance(output, ChunkBase):
                return Usage.zero
            chunk = output
        else:
            break
    if isinstance(chunk, StepFinish):
        return chunk.payload.output.usage
    if isinstance(chunk, ToolResult | ToolError | RoutingAgentEnd | NetworkValidationEnd):
        usage = chunk.payload.usage
        return Usage.zero if usage is MISSING else usage
    return Usage.zero
