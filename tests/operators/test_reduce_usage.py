from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import MISSING
from reactivex.testing import ReactiveTest, TestScheduler

from rxagents.agent import Agent, ToolContext, tool
from rxagents.events import (
    AgentExecutionEnd,
    AgentExecutionEndPayload,
    Chunk,
    ChunkBase,
    DataChunk,
    Finish,
    NetworkFinish,
    NetworkFinishPayload,
    NetworkValidationEnd,
    NetworkValidationEndPayload,
    RoutingAgentEnd,
    RoutingAgentEndPayload,
    StepFinish,
    StepFinishPayload,
    StepOutput,
    StepResult,
    TextDelta,
    TextDeltaPayload,
    ToolError,
    ToolOutput,
    ToolResult,
    WorkflowExecutionEnd,
    WorkflowExecutionEndPayload,
    WorkflowFinish,
    WorkflowFinishOutput,
    WorkflowFinishPayload,
    WorkflowStepOutput,
    WorkflowStepOutputPayload,
    WrappedChunk,
    parse_chunk,
)
from rxagents.models import ScriptedModel
from rxagents.operators import prefix_events, reduce_usage, unwrap_tool_output, usage_of
from rxagents.testing import assert_well_formed, strategies
from rxagents.testing.strategies import agent_chunk_streams
from rxagents.usage import Usage

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe

AGENT = "agent-execution-event-"
WORKFLOW = "workflow-execution-event-"


def usage(inp: int, out: int, **extra: Any) -> Usage:
    return Usage(input_tokens=inp, output_tokens=out, **extra)


def step_payload(u: Usage) -> StepFinishPayload:
    return StepFinishPayload(
        step_result=StepResult(reason="stop"), output=StepOutput(text="", usage=u)
    )


def step_finish(u: Usage, run_id: str = "sub-1") -> StepFinish:
    return StepFinish(run_id=run_id, payload=step_payload(u))


def finish(u: Usage, run_id: str = "sub-1") -> Finish:
    return Finish(run_id=run_id, payload=step_payload(u))


def delta(text: str = "x") -> TextDelta:
    return TextDelta(run_id="sub-1", payload=TextDeltaPayload(id="t", text=text))


def wrap(inner: Chunk, prefix: str = AGENT) -> WrappedChunk:
    return WrappedChunk(type=prefix + inner.type, run_id="net-1", from_="NETWORK", payload=inner)


def step_output(output: Any) -> WorkflowStepOutput:
    return WorkflowStepOutput(
        run_id="wf-1",
        payload=WorkflowStepOutputPayload(step_name="write", run_id="wf-1", output=output),
    )


def routing_end(u: Usage | None) -> RoutingAgentEnd:
    payload = RoutingAgentEndPayload(primitive_id="writer", primitive_type="agent")
    if u is not None:
        payload = RoutingAgentEndPayload(primitive_id="writer", primitive_type="agent", usage=u)
    return RoutingAgentEnd(run_id="net-1", payload=payload)


def validation_end(u: Usage | None) -> NetworkValidationEnd:
    payload = NetworkValidationEndPayload(passed=True)
    if u is not None:
        payload = NetworkValidationEndPayload(passed=True, usage=u)
    return NetworkValidationEnd(run_id="net-1", payload=payload)


def collect(chunks: list[Any], *operators: Any) -> list[Any]:
    out: list[Any] = []
    reactivex.from_iterable(chunks).pipe(*operators).subscribe(out.append)
    return out


def total(chunks: list[Any]) -> Usage:
    [result] = collect(chunks, reduce_usage())
    assert isinstance(result, Usage)
    return result


def test_reduce_usage_emits_the_sum_on_completion_and_ignores_finish() -> None:
    # Mastra's agent-with-tool trace: steps of 15/5 and 30/8, finish total 45/13
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, delta("a")),
        on_next(220, step_finish(usage(15, 5))),
        on_next(230, step_finish(usage(30, 8))),
        on_next(240, finish(usage(45, 13))),
        on_completed(250),
    )

    results = scheduler.start(lambda: xs.pipe(reduce_usage()))

    assert results.messages == [on_next(250, usage(45, 13)), on_completed(250)]
    assert total([step_finish(usage(15, 5)), step_finish(usage(30, 8))]).total_tokens == 58
    assert xs.subscriptions == [subscribe(200, 250)]


def test_reduce_usage_of_an_empty_stream_is_zero() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_completed(250))

    results = scheduler.start(lambda: xs.pipe(reduce_usage()))

    assert results.messages == [on_next(250, Usage.zero), on_completed(250)]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_reduce_usage_forwards_errors_without_a_total() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    xs = scheduler.create_hot_observable(
        on_next(210, step_finish(usage(1, 1))), on_error(220, boom)
    )

    results = scheduler.start(lambda: xs.pipe(reduce_usage()))

    assert results.messages == [on_error(220, boom)]
    assert xs.subscriptions == [subscribe(200, 220)]


def test_reduce_usage_disposal_reaches_the_source() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, step_finish(usage(1, 1))))

    results = scheduler.start(lambda: xs.pipe(reduce_usage()), disposed=500)

    assert results.messages == []
    assert xs.subscriptions == [subscribe(200, 500)]


def test_reduce_usage_counts_a_network_run_once_per_model_call() -> None:
    chunks: list[Chunk] = [
        routing_end(usage(10, 2)),
        wrap(delta("Hi")),
        wrap(step_finish(usage(15, 5))),
        wrap(finish(usage(15, 5))),
        AgentExecutionEnd(
            run_id="net-1",
            payload=AgentExecutionEndPayload(agent_id="writer", usage=usage(15, 5)),
        ),
        validation_end(usage(3, 1)),
        routing_end(None),
        validation_end(None),
        NetworkFinish(run_id="net-1", payload=NetworkFinishPayload(task="t", usage=usage(28, 8))),
    ]

    assert total(chunks) == usage(28, 8)


def test_reduce_usage_counts_agents_inside_workflow_steps_once() -> None:
    chunks: list[Chunk] = [
        step_output(step_finish(usage(7, 3))),
        step_output(finish(usage(7, 3))),
        step_output(wrap(step_finish(usage(2, 1)))),
        step_output({"usage": {"inputTokens": 99, "outputTokens": 99}}),
        step_output("plain text"),
        WorkflowFinish(
            run_id="wf-1",
            payload=WorkflowFinishPayload(
                workflow_status="success", output=WorkflowFinishOutput(usage=usage(9, 4))
            ),
        ),
    ]

    assert total(chunks) == usage(9, 4)


def test_reduce_usage_counts_a_workflow_inside_a_network_once() -> None:
    inner_step = step_output(step_finish(usage(4, 4)))
    chunks: list[Chunk] = [
        wrap(inner_step, WORKFLOW),
        wrap(wrap(wrap(step_finish(usage(1, 2))), WORKFLOW), AGENT),
        WorkflowExecutionEnd(
            run_id="net-1", payload=WorkflowExecutionEndPayload(name="w", usage=usage(5, 6))
        ),
    ]

    assert total(chunks) == usage(5, 6)


def test_reduce_usage_counts_parsed_wire_chunks() -> None:
    wire = {
        "type": "workflow-execution-event-workflow-step-output",
        "runId": "net-1",
        "from": "NETWORK",
        "payload": {
            "type": "workflow-step-output",
            "runId": "wf-1",
            "from": "USER",
            "payload": {
                "stepName": "write",
                "output": {
                    "type": "step-finish",
                    "runId": "sub-1",
                    "from": "AGENT",
                    "payload": {
                        "stepResult": {"reason": "stop"},
                        "output": {"usage": {"inputTokens": 15, "outputTokens": 5}},
                    },
                },
            },
        },
    }

    assert total([parse_chunk(wire)]) == usage(15, 5)


def test_reduce_usage_sums_optional_counters() -> None:
    chunks = [
        step_finish(usage(1, 1, reasoning_tokens=3)),
        step_finish(usage(1, 1, cached_input_tokens=2)),
        step_finish(usage(1, 1)),
    ]

    assert total(chunks) == usage(3, 3, reasoning_tokens=3, cached_input_tokens=2)


def test_usage_of_ignores_aggregates_and_absent_usage() -> None:
    assert usage_of(finish(usage(1, 1))) is None
    assert usage_of(routing_end(None)) is None
    assert usage_of(validation_end(None)) is None
    assert usage_of(delta()) is None
    assert usage_of(step_output(None)) is None
    assert usage_of(step_finish(usage(2, 3))) == usage(2, 3)
    assert usage_of(routing_end(usage(4, 1))) == usage(4, 1)
    assert usage_of(validation_end(usage(1, 0))) == usage(1, 0)


def test_usage_of_handles_subclasses_and_non_chunks() -> None:
    class CustomStepFinish(StepFinish):
        pass

    custom = CustomStepFinish(run_id="r", payload=step_payload(usage(5, 5)))

    assert usage_of(custom) == usage(5, 5)
    assert usage_of(custom) == usage(5, 5)
    assert usage_of("not a chunk") is None  # type: ignore[arg-type]  # robustness under test


def test_reduce_usage_keeps_state_per_subscription() -> None:
    source = reactivex.of(step_finish(usage(1, 1)), step_finish(usage(2, 2))).pipe(reduce_usage())
    results: list[Usage] = []

    source.subscribe(results.append)
    source.subscribe(results.append)

    assert results == [usage(3, 3), usage(3, 3)]


# --- properties ----------------------------------------------------------------------------

usages = st.builds(
    usage,
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    reasoning_tokens=st.integers(0, 100),
)


def nest(u: Usage, depth: int, kinds: list[int]) -> Chunk:
    chunk: Chunk = step_finish(u)
    for kind in kinds[:depth]:
        chunk = step_output(chunk) if kind == 0 else wrap(chunk, AGENT if kind == 1 else WORKFLOW)
    return chunk


per_call = st.one_of(
    st.builds(nest, usages, st.integers(0, 3), st.lists(st.integers(0, 2), max_size=3)),
    st.builds(routing_end, usages),
    st.builds(validation_end, usages),
)


def plain_sum(chunks: Sequence[ChunkBase]) -> Usage:
    result = Usage.zero
    for chunk in chunks:
        u = usage_of(chunk)
        if u is not None:
            result = result + u
    return result


@given(
    calls=st.lists(per_call, max_size=12),
    noise=st.lists(st.builds(delta), max_size=5),
    data=st.data(),
)
def test_reduce_usage_equals_the_plain_sum_however_the_stream_is_ordered_and_split(
    calls: list[Chunk], noise: list[Chunk], data: st.DataObject
) -> None:
    chunks = data.draw(st.permutations([*calls, *noise]))
    cut = data.draw(st.integers(0, len(chunks)))
    expected = plain_sum(calls)

    whole = total(chunks)
    left, right = total(chunks[:cut]), total(chunks[cut:])
    [merged] = collect(
        [], lambda _: reactivex.merge(*(reactivex.of(c) for c in chunks)).pipe(reduce_usage())
    )

    assert whole.counters() == expected.counters()
    assert (left + right).counters() == expected.counters()
    assert merged.counters() == expected.counters()


@given(calls=st.lists(st.builds(step_finish, usages), max_size=8))
def test_reduce_usage_is_unchanged_by_prefixing(calls: list[StepFinish]) -> None:
    wrapped = collect(calls, prefix_events(AGENT), prefix_events(WORKFLOW))

    assert total(wrapped).counters() == total(calls).counters()
    assert (
        total(calls).counters()
        == sum((step.payload.output.usage for step in calls), Usage.zero).counters()
    )


# --- nested runs: tools that pipe agents, sub-agents --------------------------------------------

WRITING = agent_chunk_streams(
    include_tool_output=True,
    sub_agents=("research",),
    max_depth=2,
    include_errors=True,
    include_aborts=True,
    include_pauses=True,
)


def model_calls(chunks: Sequence[Any]) -> list[Usage]:
    """Every model call in the stream, found by walking it: the oracle for ``reduce_usage``.

    A step-finish is one call, wherever it is carried; a tool's answer with ``usage`` stands for
    the calls of a run piped as text; nothing else (a ``finish`` total) is a call.
    """
    found: list[Usage] = []
    for chunk in chunks:
        if isinstance(chunk, StepFinish):
            found.append(chunk.payload.output.usage)
        elif isinstance(chunk, ToolOutput) and isinstance(chunk.payload.output, ChunkBase):
            found.extend(model_calls([chunk.payload.output]))
        elif isinstance(chunk, ToolResult | ToolError) and chunk.payload.usage is not MISSING:
            found.append(chunk.payload.usage)
    return found


def carried(chunks: Sequence[Any]) -> list[Any]:
    """Every chunk carried in tool-output, at any depth."""
    found: list[Any] = []
    for chunk in chunks:
        if isinstance(chunk, ToolOutput) and isinstance(chunk.payload.output, ChunkBase):
            found.append(chunk.payload.output)
            found.extend(carried([chunk.payload.output]))
    return found


def without_nested(chunks: Sequence[Any], kind: type) -> list[Any]:
    """The stream without the carried chunks of ``kind``, at any depth."""
    kept: list[Any] = []
    for chunk in chunks:
        if isinstance(chunk, ToolOutput) and isinstance(chunk.payload.output, ChunkBase):
            inner = chunk.payload.output
            if isinstance(inner, kind):
                continue
            if isinstance(inner, ToolOutput):
                (inner,) = without_nested([inner], kind) or [None]
                if inner is None:
                    continue
                chunk = chunk.model_copy(
                    update={"payload": chunk.payload.model_copy(update={"output": inner})}
                )
        kept.append(chunk)
    return kept


@given(WRITING)
def test_reduce_usage_counts_every_model_call_once_nested_included(stream: list[Any]) -> None:
    calls = model_calls(stream)

    assert total(stream).counters() == sum(calls, Usage.zero).counters()
    if isinstance(stream[-1], Finish):  # the generator sums the scripted calls bottom-up
        assert total(stream).counters() == stream[-1].payload.output.usage.counters()


@given(WRITING)
def test_nested_finish_totals_are_never_added(stream: list[Any]) -> None:
    assert total(without_nested(stream, Finish)) == total(stream)
    nested_steps = sum(
        (c.payload.output.usage for c in carried(stream) if isinstance(c, StepFinish)), Usage.zero
    )
    assert (total(without_nested(stream, StepFinish)) + nested_steps).counters() == total(
        stream
    ).counters()


@given(WRITING)
def test_usage_of_follows_the_nested_accounting_rule(stream: list[Any]) -> None:
    for chunk in stream:
        found = usage_of(chunk)
        if isinstance(chunk, ToolOutput):
            inner = chunk.payload.output
            if isinstance(inner, Finish):
                assert found is None  # a nested run's total
            elif isinstance(inner, StepFinish):
                assert found == inner.payload.output.usage  # a nested model call
            elif not isinstance(inner, ChunkBase):
                assert found is None  # a written value, a piped text delta
        elif isinstance(chunk, ToolResult | ToolError):
            usage = chunk.payload.usage
            assert found == (None if usage is MISSING else usage)
        elif isinstance(chunk, Finish | DataChunk):
            assert found is None


@given(agent_chunk_streams(sub_agents=("research",), tools=("lookup",), max_depth=2))
def test_a_sub_agent_run_unwrapped_sums_to_its_own_total(stream: list[Any]) -> None:
    for answer in stream:
        if isinstance(answer, ToolResult) and answer.payload.tool_name == "agent-research":
            call_id = answer.payload.tool_call_id
            sub_run: list[Any] = []
            reactivex.from_iterable(stream).pipe(
                unwrap_tool_output(tool_call_id=call_id)
            ).subscribe(sub_run.append)
            assert isinstance(sub_run[-1], Finish)
            assert total(sub_run).counters() == sub_run[-1].payload.output.usage.counters()


# --- the same on real runs: a tool that pipes a nested agent ------------------------------------

PIPES = ("pipe", "pipe_text", "observer")


def text_step(text: str, usage: Usage) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": text},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop", "usage": usage.model_dump(by_alias=True)},
    ]


def call_step(tool: str, usage: Usage) -> list[dict[str, Any]]:
    return [
        {"type": "tool-call", "toolCallId": f"call-{tool}", "toolName": tool, "input": "{}"},
        {"type": "finish", "finishReason": "tool-calls", "usage": usage.model_dump(by_alias=True)},
    ]


def piping_agent(
    name: str, calls: list[Usage], how: str, fails: bool, inner: Callable[[], Agent] | None
) -> Agent:
    """An agent whose model calls ``delegate`` (when there is an inner agent), then answers.

    ``delegate`` runs the inner agent and forwards its stream the way ``how`` says; with
    ``fails`` it raises once the inner run is over (a ``tool-error``, the run goes on).
    """

    @tool(description="Ask the inner agent.")
    async def delegate(ctx: ToolContext) -> str:
        assert inner is not None
        nested = await inner().stream("go")
        if how == "pipe":
            await ctx.writer.pipe(nested)
        elif how == "pipe_text":
            await ctx.writer.pipe_text(nested)
        else:
            nested.observable.subscribe(ctx.writer)
        text = await nested.text
        if fails:
            raise ValueError("the inner agent's answer is no good")
        return text

    if inner is None:
        script = [text_step(name, calls[0])]
    else:
        script = [call_step("delegate", calls[0]), text_step(name, calls[1])]
    tools = [delegate] if inner is not None else []
    return Agent(name, model=ScriptedModel(script), tools=tools)


real_usages = strategies.usages(max_tokens=1_000, optional_counters=False)


@settings(max_examples=max(10, settings().max_examples // 4))
@given(
    levels=st.lists(
        st.tuples(
            st.lists(real_usages, min_size=2, max_size=2), st.sampled_from(PIPES), st.booleans()
        ),
        min_size=1,
        max_size=3,
    )
)
async def test_a_run_with_nested_agents_counts_every_model_call_once(
    levels: list[tuple[list[Usage], str, bool]],
) -> None:
    def build(depth: int) -> Agent:
        calls, how, fails = levels[depth]
        inner = (lambda: build(depth + 1)) if depth + 1 < len(levels) else None
        return piping_agent(f"level-{depth}", calls, how, fails, inner)

    expected = Usage.zero
    for depth, (calls, _, _) in enumerate(levels):
        expected = expected + calls[0] + (calls[1] if depth + 1 < len(levels) else Usage.zero)

    stream = await build(0).stream("go")
    chunks = [chunk async for chunk in stream]

    assert_well_formed(chunks)
    assert (await stream.usage).counters() == expected.counters()
    assert total(chunks).counters() == expected.counters()
    assert sum(model_calls(chunks), Usage.zero).counters() == expected.counters()
    finish = chunks[-1]
    assert isinstance(finish, Finish)
    assert finish.payload.output.usage.counters() == expected.counters()
    answers = [c for c in chunks if isinstance(c, ToolResult | ToolError)]
    if len(levels) > 1:
        assert isinstance(answers[0], ToolError) == levels[0][2]
