"""Check a chunk stream against the ordering rules of DESIGN section 2.

:func:`check_well_formed` returns every :class:`Violation` of a stream, sorted by the index of the
offending chunk; :func:`assert_well_formed` raises :class:`WellFormednessError` for the first one.
Each rule has a short name (``RULES`` lists them with a description), so a failing test says
which rule broke and where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, get_args

from pydantic import MISSING

from rxagents.errors import ChunkParseError, InvalidInputError, MalformedStreamError
from rxagents.events import (
    Abort,
    AgentChunk,
    AgentError,
    AgentExecutionStart,
    Chunk,
    ChunkBase,
    Finish,
    NetworkChunk,
    NetworkFinish,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningStart,
    Start,
    StepFinish,
    StepStart,
    TextDelta,
    TextEnd,
    TextStart,
    ToolCall,
    ToolCallDelta,
    ToolCallInputStreamingEnd,
    ToolCallInputStreamingStart,
    ToolError,
    ToolResult,
    WorkflowChunk,
    WorkflowExecutionStart,
    WorkflowFinish,
    WorkflowStart,
    WorkflowStepOutput,
    WorkflowStepProgress,
    WorkflowStepResult,
    WorkflowStepStart,
    WorkflowStepSuspended,
    WorkflowStepWaiting,
    WrappedChunk,
    parse_chunk,
)
from rxagents.usage import Usage

__all__ = (
    "RULES",
    "ChunkLike",
    "Rule",
    "StreamKind",
    "Violation",
    "WellFormednessError",
    "assert_well_formed",
    "check_well_formed",
)

StreamKind = Literal["auto", "agent", "workflow", "network"]
"""Which stream grammar to check; ``auto`` picks it from the first chunk."""

ChunkLike: TypeAlias = "ChunkBase | Mapping[str, Any] | str | bytes"
"""A typed chunk (any chunk class), a wire dict (camelCase keys) or wire JSON."""

Rule = Literal[
    "invalid-chunk",
    "empty-stream",
    "foreign-chunk",
    "start-first",
    "duplicate-start",
    "missing-finish",
    "after-finish",
    "run-id-mismatch",
    "step-nested",
    "step-not-open",
    "step-unclosed",
    "outside-step",
    "block-reopened",
    "delta-outside-block",
    "block-not-open",
    "block-unclosed",
    "tool-input-reopened",
    "tool-input-not-open",
    "tool-input-unclosed",
    "tool-input-without-call",
    "tool-call-duplicate",
    "tool-result-without-call",
    "tool-result-duplicate",
    "tool-name-mismatch",
    "tool-call-unanswered",
    "usage-mismatch",
    "workflow-step-duplicate",
    "workflow-step-without-start",
    "workflow-step-id-mismatch",
    "workflow-step-unfinished",
    "workflow-step-output-outside-step",
    "workflow-status",
    "span-interleaved",
    "span-not-open",
    "span-unclosed",
    "wrapped-outside-execution",
    "inner-run-id",
    "inner-stream",
]
"""The name of one ordering rule."""

RULES: Mapping[Rule, str] = MappingProxyType(
    {
        "invalid-chunk": "every item parses as a chunk",
        "empty-stream": "a stream has at least one chunk",
        "foreign-chunk": "a stream holds only its own family's chunks (network: wrapped ones too)",
        "start-first": "agent streams open with `start`, workflow streams with `workflow-start`",
        "duplicate-start": "the opening chunk appears once",
        "missing-finish": "the stream ends with its finish chunk (agent and network: or `abort`)",
        "after-finish": "nothing follows the finish (or `abort`) chunk",
        "run-id-mismatch": "every chunk of an agent run carries the `start` chunk's runId",
        "step-nested": "`step-start` only when no step is open",
        "step-not-open": "`step-finish` only closes an open step",
        "step-unclosed": "`finish` only when every step is closed",
        "outside-step": "text, reasoning, tool, source, file and response-metadata chunks come "
        "inside a step",
        "block-reopened": "a text or reasoning block id is not opened while already open",
        "delta-outside-block": "a delta comes inside the open block with its id",
        "block-not-open": "`*-end` closes an open block with its id",
        "block-unclosed": "blocks close before step-finish, error, abort and finish",
        "tool-input-reopened": "tool input streaming starts once per toolCallId, before the call",
        "tool-input-not-open": "tool input deltas and ends come inside an open input stream",
        "tool-input-unclosed": "streamed tool input ends before its tool-call (and any error, "
        "abort or step-finish)",
        "tool-input-without-call": "streamed tool input is followed by its tool-call in the step",
        "tool-call-duplicate": "a toolCallId is called once",
        "tool-result-without-call": "a tool-result or tool-error answers a tool-call of its step",
        "tool-result-duplicate": "a tool-call is answered once",
        "tool-name-mismatch": "a tool-result or tool-error names the tool of its call",
        "tool-call-unanswered": "every tool-call is answered before its step-finish (unless the "
        "step failed with `error`, or the run was aborted)",
        "usage-mismatch": "`finish` usage is the sum of the step-finish usages",
        "workflow-step-duplicate": "a stepCallId is not started while already running",
        "workflow-step-without-start": "a step result or suspension closes a running step "
        "(opened by `workflow-step-start`, or `workflow-step-waiting` for a sleep)",
        "workflow-step-id-mismatch": "a step result has the id of the step it closes",
        "workflow-step-unfinished": "every step gets a result or suspension before "
        "`workflow-finish` (unless the run was canceled)",
        "workflow-step-output-outside-step": "step output (and a foreach's progress) comes "
        "while its step runs",
        "workflow-status": "a failed step fails the run; a suspended run has a suspended step",
        "span-interleaved": "network spans (routing, executions, validation) do not overlap",
        "span-not-open": "a span's end closes the open span of its kind",
        "span-unclosed": "every span ends before the network finish",
        "wrapped-outside-execution": "wrapped agent (workflow) chunks come inside an agent "
        "(workflow) execution",
        "inner-run-id": "wrapped chunks carry the execution's runId",
        "inner-stream": "the unwrapped stream of an execution is well formed itself",
    }
)
"""Every rule with a one-line description."""

_AGENT_CLASSES: tuple[type, ...] = get_args(AgentChunk)
_WORKFLOW_CLASSES: tuple[type, ...] = get_args(WorkflowChunk)
_NETWORK_CLASSES: tuple[type, ...] = (*get_args(NetworkChunk), WrappedChunk)
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
        "response-metadata",
        "source",
        "file",
        "tool-output",
    }
)
_SPAN_STARTS: Mapping[str, str] = {
    "routing-agent-start": "routing-agent",
    "agent-execution-start": "agent-execution",
    "workflow-execution-start": "workflow-execution",
    "tool-execution-start": "tool-execution",
    "network-validation-start": "network-validation",
}
_SPAN_ENDS: Mapping[str, str] = {
    "routing-agent-end": "routing-agent",
    "agent-execution-end": "agent-execution",
    "workflow-execution-end": "workflow-execution",
    "tool-execution-end": "tool-execution",
    "network-validation-end": "network-validation",
}
_AGENT_PREFIX = "agent-execution-event-"
_WORKFLOW_PREFIX = "workflow-execution-event-"

_Items = Sequence[tuple[int, Chunk]]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule.

    Attributes:
        rule: The rule's name (see ``RULES``).
        index: The position of the offending chunk in the checked stream.
        message: What is wrong, in words.
        inner: For ``inner-stream``: the violation found in the unwrapped inner stream (its
            ``index`` is also a position in the outer stream).
    """

    rule: Rule
    index: int
    message: str
    inner: Violation | None = None

    def __str__(self) -> str:
        return f"{self.rule} at chunk {self.index}: {self.message}"


class WellFormednessError(MalformedStreamError, AssertionError):
    """A stream broke an ordering rule; raised by :func:`assert_well_formed`.

    Also an ``AssertionError``, so pytest reports it as a failed assertion.

    Attributes:
        rule: The first broken rule.
        index: The index of the first offending chunk.
        violations: Every violation found, the first one first.
    """

    def __init__(self, violations: Sequence[Violation]) -> None:
        first = violations[0]
        more = len(violations) - 1
        suffix = (
            f" (and {more} more: {', '.join(v.rule for v in violations[1:4])}…)" if more else ""
        )
        super().__init__(f"stream is not well formed: {first}{suffix}")
        self.rule: Rule = first.rule
        self.index: int = first.index
        self.violations: tuple[Violation, ...] = tuple(violations)


def check_well_formed(chunks: Iterable[ChunkLike], kind: StreamKind = "auto") -> list[Violation]:
    """Return every rule the stream breaks, sorted by chunk index (empty when well formed).

    Items that are not typed chunks are parsed with :func:`rxagents.events.parse_chunk`; an item
    that does not parse is an ``invalid-chunk`` violation and is otherwise skipped.

    Args:
        chunks: The whole stream, in order.
        kind: ``agent``, ``workflow`` or ``network``; ``auto`` decides by the first chunk's family
            (a wrapped chunk means network).

    Raises:
        InvalidInputError: ``kind`` is not one of the four names.
    """
    if kind not in ("auto", "agent", "workflow", "network"):
        raise InvalidInputError(f"kind must be auto, agent, workflow or network, not {kind!r}")
    violations: list[Violation] = []
    items: list[tuple[int, Chunk]] = []
    for index, item in enumerate(chunks):
        try:
            items.append((index, parse_chunk(item)))
        except ChunkParseError as err:
            violations.append(Violation("invalid-chunk", index, str(err)))
    if not items:
        if not violations:
            violations.append(Violation("empty-stream", 0, "the stream has no chunks"))
        return violations
    if kind == "auto":
        kind = _detect(items[0][1])
    checker = {"agent": _check_agent, "workflow": _check_workflow, "network": _check_network}[kind]
    violations.extend(checker(items))
    return sorted(violations, key=lambda v: v.index)


def assert_well_formed(chunks: Iterable[ChunkLike], kind: StreamKind = "auto") -> None:
    """Assert that a stream follows every ordering rule of DESIGN section 2.

    Example:
        >>> from rxagents.events import Start, StartPayload
        >>> assert_well_formed([Start(run_id="r1", payload=StartPayload())])
        Traceback (most recent call last):
        ...
        rxagents.testing._wellformed.WellFormednessError: stream is not well formed: \
missing-finish at chunk 0: the stream ends with 'start', not 'finish' or 'abort'

    Args:
        chunks: The whole stream, in order (typed chunks, wire dicts or wire JSON).
        kind: ``agent``, ``workflow``, ``network``, or ``auto`` (from the first chunk).

    Raises:
        WellFormednessError: The stream breaks a rule; ``.rule`` and ``.index`` name the first.
    """
    violations = check_well_formed(chunks, kind)
    if violations:
        raise WellFormednessError(violations)


def _detect(first: Chunk) -> Literal["agent", "workflow", "network"]:
    if isinstance(first, _WORKFLOW_CLASSES):
        return "workflow"
    if isinstance(first, _AGENT_CLASSES):
        return "agent"
    return "network"


# --- agent streams ---------------------------------------------------------------------------


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


def _check_agent(items: _Items, *, inner: bool = False, truncated: bool = False) -> list[Violation]:
    """Check an agent stream.

    Args:
        items: ``(index, chunk)`` pairs; indices are positions in the outermost stream.
        inner: The stream was unwrapped from a network; it may also end with ``error``.
        truncated: The outer stream was aborted; the stream may end anywhere.
    """
    out: list[Violation] = []

    def add(rule: Rule, index: int, message: str) -> None:
        out.append(Violation(rule, index, message))

    first_index, first = items[0]
    if not isinstance(first, Start):
        add("start-first", first_index, f"the stream starts with {first.type!r}, not 'start'")
    run_id = first.run_id
    step = _Step()
    called: set[str] = set()
    usage = Usage.zero
    terminal: tuple[int, str] | None = None

    def close_blocks(index: int, closer: str) -> None:
        for (kind, block_id), opened in step.blocks.items():
            add(
                "block-unclosed",
                index,
                f"{kind} block {block_id!r} (opened at chunk {opened}) is still open at {closer}",
            )
        for call_id, opened in step.inputs.items():
            add(
                "tool-input-unclosed",
                index,
                f"tool input {call_id!r} (streaming since {opened}) is still open at {closer}",
            )
        step.blocks.clear()
        step.inputs.clear()

    def close_step(index: int, closer: str) -> None:
        close_blocks(index, closer)
        for call_id, opened in step.inputs_done.items():
            add(
                "tool-input-without-call",
                opened,
                f"streamed tool input {call_id!r} has no tool-call before {closer} at {index}",
            )
        if not step.failed:
            for call_id, (called_at, name) in step.calls.items():
                if call_id not in step.answered:
                    add(
                        "tool-call-unanswered",
                        called_at,
                        f"tool-call {call_id!r} ({name}) has no tool-result or tool-error before "
                        f"{closer} at chunk {index}",
                    )

    for position, (index, chunk) in enumerate(items):
        if terminal is not None:
            add(
                "after-finish",
                index,
                f"{chunk.type!r} after {terminal[1]!r} at chunk {terminal[0]}",
            )
            break
        if not isinstance(chunk, _AGENT_CLASSES):
            add("foreign-chunk", index, f"{chunk.type!r} is not an agent chunk")
            continue
        if chunk.run_id != run_id:
            add(
                "run-id-mismatch",
                index,
                f"runId {chunk.run_id!r} differs from the run's {run_id!r}",
            )
        if chunk.type in _IN_STEP and step.start is None:
            add("outside-step", index, f"{chunk.type!r} outside a step-start … step-finish block")
        match chunk:
            case Start():
                if position:
                    add("duplicate-start", index, f"a second 'start' (the first is {first_index})")
            case StepStart():
                if step.start is not None:
                    add("step-nested", index, f"step-start inside the step opened at {step.start}")
                    close_step(index, "step-start")
                step = _Step(start=index)
            case StepFinish():
                if step.start is None:
                    add("step-not-open", index, "step-finish without an open step")
                close_step(index, "step-finish")
                step = _Step()
                usage = usage + chunk.payload.output.usage
            case TextStart() | ReasoningStart():
                key = (chunk.type.removesuffix("-start"), chunk.payload.id)
                if key in step.blocks:
                    add(
                        "block-reopened",
                        index,
                        f"{key[0]} block {key[1]!r} is already open (since {step.blocks[key]})",
                    )
                step.blocks[key] = index
            case TextDelta() | ReasoningDelta():
                key = (chunk.type.removesuffix("-delta"), chunk.payload.id)
                if key not in step.blocks:
                    add("delta-outside-block", index, f"no open {key[0]} block {key[1]!r}")
            case TextEnd() | ReasoningEnd():
                key = (chunk.type.removesuffix("-end"), chunk.payload.id)
                if step.blocks.pop(key, None) is None:
                    add("block-not-open", index, f"no open {key[0]} block {key[1]!r} to end")
            case ToolCallInputStreamingStart():
                call_id = chunk.payload.tool_call_id
                if call_id in step.inputs or call_id in step.inputs_done or call_id in called:
                    add("tool-input-reopened", index, f"tool input {call_id!r} started again")
                else:
                    step.inputs[call_id] = index
            case ToolCallDelta() | ToolCallInputStreamingEnd():
                call_id = chunk.payload.tool_call_id
                if call_id not in step.inputs:
                    add("tool-input-not-open", index, f"no open tool input stream {call_id!r}")
                elif isinstance(chunk, ToolCallInputStreamingEnd):
                    step.inputs_done[call_id] = step.inputs.pop(call_id)
            case ToolCall():
                call_id = chunk.payload.tool_call_id
                if call_id in step.inputs:
                    add(
                        "tool-input-unclosed",
                        index,
                        f"tool-call {call_id!r} while its input (since chunk "
                        f"{step.inputs.pop(call_id)}) is still streaming",
                    )
                step.inputs_done.pop(call_id, None)
                if call_id in called:
                    add("tool-call-duplicate", index, f"tool-call {call_id!r} was already made")
                else:
                    called.add(call_id)
                    step.calls[call_id] = (index, chunk.payload.tool_name)
            case ToolResult() | ToolError():
                call_id = chunk.payload.tool_call_id
                if call_id in step.answered:
                    add("tool-result-duplicate", index, f"tool-call {call_id!r} already answered")
                elif call_id not in step.calls:
                    add(
                        "tool-result-without-call",
                        index,
                        f"{chunk.type} for {call_id!r} without a tool-call in this step",
                    )
                else:
                    step.answered.add(call_id)
                    name = step.calls[call_id][1]
                    if chunk.payload.tool_name != name:
                        add(
                            "tool-name-mismatch",
                            index,
                            f"{chunk.type} names {chunk.payload.tool_name!r}, the call {name!r}",
                        )
            case AgentError():
                close_blocks(index, "error")
                step.failed = True
            case Abort():
                close_blocks(index, "abort")
                terminal = (index, "abort")
            case Finish():
                if step.start is not None:
                    add(
                        "step-unclosed",
                        index,
                        f"finish while the step opened at chunk {step.start} is open",
                    )
                close_blocks(index, "finish")
                total = chunk.payload.output.usage
                if total.counters() != usage.counters():
                    add(
                        "usage-mismatch",
                        index,
                        f"finish usage {total!r} is not the sum of the steps' {usage!r}",
                    )
                terminal = (index, "finish")
            case _:
                pass  # object, response-metadata: no ordering rule of their own
    if terminal is None and not truncated:
        last_index, last = items[-1]
        if not (inner and isinstance(last, AgentError)):
            add(
                "missing-finish",
                last_index,
                f"the stream ends with {last.type!r}, not 'finish' or 'abort'",
            )
    return out


# --- workflow streams ------------------------------------------------------------------------


@dataclass
class _Running:
    index: int
    id: str
    name: str | None
    call_id: str | None


def _opt(value: object) -> str | None:
    return None if value is MISSING else str(value)


def _check_workflow(items: _Items, *, truncated: bool = False) -> list[Violation]:
    """Check a workflow stream (``truncated``: it may end anywhere)."""
    out: list[Violation] = []

    def add(rule: Rule, index: int, message: str) -> None:
        out.append(Violation(rule, index, message))

    first_index, first = items[0]
    if not isinstance(first, WorkflowStart):
        add(
            "start-first",
            first_index,
            f"the stream starts with {first.type!r}, not 'workflow-start'",
        )
    running: list[_Running] = []
    failed_at: int | None = None
    suspended = False
    terminal: int | None = None
    for position, (index, chunk) in enumerate(items):
        if terminal is not None:
            add(
                "after-finish", index, f"{chunk.type!r} after 'workflow-finish' at chunk {terminal}"
            )
            break
        match chunk:
            case WorkflowStart():
                if position:
                    add(
                        "duplicate-start",
                        index,
                        f"a second 'workflow-start' (first: {first_index})",
                    )
            case WorkflowStepStart() | WorkflowStepWaiting():
                call_id = _opt(chunk.payload.step_call_id)
                if call_id is not None and any(r.call_id == call_id for r in running):
                    add(
                        "workflow-step-duplicate",
                        index,
                        f"stepCallId {call_id!r} started while already running",
                    )
                name = _opt(chunk.payload.step_name)
                running.append(_Running(index, chunk.payload.id, name, call_id))
            case WorkflowStepResult() | WorkflowStepSuspended():
                match = _match_step(running, chunk.payload.id, _opt(chunk.payload.step_call_id))
                if match is None:
                    add(
                        "workflow-step-without-start",
                        index,
                        f"{chunk.type} for step {chunk.payload.id!r} that is not running",
                    )
                else:
                    running.remove(match)
                    if match.id != chunk.payload.id:
                        add(
                            "workflow-step-id-mismatch",
                            index,
                            f"{chunk.type} has id {chunk.payload.id!r}; its step-start (chunk "
                            f"{match.index}) has {match.id!r}",
                        )
                if isinstance(chunk, WorkflowStepSuspended):
                    suspended = True
                elif chunk.payload.status == "failed" and failed_at is None:
                    failed_at = index
            case WorkflowStepProgress():
                if not any(r.id == chunk.payload.id for r in running):
                    add(
                        "workflow-step-output-outside-step",
                        index,
                        f"progress of step {chunk.payload.id!r} while it is not running",
                    )
            case WorkflowStepOutput():
                name = _opt(chunk.payload.step_name)
                if not any(_writes_for(r, name) for r in running):
                    add(
                        "workflow-step-output-outside-step",
                        index,
                        f"output of step {name!r} while it is not running",
                    )
            case WorkflowFinish():
                terminal = index
                status = chunk.payload.workflow_status
                if failed_at is not None and status != "failed":
                    add(
                        "workflow-status",
                        index,
                        f"workflowStatus {status!r} although the step at chunk {failed_at} failed",
                    )
                if status == "suspended" and not suspended:
                    add(
                        "workflow-status", index, "workflowStatus 'suspended' but no step suspended"
                    )
                if status != "canceled":
                    for run in running:
                        add(
                            "workflow-step-unfinished",
                            run.index,
                            f"step {run.id!r} has no result before 'workflow-finish' at {index}",
                        )
            case _:
                add("foreign-chunk", index, f"{chunk.type!r} is not a workflow chunk")
    if terminal is None and not truncated:
        last_index, last = items[-1]
        add(
            "missing-finish",
            last_index,
            f"the stream ends with {last.type!r}, not 'workflow-finish'",
        )
    return out


def _match_step(running: list[_Running], step_id: str, call_id: str | None) -> _Running | None:
    if call_id is not None:
        for run in running:
            if run.call_id == call_id:
                return run
    for run in running:
        if run.id == step_id and (call_id is None or run.call_id is None):
            return run
    return None


def _writes_for(run: _Running, name: str | None) -> bool:
    if name is None:
        return True
    return name in (run.name, run.id) or run.id.endswith("." + name)


# --- network streams -------------------------------------------------------------------------


@dataclass
class _Span:
    kind: str
    index: int
    chunk: Chunk
    inner: list[tuple[int, Chunk]] = field(default_factory=list)


def _check_network(items: _Items) -> list[Violation]:
    out: list[Violation] = []

    def add(rule: Rule, index: int, message: str) -> None:
        out.append(Violation(rule, index, message))

    span: _Span | None = None
    terminal: tuple[int, str] | None = None
    for index, chunk in items:
        if terminal is not None:
            add(
                "after-finish",
                index,
                f"{chunk.type!r} after {terminal[1]!r} at chunk {terminal[0]}",
            )
            break
        if isinstance(chunk, WrappedChunk):
            wanted = {_AGENT_PREFIX: "agent-execution", _WORKFLOW_PREFIX: "workflow-execution"}
            kind = wanted.get(chunk.prefix)
            if kind is None:
                continue
            if span is None or span.kind != kind:
                add(
                    "wrapped-outside-execution",
                    index,
                    f"{chunk.type!r} outside an {kind} span",
                )
                continue
            expected = _execution_run_id(span.chunk)
            if expected is not None and chunk.payload.run_id != expected:
                add(
                    "inner-run-id",
                    index,
                    f"inner runId {chunk.payload.run_id!r} is not the execution's {expected!r}",
                )
            span.inner.append((index, chunk.payload))
            continue
        if chunk.type in _SPAN_STARTS:
            if span is not None:
                add(
                    "span-interleaved",
                    index,
                    f"{chunk.type!r} while {span.kind} (opened at chunk {span.index}) is open",
                )
            span = _Span(_SPAN_STARTS[chunk.type], index, chunk)
        elif chunk.type in _SPAN_ENDS:
            if span is None or span.kind != _SPAN_ENDS[chunk.type]:
                open_kind = "no span" if span is None else span.kind
                add("span-not-open", index, f"{chunk.type!r} while {open_kind} is open")
                continue
            out.extend(_check_inner(span, truncated=False))
            span = None
        elif isinstance(chunk, NetworkFinish):
            terminal = (index, chunk.type)
            if span is not None:
                add(
                    "span-unclosed",
                    span.index,
                    f"{span.kind} has no end before {chunk.type!r} at chunk {index}",
                )
        elif isinstance(chunk, Abort):
            terminal = (index, "abort")
            if span is not None:
                out.extend(_check_inner(span, truncated=True))
        elif not isinstance(chunk, _NETWORK_CLASSES):
            add("foreign-chunk", index, f"{chunk.type!r} is not a network chunk")
    if terminal is None:
        last_index, last = items[-1]
        add(
            "missing-finish",
            last_index,
            f"the stream ends with {last.type!r}, not 'network-execution-event-finish' or 'abort'",
        )
    return out


def _execution_run_id(start: Chunk) -> str | None:
    if isinstance(start, AgentExecutionStart | WorkflowExecutionStart):
        return start.payload.run_id
    return None


def _check_inner(span: _Span, *, truncated: bool) -> list[Violation]:
    if not span.inner:
        return []
    check: Callable[[_Items], list[Violation]]
    if span.kind == "agent-execution":

        def check(items: _Items) -> list[Violation]:
            return _check_agent(items, inner=True, truncated=truncated)

        family = "agent"
    else:

        def check(items: _Items) -> list[Violation]:
            return _check_workflow(items, truncated=truncated)

        family = "workflow"
    return [
        Violation(
            "inner-stream",
            found.index,
            f"the {family} stream of the {span.kind} at chunk {span.index}: {found}",
            inner=found,
        )
        for found in sorted(check(span.inner), key=lambda v: v.index)
    ]
