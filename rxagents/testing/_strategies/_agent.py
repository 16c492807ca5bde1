"""Well-formed agent streams, built from scripted model responses as the agent loop would."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy
from pydantic import MISSING

from rxagents.errors import InvalidInputError
from rxagents.events import (
    Abort,
    AgentChunk,
    AgentError,
    AgentErrorPayload,
    Finish,
    ReasoningDelta,
    ReasoningDeltaPayload,
    ReasoningEnd,
    ReasoningStart,
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
    ToolApproval,
    ToolCall,
    ToolCallApproval,
    ToolCallApprovalPayload,
    ToolCallDelta,
    ToolCallDeltaPayload,
    ToolCallInputStreamingEnd,
    ToolCallInputStreamingEndPayload,
    ToolCallInputStreamingStart,
    ToolCallInputStreamingStartPayload,
    ToolCallPayload,
    ToolCallSummary,
    ToolCallSuspended,
    ToolCallSuspendedPayload,
    ToolError,
    ToolErrorPayload,
    ToolOutputDenied,
    ToolOutputDeniedPayload,
    ToolResult,
    ToolResultPayload,
)
from rxagents.usage import Usage

from ._base import (
    DEFAULT_TOOLS,
    STAMPS,
    TEXTS,
    ModelPartDict,
    ToolSpec,
    check_steps,
    error_infos,
    ids,
    interleave,
    json_values,
    tool_args,
)
from ._scripts import draw_script
from ._writes import SUB_AGENT_PREFIX, CallWrites, Writes, draw_call_writes

__all__ = ("agent_chunk_streams", "draw_agent_stream")


@dataclass
class _StepChunks:
    chunks: list[AgentChunk]
    text: str
    usage: Usage
    reason: str
    calls: list[ToolCallSummary]
    pause_end: int | None = None
    """Where the paused stream ends (after its pause chunks), when the step paused."""
    nested: Usage = Usage.zero
    """The usage of the nested model calls the step's tools made."""


CallWriter: TypeAlias = Callable[[DrawFn, str, ToolCallSummary, bool], CallWrites]
"""Draw what a call's tool writes: ``(draw, run_id, call, failed)``."""

_APPROVAL_SCHEMA = '{"type":"object","properties":{"approved":{"type":"boolean"}}}'


def _pause_chunk(draw: DrawFn, run_id: str, call: ToolCallSummary) -> AgentChunk:
    if draw(st.booleans()):
        approval = ToolCallApprovalPayload(
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            args=call.args,
            resume_schema=_APPROVAL_SCHEMA,
        )
        return ToolCallApproval(run_id=run_id, payload=approval)
    suspended = ToolCallSuspendedPayload(
        tool_call_id=call.tool_call_id,
        tool_name=call.tool_name,
        suspend_payload=draw(json_values()),
        args=call.args,
    )
    return ToolCallSuspended(run_id=run_id, payload=suspended)


def _answer(draw: DrawFn, run_id: str, call: ToolCallSummary, pause: AgentChunk) -> AgentChunk:
    """The chunk a resumed run answers a paused call with."""
    if isinstance(pause, ToolCallApproval) and draw(st.booleans()):
        denied = ToolOutputDeniedPayload(
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            args=call.args,
            approval=ToolApproval(id=call.tool_call_id, reason=draw(st.text(max_size=10))),
        )
        return ToolOutputDenied(run_id=run_id, payload=denied)
    result = ToolResultPayload(
        tool_call_id=call.tool_call_id,
        tool_name=call.tool_name,
        args=call.args,
        result=draw(json_values()),
    )
    return ToolResult(run_id=run_id, payload=result)


def _step_chunks(
    draw: DrawFn,
    run_id: str,
    message_id: str,
    parts: list[ModelPartDict],
    is_last: bool,
    pause: bool = False,
    write: CallWriter | None = None,
) -> _StepChunks:
    """Turn one scripted step into the chunks the agent loop emits for it.

    With ``write``, each call's tool writes while it runs: its chunks come between the step's
    calls and that call's answer, interleaved with the other calls' (they run at once).
    """
    out: list[AgentChunk] = [
        StepStart(
            run_id=run_id,
            payload=StepStartPayload(
                message_id=message_id, request={}, warnings=[], started_at=draw(STAMPS)
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
    order = draw(st.permutations(calls))
    paused_count = draw(st.integers(1, len(order))) if pause and order else 0
    nested = Usage.zero
    answered: list[list[AgentChunk]] = []
    for summary in order[: len(order) - paused_count]:
        chunks, carried = _answered_call(draw, run_id, summary, write)
        answered.append(chunks)
        nested = nested + carried
    # calls run at once: what they write interleaves, each call's answer after its own writes
    out.extend(interleave(draw, answered) if write is not None else [a for [a] in answered])
    pause_end = None
    if paused_count:
        paused = order[len(order) - paused_count :]
        pauses = [_pause_chunk(draw, run_id, call) for call in paused]
        out.extend(pauses)
        pause_end = len(out)
        for summary, pause_chunk in zip(paused, pauses, strict=True):
            answer = _answer(draw, run_id, summary, pause_chunk)
            if write is not None and isinstance(answer, ToolResult):  # the tool ran on resume
                written = write(draw, run_id, summary, False)
                nested = nested + written.nested_usage
                out.extend(written.chunks)
                answer = _with_writes(answer, written)
            out.append(answer)
    joined = "".join(text)
    out.append(
        StepFinish(
            run_id=run_id,
            payload=_finish_payload(message_id, reason, not is_last, joined, usage, calls),
        )
    )
    return _StepChunks(out, joined, usage, reason, calls, pause_end, nested)


def _answered_call(
    draw: DrawFn, run_id: str, call: ToolCallSummary, write: CallWriter | None
) -> tuple[list[AgentChunk], Usage]:
    """Return a call's answer after what its tool wrote, and the nested usage of that call."""
    failed = draw(st.integers(0, 3)) == 0
    written = CallWrites([]) if write is None else write(draw, run_id, call, failed)
    answer: ToolError | ToolResult
    if failed:
        failure = ToolErrorPayload(
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            args=call.args,
            error=draw(error_infos()),
        )
        answer = ToolError(run_id=run_id, payload=failure)
    else:
        result = ToolResultPayload(
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            args=call.args,
            result=draw(json_values()),
        )
        answer = ToolResult(run_id=run_id, payload=result)
    return [*written.chunks, _with_writes(answer, written)], written.nested_usage


def _with_writes(answer: ToolResult | ToolError, written: CallWrites) -> ToolResult | ToolError:
    """The answer with the result and nested usage the call's writes decided, if any."""
    update: dict[str, Any] = {}
    if written.result is not MISSING and isinstance(answer, ToolResult):
        update["result"] = written.result
    if written.usage is not None:
        update["usage"] = written.usage
    if not update:
        return answer
    return answer.model_copy(update={"payload": answer.payload.model_copy(update=update)})


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


def draw_agent_stream(
    draw: DrawFn,
    run_id: str | None,
    tools: Mapping[str, SearchStrategy[Mapping[str, Any]]],
    min_steps: int,
    max_steps: int,
    max_tool_calls: int,
    endings: tuple[str, ...],
    pauses: bool = False,
    writes: Writes | None = None,
) -> list[AgentChunk]:
    """Draw one agent run's stream: ``start``, a step block per scripted model call, the end.

    With ``pauses``, steps with tool calls sometimes pause (pause chunks for some calls, then
    their answers as a resumed run gives them); the ``"pause"`` ending cuts the stream right
    after the first pause (a paused stream). With ``writes``, tools write while they run (see
    :func:`draw_call_writes`); nested runs are smaller (one or two steps, one call per step)
    and end with ``finish``, sometimes after a failed model call.
    """
    rid = run_id if run_id is not None else draw(ids("run-"))
    write: CallWriter | None = None
    if writes is not None:
        run_writes = writes
        # sub-agents delegate again only while a level is left below them
        below = {
            name: args
            for name, args in tools.items()
            if writes.depth > 1 or name not in writes.sub_agents
        }

        def nested(draw: DrawFn, nested_id: str, inner: Writes) -> list[AgentChunk]:
            return draw_agent_stream(
                draw, nested_id, below, 1, 2, 1, ("finish", "error"), False, inner
            )

        def write(draw: DrawFn, run: str, call: ToolCallSummary, failed: bool) -> CallWrites:
            return draw_call_writes(draw, run, call, run_writes, failed, nested)

    message_id = f"msg-{rid}"
    script = draw_script(draw, tools, min_steps, max_steps, max_tool_calls)
    ending = draw(st.sampled_from(endings))
    out: list[AgentChunk] = [
        Start(run_id=rid, payload=StartPayload(id="agent", message_id=message_id))
    ]
    total, text, reason = Usage.zero, "", "stop"
    for k, parts in enumerate(script):
        is_last = k == len(script) - 1
        if is_last and ending == "error":
            parts = [p for p in parts if p["type"].startswith("text")][: draw(st.integers(0, 3))]
        pause = pauses and not (is_last and ending == "error") and draw(st.booleans())
        step = _step_chunks(draw, rid, message_id, parts, is_last, pause, write)
        if ending == "pause" and step.pause_end is not None:
            out.extend(step.chunks[: step.pause_end])
            return out
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
            error = AgentErrorPayload(error=draw(error_infos()))
            out.append(AgentError(run_id=rid, payload=error))
            step.reason, step.usage = "error", Usage.zero
            payload = _finish_payload(message_id, "error", False, step.text, Usage.zero)
            out.append(StepFinish(run_id=rid, payload=payload))
        else:
            out.extend(step.chunks)
        total, text, reason = total + step.usage + step.nested, step.text, step.reason
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
    include_pauses: bool = False,
    include_tool_output: bool = False,
    sub_agents: Sequence[str] = (),
    max_depth: int = 1,
) -> SearchStrategy[list[AgentChunk]]:
    """Return a strategy for well-formed agent streams, as the agent loop emits them.

    ``start``; per model call a step block with reasoning and text blocks (sometimes
    interleaved), tool calls (sometimes with streamed input) each answered by a ``tool-result``
    or ``tool-error`` (in any order) before ``step-finish``; then ``finish`` whose usage is the sum
    of every model call's: the steps', and the nested ones'. All chunks share one runId (nested
    runs, carried whole in ``tool-output``, have their own).

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
        include_pauses: Sometimes pause on tool calls (``tool-call-approval`` or
            ``tool-call-suspended``, then the answers ``tool-result`` or ``tool-output-denied``:
            a paused stream followed by its resumed stream), and sometimes end right after the
            pause (a paused stream alone).
        include_tool_output: Tools write while they run, between their call and its answer
            (calls running at once interleave): ``tool-output`` values and data chunks
            (``ctx.writer.custom``), and, up to ``max_depth``, nested agent runs piped whole
            (every chunk in a ``tool-output``, with its own runId ``<run>/<toolCallId>``) or as
            text (one ``tool-output`` per delta; the nested usage rides on the answer's
            ``usage``). A failed call may have stopped piping anywhere.
        sub_agents: Sub-agent keys: the run is a supervisor offering ``agent-<key>`` tools. A
            delegation streams a whole sub-agent run in ``tool-output`` chunks and returns
            ``{text, subAgentThreadId, subAgentResourceId, subAgentToolResults}`` (a failed one
            is a ``tool-error`` after part of the run). Sub-agents delegate again below
            ``max_depth``.
        max_depth: Levels of nested runs (1: nested runs; 2: nested in nested, sub-sub-agents).

    Raises:
        InvalidInputError: ``max_depth`` is negative, or ``sub_agents`` are given with
            ``max_depth`` 0.
    """
    check_steps(min_steps, max_steps)
    if max_depth < 0 or (sub_agents and max_depth < 1):
        raise InvalidInputError(
            f"max_depth must be >= 0, and >= 1 with sub_agents; got {max_depth}"
        )
    if isinstance(sub_agents, str):
        raise InvalidInputError("sub_agents must be a sequence of keys, not one string")
    endings = (
        ("finish",)
        + ("error",) * include_errors
        + ("abort",) * include_aborts
        + ("pause",) * include_pauses
    )
    arguments = tool_args(tools)
    delegations = frozenset(f"{SUB_AGENT_PREFIX}{key}" for key in sub_agents)
    for name in sorted(delegations):
        arguments[name] = st.fixed_dictionaries({"prompt": TEXTS})
    writes = (
        Writes(include_tool_output, max_depth, delegations)
        if include_tool_output or delegations
        else None
    )
    args = (run_id, arguments, min_steps, max_steps, max(1, max_tool_calls), endings)
    return st.composite(lambda draw: draw_agent_stream(draw, *args, include_pauses, writes))()
