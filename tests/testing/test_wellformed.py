"""assert_well_formed / check_well_formed: every rule, on minimal streams; marble helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from reactivex import operators as ops

from rxagents.errors import InvalidInputError, MalformedStreamError, RxAgentsError
from rxagents.events import (
    Abort,
    AgentError,
    AgentErrorPayload,
    AgentExecutionEnd,
    AgentExecutionEndPayload,
    AgentExecutionStart,
    AgentExecutionStartPayload,
    Chunk,
    DataChunk,
    ErrorInfo,
    Finish,
    NetworkFinish,
    NetworkFinishPayload,
    NetworkStepFinish,
    NetworkStepFinishPayload,
    NetworkValidationEnd,
    NetworkValidationEndPayload,
    NetworkValidationStart,
    NetworkValidationStartPayload,
    OpenPayload,
    ReasoningDelta,
    ReasoningDeltaPayload,
    ReasoningEnd,
    ReasoningStart,
    RoutingAgentEnd,
    RoutingAgentEndPayload,
    RoutingAgentStart,
    RoutingAgentStartPayload,
    SourceChunk,
    Start,
    StartPayload,
    StepFinish,
    StepFinishPayload,
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
    ToolCallApproval,
    ToolCallApprovalPayload,
    ToolCallDelta,
    ToolCallDeltaPayload,
    ToolCallInputStreamingEnd,
    ToolCallInputStreamingEndPayload,
    ToolCallInputStreamingStart,
    ToolCallInputStreamingStartPayload,
    ToolCallPayload,
    ToolError,
    ToolErrorPayload,
    ToolExecutionEnd,
    ToolExecutionEndPayload,
    ToolExecutionStart,
    ToolExecutionStartPayload,
    ToolOutput,
    ToolOutputPayload,
    ToolResult,
    ToolResultPayload,
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
    WorkflowStepProgress,
    WorkflowStepProgressPayload,
    WorkflowStepResult,
    WorkflowStepResultPayload,
    WorkflowStepStart,
    WorkflowStepStartPayload,
    WorkflowStepSuspended,
    WorkflowStepSuspendedPayload,
    WorkflowStepWaiting,
    WorkflowStepWaitingPayload,
    WrappedChunk,
)
from rxagents.testing import (
    RULES,
    Rule,
    Violation,
    WellFormednessError,
    assert_well_formed,
    check_well_formed,
    chunk_records,
    run_marbles,
)
from rxagents.usage import Usage

RUN = "run-1"
INNER = "run-1.agent"
U1 = Usage(input_tokens=15, output_tokens=5)
U2 = Usage(input_tokens=30, output_tokens=8)
Stream = list[Any]
"""Chunks of any class (payload fields are read without narrowing in these tests)."""

# --- builders ------------------------------------------------------------------------------


def start(run: str = RUN) -> Start:
    return Start(run_id=run, payload=StartPayload(id="agent", message_id="m1"))


def step_start(run: str = RUN) -> StepStart:
    return StepStart(run_id=run, payload=StepStartPayload(message_id="m1", started_at=1))


def step_finish(usage: Usage = U1, reason: str = "stop", run: str = RUN) -> StepFinish:
    payload = StepFinishPayload(
        step_result=StepResult(reason=reason, is_continued=reason == "tool-calls"),
        output=StepOutput(usage=usage),
    )
    return StepFinish(run_id=run, payload=payload)


def finish(usage: Usage = U1, reason: str = "stop", run: str = RUN) -> Finish:
    payload = StepFinishPayload(
        step_result=StepResult(reason=reason), output=StepOutput(text="Hi", usage=usage)
    )
    return Finish(run_id=run, payload=payload)


def text(block: str = "t1", *deltas: str, run: str = RUN) -> Stream:
    return [
        TextStart(run_id=run, payload=TextBlockPayload(id=block)),
        *(TextDelta(run_id=run, payload=TextDeltaPayload(id=block, text=d)) for d in deltas),
        TextEnd(run_id=run, payload=TextBlockPayload(id=block)),
    ]


def delta(block: str = "t1", run: str = RUN) -> TextDelta:
    return TextDelta(run_id=run, payload=TextDeltaPayload(id=block, text="x"))


def text_start(block: str = "t1") -> TextStart:
    return TextStart(run_id=RUN, payload=TextBlockPayload(id=block))


def text_end(block: str = "t1") -> TextEnd:
    return TextEnd(run_id=RUN, payload=TextBlockPayload(id=block))


def input_start(call_id: str = "c1") -> ToolCallInputStreamingStart:
    payload = ToolCallInputStreamingStartPayload(tool_call_id=call_id, tool_name="get_weather")
    return ToolCallInputStreamingStart(run_id=RUN, payload=payload)


def call(call_id: str = "c1", name: str = "get_weather") -> ToolCall:
    payload = ToolCallPayload(tool_call_id=call_id, tool_name=name, args={"city": "Oslo"})
    return ToolCall(run_id=RUN, payload=payload)


def result(call_id: str = "c1", name: str = "get_weather") -> ToolResult:
    payload = ToolResultPayload(tool_call_id=call_id, tool_name=name, result={"temp": 3})
    return ToolResult(run_id=RUN, payload=payload)


def tool_error(call_id: str = "c1") -> ToolError:
    payload = ToolErrorPayload(
        tool_call_id=call_id, tool_name="get_weather", error=ErrorInfo(message="x")
    )
    return ToolError(run_id=RUN, payload=payload)


def approval(call_id: str = "c1") -> ToolCallApproval:
    payload = ToolCallApprovalPayload(
        tool_call_id=call_id, tool_name="get_weather", args={"city": "Oslo"}, resume_schema="{}"
    )
    return ToolCallApproval(run_id=RUN, payload=payload)


def finished(usage: Usage = U1, reason: str = "stop") -> Stream:
    """``step-finish`` then ``finish``, for a one-step run."""
    return [step_finish(usage, reason), finish(usage, reason)]


def source() -> SourceChunk:
    return SourceChunk(run_id=RUN, payload=OpenPayload(id="s1", sourceType="url", url="https://x"))


def agent_error(run: str = RUN) -> AgentError:
    return AgentError(run_id=run, payload=AgentErrorPayload(error=ErrorInfo(message="boom")))


def agent_stream() -> Stream:
    """A tool step and a text step; the indices are used by the cases below."""
    return [
        start(),  # 0
        step_start(),  # 1
        input_start(),  # 2
        ToolCallDelta(  # 3
            run_id=RUN,
            payload=ToolCallDeltaPayload(
                tool_call_id="c1", tool_name="get_weather", args_text_delta='{"city":"Oslo"}'
            ),
        ),
        ToolCallInputStreamingEnd(  # 4
            run_id=RUN, payload=ToolCallInputStreamingEndPayload(tool_call_id="c1")
        ),
        call(),  # 5
        result(),  # 6
        step_finish(U1, "tool-calls"),  # 7
        step_start(),  # 8
        ReasoningStart(run_id=RUN, payload=TextBlockPayload(id="r1")),  # 9
        ReasoningDelta(run_id=RUN, payload=ReasoningDeltaPayload(id="r1", text="hm")),  # 10
        ReasoningEnd(run_id=RUN, payload=TextBlockPayload(id="r1")),  # 11
        *text("t1", "Hi"),  # 12, 13, 14
        step_finish(U2),  # 15
        finish(U1 + U2),  # 16
    ]


def wf_start(run: str = RUN) -> WorkflowStart:
    return WorkflowStart(run_id=run, payload=WorkflowStartPayload(workflow_id="wf"))


def wf_step(step_id: str, call_id: str | None = None, run: str = RUN) -> WorkflowStepStart:
    extra: dict[str, Any] = {} if call_id is None else {"step_call_id": call_id}
    payload = WorkflowStepStartPayload(id=step_id, step_name=step_id.split(".")[-1], **extra)
    return WorkflowStepStart(run_id=run, payload=payload)


def wf_result(
    step_id: str, call_id: str | None = None, *, failed: bool = False, run: str = RUN
) -> WorkflowStepResult:
    extra: dict[str, Any] = {} if call_id is None else {"step_call_id": call_id}
    if failed:
        extra.update(status="failed", error=ErrorInfo(message="nope"))
    else:
        extra.update(status="success", output={"ok": True})
    payload = WorkflowStepResultPayload(id=step_id, step_name=step_id.split(".")[-1], **extra)
    return WorkflowStepResult(run_id=run, payload=payload)


def wf_suspended(step_id: str) -> WorkflowStepSuspended:
    payload = WorkflowStepSuspendedPayload(id=step_id, suspend_payload={"ask": "ok?"})
    return WorkflowStepSuspended(run_id=RUN, payload=payload)


def wf_progress(step_id: str, index: int = 0) -> WorkflowStepProgress:
    payload = WorkflowStepProgressPayload(
        id=step_id,
        step_name=step_id,
        completed_count=index + 1,
        total_count=2,
        current_index=index,
        iteration_status="success",
        iteration_output={"ok": True},
    )
    return WorkflowStepProgress(run_id=RUN, payload=payload)


def wf_waiting(step_id: str) -> WorkflowStepWaiting:
    payload = WorkflowStepWaitingPayload(id=step_id, step_name=step_id, payload={"n": 1})
    return WorkflowStepWaiting(run_id=RUN, payload=payload)


def wf_output(name: str | None, output: Any = None, run: str = RUN) -> WorkflowStepOutput:
    named = {} if name is None else {"step_name": name}
    payload = WorkflowStepOutputPayload(run_id=run, output=output, **named)
    return WorkflowStepOutput(run_id=run, payload=payload)


def wf_finish(status: WorkflowStatus = "success", run: str = RUN) -> WorkflowFinish:
    payload = WorkflowFinishPayload(workflow_status=status, output=WorkflowFinishOutput())
    return WorkflowFinish(run_id=run, payload=payload)


def workflow_stream() -> Stream:
    return [
        wf_start(),  # 0
        wf_step("s1", "c1"),  # 1
        wf_output("s1", {"type": "my-progress", "percent": 50}),  # 2
        wf_output("s1", delta(run="agent-run")),  # 3
        wf_result("s1", "c1"),  # 4
        wf_step("loop", "c2"),  # 5
        wf_result("loop", "c2"),  # 6
        wf_step("loop", "c3"),  # 7
        wf_result("loop", "c3"),  # 8
        wf_finish(),  # 9
    ]


def wrap(prefix: str, chunk: Any) -> WrappedChunk:
    return WrappedChunk(type=prefix + chunk.type, run_id=RUN, payload=chunk)


def routing(primitive: str, kind: str, iteration: int) -> Stream:
    return [
        RoutingAgentStart(run_id=RUN, payload=RoutingAgentStartPayload(run_id=RUN)),
        RoutingAgentEnd(
            run_id=RUN,
            payload=RoutingAgentEndPayload(
                primitive_id=primitive, primitive_type=kind, iteration=iteration, usage=U1
            ),
        ),
    ]


def agent_execution_start() -> AgentExecutionStart:
    payload = AgentExecutionStartPayload(agent_id="a1", args={"prompt": "p"}, run_id=INNER)
    return AgentExecutionStart(run_id=RUN, payload=payload)


def agent_execution_end() -> AgentExecutionEnd:
    payload = AgentExecutionEndPayload(agent_id="a1", result="Hi", run_id=INNER, usage=U1)
    return AgentExecutionEnd(run_id=RUN, payload=payload)


def inner_agent() -> Stream:
    return [
        start(INNER),
        step_start(INNER),
        *text("t1", "Hi", run=INNER),
        step_finish(U1, run=INNER),
        finish(U1, run=INNER),
    ]


def network_finish() -> NetworkFinish:
    return NetworkFinish(run_id=RUN, payload=NetworkFinishPayload(task="t", is_complete=True))


def network_stream() -> Stream:
    agent = "agent-execution-event-"
    workflow = "workflow-execution-event-"
    inner_wf = [wf_start("wf-run"), wf_step("w"), wf_result("w"), wf_finish(run="wf-run")]
    inner_wf = [c.model_copy(update={"run_id": "wf-run"}) for c in inner_wf]
    return [
        *routing("a1", "agent", 0),  # 0, 1
        agent_execution_start(),  # 2
        *(wrap(agent, c) for c in inner_agent()),  # 3-9
        agent_execution_end(),  # 10
        NetworkValidationStart(run_id=RUN, payload=NetworkValidationStartPayload(run_id=RUN)),
        NetworkValidationEnd(run_id=RUN, payload=NetworkValidationEndPayload(passed=False)),
        *routing("w1", "workflow", 1),  # 13, 14
        WorkflowExecutionStart(  # 15
            run_id=RUN,
            payload=WorkflowExecutionStartPayload(workflow_id="w1", run_id="wf-run"),
        ),
        *(wrap(workflow, c) for c in inner_wf),  # 16-19
        WorkflowExecutionEnd(run_id=RUN, payload=WorkflowExecutionEndPayload(run_id="wf-run")),
        ToolExecutionStart(run_id=RUN, payload=ToolExecutionStartPayload(args={})),  # 21
        ToolExecutionEnd(run_id=RUN, payload=ToolExecutionEndPayload(tool_name="t")),  # 22
        NetworkStepFinish(run_id=RUN, payload=NetworkStepFinishPayload(task="t")),  # 23
        network_finish(),  # 24
    ]


NESTED = "run-1/c1"


def tool_output(value: Any, call_id: str = "c1", name: str = "agent-research") -> ToolOutput:
    payload = ToolOutputPayload(output=value, tool_call_id=call_id, tool_name=name)
    return ToolOutput(run_id=RUN, payload=payload)


def data(run: str = RUN) -> DataChunk:
    return DataChunk.model_validate({"type": "data-progress", "data": {"pct": 5}, "run_id": run})


def nested_run(run: str = NESTED, usage: Usage = U2) -> Stream:
    return [
        start(run),
        step_start(run),
        *text("t1", "sub", run=run),
        step_finish(usage, run=run),
        finish(usage, run=run),
    ]


def writer_stream() -> Stream:
    """A supervisor-like run: its tool writes, then a sub-agent's whole run, then the result."""
    return [
        start(),  # 0
        step_start(),  # 1
        call("c1", "agent-research"),  # 2
        tool_output({"pct": 10}),  # 3
        data(),  # 4
        *(tool_output(c) for c in nested_run()),  # 5-11
        result("c1", "agent-research"),  # 12
        step_finish(U1, "tool-calls"),  # 13
        step_start(),  # 14
        *text("t1", "Hi"),  # 15, 16, 17
        step_finish(U1),  # 18
        finish(U1 + U1 + U2),  # 19
    ]


def result_with_usage(usage: Usage, call_id: str = "c1") -> ToolResult:
    payload = ToolResultPayload(
        tool_call_id=call_id, tool_name="agent-research", result="sub", usage=usage
    )
    return ToolResult(run_id=RUN, payload=payload)


# --- edits ---------------------------------------------------------------------------------

Edit = Callable[[Stream], Stream]


def drop(index: int) -> Edit:
    return lambda s: s[:index] + s[index + 1 :]


def insert(index: int, chunk: Chunk) -> Edit:
    return lambda s: [*s[:index], chunk, *s[index:]]


def repeat(index: int) -> Edit:
    return lambda s: [*s[: index + 1], s[index], *s[index + 1 :]]


def replace(index: int, change: Callable[[Any], Chunk]) -> Edit:
    return lambda s: [*s[:index], change(s[index]), *s[index + 1 :]]


def move(source: int, target: int) -> Edit:
    """Move chunk ``source`` to land just before the chunk now at ``target``."""

    def edit(stream: Stream) -> Stream:
        rest = stream[:source] + stream[source + 1 :]
        at = target - (source < target)
        return [*rest[:at], stream[source], *rest[at:]]

    return edit


def payload(chunk: Any, **update: Any) -> Any:
    return chunk.model_copy(update={"payload": chunk.payload.model_copy(update=update)})


def inner_payload(chunk: Any, **update: Any) -> Any:
    return chunk.model_copy(update={"payload": chunk.payload.model_copy(update=update)})


# --- valid streams ---------------------------------------------------------------------------


def test_minimal_streams_of_each_kind_are_well_formed() -> None:
    for stream in (agent_stream(), workflow_stream(), network_stream()):
        assert check_well_formed(stream) == []
        assert_well_formed(stream)


@pytest.mark.parametrize(
    "stream",
    [
        # a model call failing before its first part: step-start, error, step-finish
        [start(), step_start(), agent_error(), *finished(Usage.zero, "error")],
        # a block closed before the error; a tool call left unanswered by the failed step
        [start(), step_start(), *text("t1", "a"), call(), agent_error(), *finished(U1, "error")],
        # an error between steps
        [start(), step_start(), step_finish(), agent_error(), finish()],
        # aborted: blocks closed, then abort last; the open step and the call are fine
        [start(), step_start(), call(), *text("t1", "a"), Abort(run_id=RUN)],
        [start(), Abort(run_id=RUN)],
        # the same block id reused after it closed; text and reasoning blocks interleaved
        [start(), step_start(), *text("t", "a"), *text("t", "b"), step_finish(), finish()],
        [
            start(),
            step_start(),
            text_start("t"),
            ReasoningStart(run_id=RUN, payload=TextBlockPayload(id="t")),
            delta("t"),
            ReasoningEnd(run_id=RUN, payload=TextBlockPayload(id="t")),
            text_end("t"),
            *finished(),
        ],
        # a tool-error answers a call; answers in another order than the calls
        [start(), step_start(), call("a"), call("b"), result("b"), tool_error("a"), *finished()],
    ],
    ids=[
        "error-step",
        "error-after-block",
        "error-between",
        "abort",
        "abort-at-once",
        "reuse",
        "interleaved",
        "tool-error",
    ],
)
def test_agent_streams_the_rules_allow(stream: Stream) -> None:
    assert check_well_formed(stream) == []


@pytest.mark.parametrize(
    "stream",
    [
        # parallel branches interleaved, no stepCallId: matched by id
        [
            wf_start(),
            wf_step("a"),
            wf_step("b"),
            wf_output("b"),
            wf_result("b"),
            wf_output("a"),
            wf_result("a"),
            wf_finish(),
        ],
        # a loop without stepCallId: one id, several executions
        [wf_start(), wf_step("l"), wf_result("l"), wf_step("l"), wf_result("l"), wf_finish()],
        # a nested workflow: dotted ids, the inner step's output names the inner step
        [
            wf_start(),
            wf_step("outer"),
            wf_step("outer.inner"),
            wf_output("inner"),
            wf_result("outer.inner"),
            wf_result("outer"),
            wf_finish(),
        ],
        # failed and suspended runs
        [wf_start(), wf_step("s"), wf_result("s", failed=True), wf_finish("failed")],
        [wf_start(), wf_step("s"), wf_suspended("s"), wf_finish("suspended")],
        # a canceled run may leave steps running
        [wf_start(), wf_step("s"), wf_finish("canceled")],
        # step output without a step name, while a step runs
        [wf_start(), wf_step("s"), wf_output(None), wf_result("s"), wf_finish()],
        # a foreach: progress per item between its start and its (thin) result
        [
            wf_start(),
            wf_step("each"),
            wf_progress("each", 0),
            wf_progress("each", 1),
            wf_result("each"),
            wf_finish(),
        ],
        # a sleep opens by waiting, then its result closes it
        [wf_start(), wf_waiting("sleep_wf_0"), wf_result("sleep_wf_0"), wf_finish()],
    ],
    ids=[
        "parallel",
        "loop",
        "nested",
        "failed",
        "suspended",
        "canceled",
        "unnamed-output",
        "foreach-progress",
        "sleep-waiting",
    ],
)
def test_workflow_streams_the_rules_allow(stream: Stream) -> None:
    assert check_well_formed(stream) == []


def sub_approval() -> Stream:
    """A sub-agent's run up to its own approval (carried), then the surfaced approval."""
    sub = NESTED
    inner_call = ToolCall(
        run_id=sub,
        payload=ToolCallPayload(tool_call_id="s1", tool_name="get_weather", args={"city": "Oslo"}),
    )
    inner_approval = approval("s1").model_copy(update={"run_id": sub})
    return [
        start(),
        step_start(),
        call("c1", "agent-research"),
        *(tool_output(c) for c in [start(sub), step_start(sub), inner_call, inner_approval]),
        approval("c1"),
    ]


def sub_resumed() -> Stream:
    sub = NESTED
    inner_result = result("s1").model_copy(update={"run_id": sub})
    carried = [inner_result, step_finish(U2, run=sub), finish(U2, run=sub)]
    return [
        *(tool_output(c) for c in carried),
        result("c1", "agent-research"),
        step_finish(U1),
        finish(U1 + U2),
    ]


def nested_two_levels() -> Stream:
    deepest = "run-1/c1/s1"
    inner_call = ToolCall(
        run_id=NESTED,
        payload=ToolCallPayload(tool_call_id="s1", tool_name="agent-deep", args={}),
    )
    inner_result = ToolResult(
        run_id=NESTED,
        payload=ToolResultPayload(tool_call_id="s1", tool_name="agent-deep", result="deep"),
    )

    def inner_output(chunk: Chunk) -> ToolOutput:
        payload = ToolOutputPayload(output=chunk, tool_call_id="s1", tool_name="agent-deep")
        return ToolOutput(run_id=NESTED, payload=payload)

    nested = [
        start(NESTED),
        step_start(NESTED),
        inner_call,
        *(inner_output(c) for c in nested_run(deepest, U1)),
        inner_result,
        step_finish(U2, "tool-calls", run=NESTED),
        step_start(NESTED),
        step_finish(U2, run=NESTED),
        finish(U1 + U2 + U2, run=NESTED),
    ]
    return [
        start(),
        step_start(),
        call("c1", "agent-research"),
        *(tool_output(c) for c in nested),
        result("c1", "agent-research"),
        step_finish(U1),
        finish(U1 + U1 + U2 + U2),
    ]


@pytest.mark.parametrize(
    "stream",
    [
        writer_stream(),
        # data chunks anywhere between start and the end, in a step or not
        [start(), data(), step_start(), data(), step_finish(), data(), finish()],
        # calls running at once: their outputs (and nested runs) interleave
        [
            start(),
            step_start(),
            call("c1", "agent-research"),
            call("c2", "agent-research"),
            tool_output(start(NESTED), "c1"),
            tool_output(start("run-1/c2"), "c2"),
            *(tool_output(c, "c2") for c in nested_run("run-1/c2")[1:]),
            result("c2", "agent-research"),
            *(tool_output(c, "c1") for c in nested_run()[1:]),
            result("c1", "agent-research"),
            step_finish(U1),
            finish(U1 + U2 + U2),
        ],
        # a nested run cut short: the outer run was aborted, or failed, or the call failed
        [
            start(),
            step_start(),
            call("c1", "agent-research"),
            *(tool_output(c) for c in nested_run()[:3]),
            Abort(run_id=RUN),
        ],
        [
            start(),
            step_start(),
            call("c1", "agent-research"),
            *(tool_output(c) for c in nested_run()[:3]),
            agent_error(),
            *finished(U1, "error"),
        ],
        [
            start(),
            step_start(),
            call("c1", "agent-research"),
            *(tool_output(c) for c in nested_run()[:5]),
            tool_error("c1").model_copy(
                update={"payload": payload(tool_error("c1"), tool_name="agent-research").payload}
            ),
            *finished(U1),
        ],
        # a nested run piped as text: the answer carries its usage
        [
            start(),
            step_start(),
            call("c1", "agent-research"),
            tool_output("Hel"),
            tool_output("lo"),
            result_with_usage(U2),
            step_finish(U1),
            finish(U1 + U2),
        ],
        # a resumed stream may open with what the resumed tool writes
        [tool_output({"pct": 1}), data(), result("c1", "agent-research"), *finished()],
        # paused, then resumed: the tool writes before its answer
        [
            start(),
            step_start(),
            call(),
            approval(),
            tool_output({"pct": 1}, name="get_weather"),
            result(),
            *finished(),
        ],
        # a sub-agent pauses: the supervisor pauses on its delegation; then both resume
        sub_approval(),
        sub_resumed(),
        [*sub_approval(), *sub_resumed()],
        nested_two_levels(),
        # a workflow used as a tool: its whole run carried in tool-output
        [
            start(),
            step_start(),
            call("c1", "workflow-w"),
            *(
                tool_output(c.model_copy(update={"run_id": "wf-run"}), name="workflow-w")
                for c in [wf_start(), wf_step("s"), wf_result("s"), wf_finish()]
            ),
            result("c1", "workflow-w"),
            *finished(),
        ],
    ],
    ids=[
        "writer",
        "data-anywhere",
        "interleaved-calls",
        "nested-cut-by-abort",
        "nested-cut-by-error",
        "nested-cut-by-tool-error",
        "piped-text-usage",
        "resumed-with-output",
        "paused-then-resumed-with-output",
        "sub-agent-paused",
        "sub-agent-resumed",
        "sub-agent-paused-and-resumed",
        "two-levels",
        "workflow-as-tool",
    ],
)
def test_streams_with_tool_output_the_rules_allow(stream: Stream) -> None:
    assert check_well_formed(stream) == []


def test_streams_with_tool_output_read_from_the_wire_are_well_formed() -> None:
    for stream in (writer_stream(), nested_two_levels(), [*sub_approval(), *sub_resumed()]):
        dicts = [c.model_dump(by_alias=True) for c in stream]
        assert check_well_formed(dicts) == []
        assert check_well_formed([json.dumps(d) for d in dicts]) == []


def test_data_chunks_read_from_the_wire_carry_no_run_id() -> None:
    wire = writer_stream()[4].model_dump(by_alias=True)
    assert wire == {"type": "data-progress", "data": {"pct": 5}}
    assert check_well_formed([start().model_dump(by_alias=True), wire, finish(Usage.zero)]) == []


def test_a_nested_workflow_run_is_checked_with_the_workflow_rules() -> None:
    carried = [wf_start("wf-run"), wf_step("s", run="wf-run"), wf_finish(run="wf-run")]
    stream = [
        start(),
        step_start(),
        call("c1", "workflow-w"),
        *(tool_output(c, name="workflow-w") for c in carried),
        result("c1", "workflow-w"),
        *finished(),
    ]
    (violation,) = check_well_formed(stream)
    assert violation.rule == Rule.INNER_STREAM
    assert violation.inner is not None
    assert violation.inner.rule == Rule.WORKFLOW_STEP_UNFINISHED


def test_a_nested_run_violation_names_the_run_and_the_inner_rule() -> None:
    stream = writer_stream()
    del stream[9]  # the nested text-end
    (violation,) = check_well_formed(stream)
    assert (violation.rule, violation.index) == (Rule.INNER_STREAM, 9)
    assert violation.inner is not None
    assert violation.inner.rule == Rule.BLOCK_UNCLOSED
    assert "'run-1/c1' of tool-call 'c1' (from chunk 5)" in violation.message


def test_network_stream_may_end_with_abort_inside_an_execution() -> None:
    inner = inner_agent()[:3]  # start, step-start, text-start: cut by the abort
    stream = [
        *routing("a1", "agent", 0),
        agent_execution_start(),
        *(wrap("agent-execution-event-", c) for c in inner),
        Abort(run_id=RUN),
    ]
    assert check_well_formed(stream) == []


def test_network_inner_agent_stream_may_end_with_an_error() -> None:
    inner = [start(INNER), step_start(INNER), agent_error(INNER)]
    stream = [
        agent_execution_start(),
        *(wrap("agent-execution-event-", c) for c in inner),
        agent_execution_end(),
        network_finish(),
    ]
    assert check_well_formed(stream) == []


def test_network_ignores_wrapped_chunks_of_other_prefixes() -> None:
    stream = [wrap("my-prefix-", delta()), network_finish()]
    assert check_well_formed(stream) == []


# --- every rule, broken once ------------------------------------------------------------------

AGENT_CASES: list[tuple[str, Edit, Rule, int]] = [
    ("pause on an unknown call", insert(6, approval("c9")), Rule.PAUSE_WITHOUT_CALL, 6),
    ("pause on an answered call", insert(7, approval()), Rule.PAUSE_WITHOUT_CALL, 7),
    ("pause in another step", insert(9, approval()), Rule.PAUSE_WITHOUT_CALL, 9),
    ("chunk after a pause", lambda s: [*s[:6], approval(), source(), *s[6:]], Rule.AFTER_PAUSE, 7),
    ("drop start", drop(0), Rule.START_FIRST, 0),
    ("second start", insert(1, start()), Rule.DUPLICATE_START, 1),
    ("drop finish", drop(16), Rule.MISSING_FINISH, 15),
    ("chunk after finish", insert(17, finish()), Rule.AFTER_FINISH, 17),
    (
        "chunk after abort",
        lambda s: [*s[:2], Abort(run_id=RUN), step_start()],
        Rule.AFTER_FINISH,
        3,
    ),
    (
        "other runId",
        replace(13, lambda c: c.model_copy(update={"run_id": "x"})),
        Rule.RUN_ID_MISMATCH,
        13,
    ),
    ("nested step", insert(2, step_start()), Rule.STEP_NESTED, 2),
    ("step-finish twice", repeat(7), Rule.STEP_NOT_OPEN, 8),
    ("finish before step-finish", move(16, 15), Rule.STEP_UNCLOSED, 15),
    ("text between steps", lambda s: [*s[:8], *text("tx", "a"), *s[8:]], Rule.OUTSIDE_STEP, 8),
    ("source between steps", insert(8, source()), Rule.OUTSIDE_STEP, 8),
    ("block opened twice", insert(13, text_start()), Rule.BLOCK_REOPENED, 13),
    (
        "delta with other id",
        replace(13, lambda c: payload(c, id="t9")),
        Rule.DELTA_OUTSIDE_BLOCK,
        13,
    ),
    ("delta after its end", move(13, 15), Rule.DELTA_OUTSIDE_BLOCK, 14),
    ("end twice", repeat(14), Rule.BLOCK_NOT_OPEN, 15),
    ("no text-end", drop(14), Rule.BLOCK_UNCLOSED, 14),
    ("open block at error", lambda s: [*s[:14], agent_error(), *s[14:]], Rule.BLOCK_UNCLOSED, 14),
    ("open block at abort", lambda s: [*s[:14], Abort(run_id=RUN)], Rule.BLOCK_UNCLOSED, 14),
    ("input started twice", repeat(2), Rule.TOOL_INPUT_REOPENED, 3),
    ("input after its call", insert(6, input_start()), Rule.TOOL_INPUT_REOPENED, 6),
    ("delta without input start", drop(2), Rule.TOOL_INPUT_NOT_OPEN, 2),
    ("call before input end", drop(4), Rule.TOOL_INPUT_UNCLOSED, 4),
    (
        "input stream open at abort",
        lambda s: [*s[:4], Abort(run_id=RUN)],
        Rule.TOOL_INPUT_UNCLOSED,
        4,
    ),
    ("streamed input, no call", drop(5), Rule.TOOL_INPUT_WITHOUT_CALL, 2),
    ("call twice", repeat(5), Rule.TOOL_CALL_DUPLICATE, 6),
    ("result without call", insert(7, result("c9")), Rule.TOOL_RESULT_WITHOUT_CALL, 7),
    ("result before call", move(6, 5), Rule.TOOL_RESULT_WITHOUT_CALL, 5),
    ("result in the next step", move(6, 9), Rule.TOOL_CALL_UNANSWERED, 5),
    ("result twice", repeat(6), Rule.TOOL_RESULT_DUPLICATE, 7),
    (
        "result names other tool",
        replace(6, lambda c: payload(c, tool_name="x")),
        Rule.TOOL_NAME_MISMATCH,
        6,
    ),
    ("no result", drop(6), Rule.TOOL_CALL_UNANSWERED, 5),
    ("wrong total", replace(16, lambda c: finish(U1)), Rule.USAGE_MISMATCH, 16),
    ("workflow chunk inside", insert(1, wf_start()), Rule.FOREIGN_CHUNK, 1),
]

WORKFLOW_CASES: list[tuple[str, Edit, Rule, int]] = [
    ("drop start", drop(0), Rule.START_FIRST, 0),
    ("second start", insert(1, wf_start()), Rule.DUPLICATE_START, 1),
    ("drop finish", drop(9), Rule.MISSING_FINISH, 8),
    ("chunk after finish", insert(10, wf_step("z")), Rule.AFTER_FINISH, 10),
    ("call id started twice", repeat(1), Rule.WORKFLOW_STEP_DUPLICATE, 2),
    ("result without start", drop(5), Rule.WORKFLOW_STEP_WITHOUT_START, 5),
    (
        "result with other id",
        replace(6, lambda c: payload(c, id="other")),
        Rule.WORKFLOW_STEP_ID_MISMATCH,
        6,
    ),
    ("no result", drop(4), Rule.WORKFLOW_STEP_UNFINISHED, 1),
    ("output after result", move(2, 5), Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP, 4),
    (
        "output of another step",
        replace(2, lambda c: payload(c, step_name="zz")),
        Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP,
        2,
    ),
    (
        "failed step, success",
        replace(4, lambda c: wf_result("s1", "c1", failed=True)),
        Rule.WORKFLOW_STATUS,
        9,
    ),
    (
        "suspended without step",
        replace(9, lambda c: wf_finish("suspended")),
        Rule.WORKFLOW_STATUS,
        9,
    ),
    ("agent chunk outside output", insert(1, delta()), Rule.FOREIGN_CHUNK, 1),
    (
        "progress after result",
        insert(5, wf_progress("s1")),
        Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP,
        5,
    ),
    (
        "progress of no step",
        insert(2, wf_progress("zz")),
        Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP,
        2,
    ),
    ("waiting never ends", insert(5, wf_waiting("nap")), Rule.WORKFLOW_STEP_UNFINISHED, 5),
]

WRITER_CASES: list[tuple[str, Edit, Rule, int]] = [
    (
        "output of an unknown call",
        replace(3, lambda c: payload(c, tool_call_id="c9")),
        Rule.TOOL_OUTPUT_OUTSIDE_CALL,
        3,
    ),
    ("output before its call", move(3, 2), Rule.TOOL_OUTPUT_OUTSIDE_CALL, 2),
    ("output after the answer", move(3, 13), Rule.TOOL_OUTPUT_OUTSIDE_CALL, 12),
    ("output between steps", insert(14, tool_output({"pct": 99})), Rule.OUTSIDE_STEP, 14),
    (
        "output names another tool",
        replace(3, lambda c: payload(c, tool_name="other")),
        Rule.TOOL_NAME_MISMATCH,
        3,
    ),
    (
        "another call's output after a pause",
        lambda s: [*s[:3], approval("c1"), tool_output({"pct": 1}, "c9")],
        Rule.AFTER_PAUSE,
        4,
    ),
    ("nested finish dropped", drop(11), Rule.INNER_STREAM, 10),
    ("nested start dropped", drop(5), Rule.INNER_STREAM, 5),
    ("nested usage left out", replace(19, lambda c: finish(U1 + U1)), Rule.USAGE_MISMATCH, 19),
    (
        "nested finish counted",
        replace(19, lambda c: finish(U1 + U1 + U2 + U2)),
        Rule.USAGE_MISMATCH,
        19,
    ),
    (
        "data chunk of another run",
        replace(4, lambda c: c.model_copy(update={"run_id": "x"})),
        Rule.RUN_ID_MISMATCH,
        4,
    ),
    ("data chunk after finish", insert(20, data()), Rule.AFTER_FINISH, 20),
]

NETWORK_CASES: list[tuple[str, Edit, Rule, int]] = [
    ("drop finish", drop(24), Rule.MISSING_FINISH, 23),
    ("chunk after finish", insert(25, network_finish()), Rule.AFTER_FINISH, 25),
    ("no agent-execution-end", drop(10), Rule.SPAN_INTERLEAVED, 10),
    ("no routing start", drop(0), Rule.SPAN_NOT_OPEN, 0),
    ("end of another span", insert(22, agent_execution_end()), Rule.SPAN_NOT_OPEN, 22),
    ("no tool-execution-end", drop(22), Rule.SPAN_UNCLOSED, 21),
    ("no agent-execution-start", drop(2), Rule.WRAPPED_OUTSIDE_EXECUTION, 2),
    (
        "agent chunk in workflow span",
        insert(16, wrap("agent-execution-event-", delta(run=INNER))),
        Rule.WRAPPED_OUTSIDE_EXECUTION,
        16,
    ),
    ("inner runId", replace(6, lambda c: inner_payload(c, run_id="x")), Rule.INNER_RUN_ID, 6),
    ("inner stream broken", drop(7), Rule.INNER_STREAM, 7),
    ("inner workflow broken", drop(19), Rule.INNER_STREAM, 18),
    ("bare agent chunk", insert(1, delta()), Rule.FOREIGN_CHUNK, 1),
]

CASES = [
    *(("agent", *case) for case in AGENT_CASES),
    *(("writer", *case) for case in WRITER_CASES),
    *(("workflow", *case) for case in WORKFLOW_CASES),
    *(("network", *case) for case in NETWORK_CASES),
]
BUILDERS = {
    "agent": agent_stream,
    "writer": writer_stream,
    "workflow": workflow_stream,
    "network": network_stream,
}


@pytest.mark.parametrize(
    ("kind", "name", "edit", "rule", "index"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES]
)
def test_each_breakage_names_its_rule_and_the_offending_chunk(
    kind: str, name: str, edit: Edit, rule: Rule, index: int
) -> None:
    stream = edit(BUILDERS[kind]())
    violations = check_well_formed(stream)
    assert violations, f"{name}: no violation"
    assert (violations[0].rule, violations[0].index) == (rule, index), violations
    with pytest.raises(WellFormednessError) as info:
        assert_well_formed(stream)
    assert (info.value.rule, info.value.index) == (rule, index)
    assert rule in str(info.value)
    assert f"chunk {index}" in str(info.value)


def test_every_rule_has_a_unit_case() -> None:
    covered = {case[3] for case in CASES} | {Rule.INVALID_CHUNK, Rule.EMPTY_STREAM}
    assert covered == set(RULES)


def test_rules_lists_every_rule_with_a_description() -> None:
    assert list(RULES) == list(Rule)
    assert all(rule == rule.value for rule in Rule)
    assert all(description for description in RULES.values())


# --- the API -------------------------------------------------------------------------------


def test_error_is_a_malformed_stream_error_and_an_assertion_error() -> None:
    with pytest.raises(WellFormednessError) as info:
        assert_well_formed(agent_stream()[:-1])
    error = info.value
    assert isinstance(error, MalformedStreamError)
    assert isinstance(error, AssertionError)
    assert isinstance(error, RxAgentsError)
    assert error.violations == (Violation(Rule.MISSING_FINISH, 15, error.violations[0].message),)
    assert "missing-finish at chunk 15" in str(error)


def test_error_message_counts_the_other_violations() -> None:
    stream = [start(), delta(), delta()]
    with pytest.raises(WellFormednessError, match=r"and 4 more") as info:
        assert_well_formed(stream)
    assert [v.rule for v in info.value.violations] == [
        Rule.OUTSIDE_STEP,
        Rule.DELTA_OUTSIDE_BLOCK,
        Rule.OUTSIDE_STEP,
        Rule.DELTA_OUTSIDE_BLOCK,
        Rule.MISSING_FINISH,
    ]


def test_wire_dicts_and_json_are_parsed() -> None:
    stream = agent_stream()
    dicts = [c.model_dump(by_alias=True) for c in stream]
    texts = [json.dumps(d) for d in dicts]
    assert check_well_formed(dicts) == []
    assert check_well_formed(texts) == []
    assert check_well_formed(iter(dicts)) == []


def test_unparseable_items_are_violations_and_skipped() -> None:
    dicts: list[Any] = [c.model_dump(by_alias=True) for c in agent_stream()]
    dicts.insert(3, {"type": "nope", "runId": RUN, "from": "AGENT", "payload": {}})
    violations = check_well_formed(dicts)
    assert [(v.rule, v.index) for v in violations] == [(Rule.INVALID_CHUNK, 3)]
    assert "nope" in violations[0].message


def test_empty_stream() -> None:
    assert check_well_formed([]) == [Violation(Rule.EMPTY_STREAM, 0, "the stream has no chunks")]
    with pytest.raises(WellFormednessError):
        assert_well_formed([])


def test_kind_is_detected_from_the_first_chunk_or_forced() -> None:
    agent = agent_stream()
    assert check_well_formed(agent, "agent") == []
    assert check_well_formed(workflow_stream(), "workflow") == []
    assert check_well_formed(network_stream(), "network") == []
    forced = check_well_formed(agent, "workflow")
    assert forced[0].rule == Rule.START_FIRST
    assert check_well_formed([wrap("agent-execution-event-", start()), network_finish()]) != []


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="kind"):
        check_well_formed(agent_stream(), "chat")  # type: ignore[arg-type]


def test_inner_violations_carry_the_inner_rule() -> None:
    stream = drop(7)(network_stream())
    (violation,) = check_well_formed(stream)
    assert violation.rule == Rule.INNER_STREAM
    assert violation.inner is not None
    assert violation.inner.rule == Rule.BLOCK_UNCLOSED
    assert "agent-execution at chunk 2" in violation.message


# --- marble helpers ----------------------------------------------------------------------------


def test_chunk_records_times_values_and_completion() -> None:
    records = chunk_records(["a", "b"], start=5, interval=3)
    assert [r.time for r in records] == [5, 8, 11]
    assert str(records[-1]) == "OnCompleted()@11"
    assert len(chunk_records(["a"], complete=False)) == 1
    error = ValueError("x")
    assert str(chunk_records([], error=error)[-1]) == "OnError(x)@10"


def test_run_marbles_records_output_and_the_source_subscription() -> None:
    chunks = agent_stream()
    result = run_marbles(ops.filter(lambda c: c.type == "text-delta"), chunk_records(chunks))
    assert [c.payload.text for c in result.values] == ["Hi"]
    assert result.times == [200 + 10 * 14]
    assert result.completed
    assert result.error is None
    assert [(s.subscribe, s.unsubscribe) for s in result.subscriptions] == [(200, 200 + 180)]


def test_run_marbles_shows_early_unsubscription_and_errors() -> None:
    taken = run_marbles(ops.take(2), chunk_records(range(5)))
    assert taken.values == [0, 1]
    assert [(s.subscribe, s.unsubscribe) for s in taken.subscriptions] == [(200, 220)]
    boom = ValueError("boom")
    failed = run_marbles(ops.map(lambda x: x), chunk_records([1], error=boom))
    assert failed.error is boom
    assert not failed.completed


def test_run_marbles_hot_source_uses_absolute_ticks() -> None:
    result = run_marbles(
        ops.map(lambda x: x), chunk_records(["early", "late"], start=150, interval=100), hot=True
    )
    assert result.values == ["late"]
    assert result.times == [250]


def test_well_formedness_holds_through_a_pipeline_in_virtual_time() -> None:
    result = run_marbles(ops.map(lambda c: c), chunk_records(agent_stream()))
    assert_well_formed(result.values)


def test_paused_and_resumed_streams_are_well_formed() -> None:
    stream = agent_stream()
    paused = [*stream[:6], approval()]
    assert check_well_formed(paused) == []
    assert check_well_formed(stream[6:]) == []  # the resumed stream: no start
    assert check_well_formed([*paused, *stream[6:]]) == []
