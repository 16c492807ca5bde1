"""Ways to break a valid stream: each mutation, where it applies and the rule it breaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from pydantic import MISSING

from rxagents.events import (
    AgentError,
    AgentExecutionEnd,
    AgentExecutionStart,
    ChunkBase,
    Finish,
    NetworkFinish,
    NetworkValidationEnd,
    NetworkValidationStart,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningStart,
    RoutingAgentEnd,
    RoutingAgentStart,
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
    ToolExecutionEnd,
    ToolExecutionStart,
    ToolOutput,
    ToolOutputDenied,
    ToolResult,
    WorkflowExecutionEnd,
    WorkflowExecutionStart,
    WorkflowFinish,
    WorkflowStart,
    WorkflowStatus,
    WorkflowStepOutput,
    WorkflowStepResult,
    WorkflowStepStart,
    WorkflowStepSuspended,
    WrappedChunk,
)
from rxagents.testing._wellformed import Rule
from rxagents.usage import Usage

from ._base import Breakage

__all__ = (
    "AGENT_MUTATIONS",
    "AGENT_PAUSE_MUTATIONS",
    "AGENT_WRITE_MUTATIONS",
    "NETWORK_MUTATIONS",
    "WORKFLOW_MUTATIONS",
    "Mutation",
    "Stream",
)

Stream: TypeAlias = "list[Any]"
"""A stream under mutation: chunks of any class, payload fields read after an isinstance test."""
_Where: TypeAlias = Callable[[Stream], list[int]]


@dataclass(frozen=True)
class Mutation:
    """One way to break a stream: the rules it can break, where it applies, what it does."""

    rules: tuple[Rule, ...]
    where: _Where
    apply: Callable[[Stream, int], Breakage]


def _of(*kinds: type) -> _Where:
    return lambda stream: [i for i, chunk in enumerate(stream) if isinstance(chunk, kinds)]


def _without(stream: Stream, index: int) -> Stream:
    return stream[:index] + stream[index + 1 :]


def _inserted(stream: Stream, index: int, chunk: Any) -> Stream:
    return [*stream[:index], chunk, *stream[index:]]


def _moved(stream: Stream, source: int, target: int) -> Stream:
    """Move ``stream[source]`` so that it lands just before the original ``stream[target]``."""
    return _inserted(_without(stream, source), target - (source < target), stream[source])


def _drop(rule: Rule, where: _Where) -> Mutation:
    return Mutation((rule,), where, lambda s, i: (_without(s, i), rule))


def _repeat(rule: Rule, where: _Where) -> Mutation:
    return Mutation((rule,), where, lambda s, i: (_inserted(s, i + 1, s[i]), rule))


def _edit(rule: Rule, where: _Where, change: Callable[[Any], Any]) -> Mutation:
    return Mutation((rule,), where, lambda s, i: ([*s[:i], change(s[i]), *s[i + 1 :]], rule))


def _payload_copy(chunk: Any, **update: Any) -> Any:
    return chunk.model_copy(update={"payload": chunk.payload.model_copy(update=update)})


def _first_after(stream: Stream, start: int, test: Callable[[Any], bool]) -> int:
    return next(i for i in range(start + 1, len(stream)) if test(stream[i]))


# agent


def _call_id(chunk: Any) -> str:
    return str(chunk.payload.tool_call_id)


def _block(chunk: Any) -> tuple[str, str]:
    return (chunk.type.rsplit("-", 1)[0], str(chunk.payload.id))


def _calls(streamed: bool) -> _Where:
    def where(stream: Stream) -> list[int]:
        inputs = {_call_id(stream[i]) for i in _of(ToolCallInputStreamingStart)(stream)}
        return [i for i in _of(ToolCall)(stream) if (_call_id(stream[i]) in inputs) == streamed]

    return where


def _call_of(stream: Stream, index: int) -> int:
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


def _delta_after_end(stream: Stream, index: int) -> Breakage:
    end = _first_after(stream, index, _same_block(_block(stream[index]), *_ENDS))
    return _moved(stream, index, end + 1), Rule.DELTA_OUTSIDE_BLOCK


def _start_after_delta(stream: Stream, index: int) -> Breakage:
    delta = _first_after(stream, index, _same_block(_block(stream[index]), *_DELTAS))
    return _moved(stream, index, delta + 1), Rule.DELTA_OUTSIDE_BLOCK


def _blocks_with_deltas(stream: Stream) -> list[int]:
    keys = {_block(stream[i]) for i in _of(*_DELTAS)(stream)}
    return [i for i in _of(*_STARTS)(stream) if _block(stream[i]) in keys]


def _drop_step_start(stream: Stream, index: int) -> Breakage:
    broken = _without(stream, index)
    end = _first_after(broken, index - 1, lambda c: isinstance(c, StepFinish))
    has_content = any(isinstance(c, _IN_STEP) for c in broken[index:end])
    return broken, Rule.OUTSIDE_STEP if has_content else Rule.STEP_NOT_OPEN


_PAUSES = (ToolCallApproval, ToolCallSuspended)
_ANSWERS = (ToolResult, ToolError, ToolOutputDenied)


def _answers_after_pause(stream: Stream) -> list[int]:
    """The first answer after each run of pause chunks (where a resumed stream begins)."""
    return [
        i
        for i in range(1, len(stream))
        if isinstance(stream[i], _ANSWERS) and isinstance(stream[i - 1], _PAUSES)
    ]


def _more_usage(chunk: Any) -> Any:
    output = chunk.payload.output
    more = output.model_copy(update={"usage": output.usage + Usage(input_tokens=1)})
    return _payload_copy(chunk, output=more)


AGENT_MUTATIONS: tuple[Mutation, ...] = (
    _drop(Rule.MISSING_FINISH, _of(Finish)),
    _drop(Rule.START_FIRST, _of(Start)),
    _repeat(Rule.DUPLICATE_START, _of(Start)),
    _repeat(Rule.AFTER_FINISH, _of(Finish)),
    Mutation(
        (Rule.STEP_UNCLOSED,), _of(Finish), lambda s, i: (_moved(s, i, i - 1), Rule.STEP_UNCLOSED)
    ),
    Mutation((Rule.OUTSIDE_STEP, Rule.STEP_NOT_OPEN), _of(StepStart), _drop_step_start),
    _repeat(Rule.STEP_NESTED, _of(StepStart)),
    _repeat(Rule.STEP_NOT_OPEN, _of(StepFinish)),
    Mutation((Rule.DELTA_OUTSIDE_BLOCK,), _of(*_DELTAS), _delta_after_end),
    Mutation((Rule.DELTA_OUTSIDE_BLOCK,), _blocks_with_deltas, _start_after_delta),
    _edit(
        Rule.DELTA_OUTSIDE_BLOCK, _of(*_DELTAS), lambda c: _payload_copy(c, id=c.payload.id + "~")
    ),
    _repeat(Rule.BLOCK_REOPENED, _of(*_STARTS)),
    _drop(Rule.BLOCK_UNCLOSED, _of(*_ENDS)),
    _repeat(Rule.BLOCK_NOT_OPEN, _of(*_ENDS)),
    _drop(Rule.TOOL_INPUT_NOT_OPEN, _of(ToolCallInputStreamingStart)),
    _repeat(Rule.TOOL_INPUT_REOPENED, _of(ToolCallInputStreamingStart)),
    Mutation(
        (Rule.TOOL_INPUT_UNCLOSED,),
        _of(ToolCallInputStreamingEnd),
        lambda s, i: (_moved(s, i, _call_of(s, i) + 1), Rule.TOOL_INPUT_UNCLOSED),
    ),
    _drop(Rule.TOOL_INPUT_WITHOUT_CALL, _calls(streamed=True)),
    _drop(Rule.TOOL_RESULT_WITHOUT_CALL, _calls(streamed=False)),
    _repeat(Rule.TOOL_CALL_DUPLICATE, _of(ToolCall)),
    _drop(Rule.TOOL_CALL_UNANSWERED, _of(ToolResult, ToolError)),
    _repeat(Rule.TOOL_RESULT_DUPLICATE, _of(ToolResult, ToolError)),
    Mutation(
        (Rule.TOOL_RESULT_WITHOUT_CALL,),
        _of(ToolResult, ToolError),
        lambda s, i: (_moved(s, i, _call_of(s, i)), Rule.TOOL_RESULT_WITHOUT_CALL),
    ),
    _edit(
        Rule.TOOL_NAME_MISMATCH,
        _of(ToolResult, ToolError),
        lambda c: _payload_copy(c, tool_name=c.payload.tool_name + "~"),
    ),
    _edit(
        Rule.RUN_ID_MISMATCH,
        lambda s: list(range(1, len(s))),
        lambda c: c.model_copy(update={"run_id": c.run_id + "~"}),
    ),
    _edit(Rule.USAGE_MISMATCH, _of(Finish), _more_usage),
)

AGENT_PAUSE_MUTATIONS: tuple[Mutation, ...] = (
    _edit(
        Rule.PAUSE_WITHOUT_CALL,
        _of(*_PAUSES),
        lambda c: _payload_copy(c, tool_call_id=c.payload.tool_call_id + "~"),
    ),
    Mutation(
        (Rule.AFTER_PAUSE,),
        _answers_after_pause,
        lambda s, i: (
            _inserted(s, i, _payload_copy(s[i], tool_call_id=s[i].payload.tool_call_id + "~")),
            Rule.AFTER_PAUSE,
        ),
    ),
)
"""Breakages of paused and resumed agent streams (applied to streams with pauses only)."""


def _answer_of(stream: Stream, index: int) -> int:
    return _first_after(
        stream,
        index,
        lambda c: isinstance(c, ToolResult | ToolError) and _call_id(c) == _call_id(stream[index]),
    )


def _plain_outputs(stream: Stream) -> list[int]:
    return [
        i for i in _of(ToolOutput)(stream) if not isinstance(stream[i].payload.output, ChunkBase)
    ]


def _completed(stream: Stream) -> bool:
    """The run finished without failing: every nested run it carries must be whole."""
    return isinstance(stream[-1], Finish) and not any(isinstance(c, AgentError) for c in stream)


def _nested_finishes(stream: Stream) -> list[int]:
    """Carried nested ``finish`` chunks whose call succeeded, in a completed run."""
    if not _completed(stream):
        return []
    return [
        i
        for i in _of(ToolOutput)(stream)
        if isinstance(stream[i].payload.output, Finish)
        and isinstance(stream[_answer_of(stream, i)], ToolResult)
    ]


def _answers_with_usage(stream: Stream) -> list[int]:
    if not isinstance(stream[-1], Finish):
        return []
    return [
        i
        for i in _of(ToolResult, ToolError)(stream)
        if stream[i].payload.usage is not MISSING and stream[i].payload.usage.total_tokens
    ]


def _without_usage(chunk: Any) -> Any:
    payload = chunk.payload.model_dump(by_alias=True, exclude={"usage"})
    return chunk.model_copy(update={"payload": type(chunk.payload).model_validate(payload)})


AGENT_WRITE_MUTATIONS: tuple[Mutation, ...] = (
    _edit(
        Rule.TOOL_OUTPUT_OUTSIDE_CALL,
        _of(ToolOutput),
        lambda c: _payload_copy(c, tool_call_id=c.payload.tool_call_id + "~"),
    ),
    Mutation(
        (Rule.TOOL_OUTPUT_OUTSIDE_CALL,),
        _plain_outputs,
        lambda s, i: (_moved(s, i, _answer_of(s, i) + 1), Rule.TOOL_OUTPUT_OUTSIDE_CALL),
    ),
    _edit(
        Rule.TOOL_NAME_MISMATCH,
        _of(ToolOutput),
        lambda c: _payload_copy(c, tool_name=c.payload.tool_name + "~"),
    ),
    _drop(Rule.INNER_STREAM, _nested_finishes),
    _edit(Rule.USAGE_MISMATCH, _answers_with_usage, _without_usage),
)
"""Breakages of streams whose tools write (tool-output, data chunks, nested runs)."""


# workflow


def _drop_workflow_step_start(stream: Stream, index: int) -> Breakage:
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
    return (
        broken,
        Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP if writes else Rule.WORKFLOW_STEP_WITHOUT_START,
    )


def _output_after_result(stream: Stream, index: int) -> Breakage:
    name = stream[index].payload.step_name
    end = _first_after(
        stream,
        index,
        lambda c: (
            isinstance(c, WorkflowStepResult | WorkflowStepSuspended)
            and c.payload.step_name == name
        ),
    )
    return _moved(stream, index, end + 1), Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP


def _finished(status: WorkflowStatus) -> _Where:
    return lambda s: [i for i in _of(WorkflowFinish)(s) if s[i].payload.workflow_status == status]


def _with_call_ids(kind: type) -> _Where:
    return lambda s: [i for i in _of(kind)(s) if s[i].payload.step_call_id is not MISSING]


WORKFLOW_MUTATIONS: tuple[Mutation, ...] = (
    _drop(Rule.MISSING_FINISH, _of(WorkflowFinish)),
    _drop(Rule.START_FIRST, _of(WorkflowStart)),
    _repeat(Rule.DUPLICATE_START, _of(WorkflowStart)),
    _repeat(Rule.AFTER_FINISH, _of(WorkflowFinish)),
    _drop(Rule.WORKFLOW_STEP_UNFINISHED, _of(WorkflowStepResult, WorkflowStepSuspended)),
    Mutation(
        (Rule.WORKFLOW_STEP_WITHOUT_START, Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP),
        _of(WorkflowStepStart),
        _drop_workflow_step_start,
    ),
    Mutation(
        (Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP,), _of(WorkflowStepOutput), _output_after_result
    ),
    _repeat(Rule.WORKFLOW_STEP_DUPLICATE, _with_call_ids(WorkflowStepStart)),
    _edit(
        Rule.WORKFLOW_STEP_ID_MISMATCH,
        _with_call_ids(WorkflowStepResult),
        lambda c: _payload_copy(c, id=c.payload.id + "~"),
    ),
    _edit(
        Rule.WORKFLOW_STATUS,
        _finished("failed"),
        lambda c: _payload_copy(c, workflow_status="success"),
    ),
    _edit(
        Rule.WORKFLOW_STATUS,
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


def _drop_span_end(stream: Stream, index: int) -> Breakage:
    broken = _without(stream, index)
    later = any(isinstance(c, _SPAN_STARTS) for c in broken[index:])
    return broken, Rule.SPAN_INTERLEAVED if later else Rule.SPAN_UNCLOSED


def _drop_span_start(stream: Stream, index: int) -> Breakage:
    broken = _without(stream, index)
    wrapped = isinstance(broken[index], WrappedChunk)
    return broken, Rule.WRAPPED_OUTSIDE_EXECUTION if wrapped else Rule.SPAN_NOT_OPEN


def _copy_after_execution(stream: Stream, index: int) -> Breakage:
    end = _first_after(
        stream, index, lambda c: isinstance(c, AgentExecutionEnd | WorkflowExecutionEnd)
    )
    return _inserted(stream, end + 1, stream[index]), Rule.WRAPPED_OUTSIDE_EXECUTION


def _inner_run_changed(chunk: Any) -> Any:
    inner = chunk.payload
    return chunk.model_copy(
        update={"payload": inner.model_copy(update={"run_id": inner.run_id + "~"})}
    )


def _inner_finishes(stream: Stream) -> list[int]:
    return [
        i
        for i in _of(WrappedChunk)(stream)
        if isinstance(stream[i].payload, Finish | WorkflowFinish)
    ]


NETWORK_MUTATIONS: tuple[Mutation, ...] = (
    _drop(Rule.MISSING_FINISH, _of(NetworkFinish)),
    _repeat(Rule.AFTER_FINISH, _of(NetworkFinish)),
    Mutation((Rule.SPAN_INTERLEAVED, Rule.SPAN_UNCLOSED), _of(*_SPAN_ENDS), _drop_span_end),
    Mutation(
        (Rule.WRAPPED_OUTSIDE_EXECUTION, Rule.SPAN_NOT_OPEN), _of(*_SPAN_STARTS), _drop_span_start
    ),
    Mutation((Rule.WRAPPED_OUTSIDE_EXECUTION,), _of(WrappedChunk), _copy_after_execution),
    _edit(Rule.INNER_RUN_ID, _of(WrappedChunk), _inner_run_changed),
    _drop(Rule.INNER_STREAM, _inner_finishes),
)
