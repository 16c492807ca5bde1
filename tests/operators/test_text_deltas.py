from __future__ import annotations

from typing import Any

import reactivex
from hypothesis import given
from hypothesis import strategies as st
from reactivex.testing import ReactiveTest, TestScheduler

from rxagents.events import (
    Chunk,
    ReasoningDelta,
    ReasoningDeltaPayload,
    RoutingAgentTextDelta,
    RoutingAgentTextDeltaPayload,
    TextBlockPayload,
    TextDelta,
    TextDeltaPayload,
    TextEnd,
    WorkflowStepOutput,
    WorkflowStepOutputPayload,
    WrappedChunk,
)
from rxagents.operators import text_deltas

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


def delta(text: str) -> TextDelta:
    return TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text=text))


def wrap(inner: Chunk, prefix: str = "agent-execution-event-") -> WrappedChunk:
    return WrappedChunk(type=prefix + inner.type, run_id="n", from_="NETWORK", payload=inner)


def step_output(output: Any) -> WorkflowStepOutput:
    return WorkflowStepOutput(
        run_id="wf", payload=WorkflowStepOutputPayload(step_name="s", output=output)
    )


def collect(chunks: list[Any], *operators: Any) -> list[Any]:
    out: list[Any] = []
    reactivex.from_iterable(chunks).pipe(*operators).subscribe(out.append)
    return out


def test_text_deltas_emits_the_text_of_text_deltas_only() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, delta("He")),
        on_next(220, TextEnd(run_id="r", payload=TextBlockPayload(id="t"))),
        on_next(230, delta("llo")),
        on_next(240, wrap(delta("wrapped"))),
        on_completed(250),
    )

    results = scheduler.start(lambda: xs.pipe(text_deltas()))

    assert results.messages == [on_next(210, "He"), on_next(230, "llo"), on_completed(250)]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_text_deltas_forwards_errors() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    xs = scheduler.create_hot_observable(on_next(210, delta("a")), on_error(220, boom))

    results = scheduler.start(lambda: xs.pipe(text_deltas()))

    assert results.messages == [on_next(210, "a"), on_error(220, boom)]
    assert xs.subscriptions == [subscribe(200, 220)]


def test_text_deltas_disposal_reaches_the_source() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, delta("a")), on_next(600, delta("b")))

    results = scheduler.start(lambda: xs.pipe(text_deltas(include_wrapped=True)), disposed=500)

    assert results.messages == [on_next(210, "a")]
    assert xs.subscriptions == [subscribe(200, 500)]


def test_text_deltas_include_wrapped_reaches_any_depth() -> None:
    chunks: list[Any] = [
        delta("a"),
        wrap(delta("b")),
        wrap(wrap(delta("c")), "workflow-execution-event-"),
        step_output(delta("d")),
        wrap(step_output(wrap(delta("e"))), "workflow-execution-event-"),
        step_output({"type": "text-delta", "text": "not a chunk"}),
        step_output("plain"),
    ]

    assert collect(chunks, text_deltas(include_wrapped=True)) == ["a", "b", "c", "d", "e"]
    assert collect(chunks, text_deltas()) == ["a"]


def test_text_deltas_ignores_reasoning_and_routing_text() -> None:
    chunks: list[Any] = [
        ReasoningDelta(run_id="r", payload=ReasoningDeltaPayload(id="t", text="hmm")),
        RoutingAgentTextDelta(run_id="n", payload=RoutingAgentTextDeltaPayload(text="final")),
        wrap(ReasoningDelta(run_id="r", payload=ReasoningDeltaPayload(id="t", text="hmm"))),
    ]

    assert collect(chunks, text_deltas(include_wrapped=True)) == []


texts = st.lists(st.text(max_size=4), max_size=12)


@given(texts=texts, wrapped=st.booleans())
def test_text_deltas_keeps_every_delta_in_order(texts: list[str], wrapped: bool) -> None:
    chunks: list[Chunk] = [wrap(delta(t)) if wrapped else delta(t) for t in texts]

    assert collect(chunks, text_deltas(include_wrapped=True)) == texts
    assert collect(chunks, text_deltas()) == ([] if wrapped else texts)
