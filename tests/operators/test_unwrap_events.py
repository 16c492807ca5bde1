from __future__ import annotations

from typing import Any

import pytest
import reactivex
from hypothesis import given
from hypothesis import strategies as st
from reactivex.testing import ReactiveTest, TestScheduler

from rxagents.errors import InvalidInputError
from rxagents.events import (
    AgentExecutionStart,
    AgentExecutionStartPayload,
    Chunk,
    RoutingAgentEnd,
    RoutingAgentEndPayload,
    StepFinish,
    StepFinishPayload,
    StepOutput,
    StepResult,
    TextDelta,
    TextDeltaPayload,
    WorkflowStart,
    WorkflowStartPayload,
    WrappedChunk,
)
from rxagents.operators import prefix_events, unwrap_events
from rxagents.usage import Usage

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe

AGENT = "agent-execution-event-"
WORKFLOW = "workflow-execution-event-"


def delta(text: str, run_id: str = "sub-1") -> TextDelta:
    return TextDelta(run_id=run_id, payload=TextDeltaPayload(id="t1", text=text))


def step_finish(inp: int, out: int, run_id: str = "sub-1") -> StepFinish:
    return StepFinish(
        run_id=run_id,
        payload=StepFinishPayload(
            step_result=StepResult(reason="stop"),
            output=StepOutput(text="", usage=Usage(input_tokens=inp, output_tokens=out)),
        ),
    )


def wrap(inner: Chunk, prefix: str = AGENT, run_id: str = "net-1") -> WrappedChunk:
    return WrappedChunk(type=prefix + inner.type, run_id=run_id, from_="NETWORK", payload=inner)


def execution_start() -> AgentExecutionStart:
    return AgentExecutionStart(
        run_id="net-1",
        payload=AgentExecutionStartPayload(agent_id="writer", args="go", run_id="sub-1"),
    )


def routing_end() -> RoutingAgentEnd:
    return RoutingAgentEnd(
        run_id="net-1",
        payload=RoutingAgentEndPayload(primitive_id="writer", primitive_type="agent"),
    )


def collect(chunks: list[Any], *operators: Any) -> list[Any]:
    out: list[Any] = []
    reactivex.from_iterable(chunks).pipe(*operators).subscribe(out.append)
    return out


def test_unwrap_events_emits_inner_chunks_and_drops_the_rest() -> None:
    scheduler = TestScheduler()
    inner = delta("Hi")
    workflow_inner = WorkflowStart(run_id="wf", payload=WorkflowStartPayload(workflow_id="w"))
    xs = scheduler.create_hot_observable(
        on_next(210, execution_start()),
        on_next(220, wrap(inner)),
        on_next(230, wrap(workflow_inner, WORKFLOW)),
        on_next(240, routing_end()),
        on_next(250, wrap(step_finish(1, 2))),
        on_completed(300),
    )

    results = scheduler.start(lambda: xs.pipe(unwrap_events(AGENT)))

    assert results.messages == [
        on_next(220, inner),
        on_next(250, step_finish(1, 2)),
        on_completed(300),
    ]
    assert xs.subscriptions == [subscribe(200, 300)]


def test_unwrap_events_forwards_errors() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    xs = scheduler.create_hot_observable(on_next(210, wrap(delta("a"))), on_error(220, boom))

    results = scheduler.start(lambda: xs.pipe(unwrap_events(AGENT)))

    assert results.messages == [on_next(210, delta("a")), on_error(220, boom)]
    assert xs.subscriptions == [subscribe(200, 220)]


def test_unwrap_events_disposal_reaches_the_source() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, wrap(delta("a"))))

    results = scheduler.start(lambda: xs.pipe(unwrap_events(AGENT)))

    assert results.messages == [on_next(210, delta("a"))]
    assert xs.subscriptions == [subscribe(200, 1000)]


def test_unwrap_events_removes_one_level_of_wrapping() -> None:
    inner = delta("a")
    once = wrap(inner, AGENT)
    twice = wrap(once, WORKFLOW)

    assert collect([twice], unwrap_events(WORKFLOW)) == [once]
    assert collect([twice], unwrap_events(WORKFLOW), unwrap_events(AGENT)) == [inner]
    assert collect([twice], unwrap_events(AGENT)) == []


def test_unwrap_events_matches_within_the_wrappers_own_prefix_only() -> None:
    wrapped = wrap(delta("a"))

    assert collect([wrapped, execution_start()], unwrap_events("agent-execution-")) == [delta("a")]
    # the type starts with this, but the prefix runs into the inner type
    assert collect([wrapped], unwrap_events("agent-execution-event-text-")) == []


def test_unwrap_events_round_trips_prefix_events() -> None:
    chunks: list[Chunk] = [delta("a", run_id="x"), step_finish(15, 5), routing_end()]

    out = collect(chunks, prefix_events(AGENT, run_id="net-1"), unwrap_events(AGENT))

    assert out == chunks
    assert all(a is b for a, b in zip(out, chunks, strict=True))


@pytest.mark.parametrize("prefix", ["", None, 1])
def test_unwrap_events_rejects_bad_prefixes(prefix: Any) -> None:
    with pytest.raises(InvalidInputError, match="prefix"):
        unwrap_events(prefix)


chunks = st.lists(
    st.one_of(
        st.builds(delta, st.text(max_size=5), st.sampled_from(["a", "b"])),
        st.builds(step_finish, st.integers(0, 99), st.integers(0, 99)),
        st.builds(execution_start),
        st.builds(routing_end),
    ),
    max_size=12,
)
prefixes = st.sampled_from([AGENT, WORKFLOW, "p-", "agent-"])


@given(chunks=chunks, prefix=prefixes, run_id=st.one_of(st.none(), st.just("net-9")))
def test_unwrap_after_prefix_is_identity(
    chunks: list[Chunk], prefix: str, run_id: str | None
) -> None:
    assert collect(chunks, prefix_events(prefix, run_id=run_id), unwrap_events(prefix)) == chunks


@given(chunks=chunks, prefix=prefixes)
def test_unwrap_events_drops_unwrapped_streams_entirely(chunks: list[Chunk], prefix: str) -> None:
    assert collect(chunks, unwrap_events(prefix)) == []
