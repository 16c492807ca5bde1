from __future__ import annotations

from typing import Any

import reactivex
from hypothesis import given
from hypothesis import strategies as st
from reactivex.testing import ReactiveTest, TestScheduler

from rxagents.events import (
    Abort,
    Chunk,
    TextDelta,
    TextDeltaPayload,
    WorkflowStepOutput,
    WorkflowStepOutputPayload,
    WrappedChunk,
)
from rxagents.operators import text_deltas, to_text

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


def delta(text: str) -> TextDelta:
    return TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text=text))


def wrap(inner: Chunk) -> WrappedChunk:
    return WrappedChunk(
        type="agent-execution-event-" + inner.type, run_id="n", from_="NETWORK", payload=inner
    )


def collect(chunks: list[Any], *operators: Any) -> list[Any]:
    out: list[Any] = []
    reactivex.from_iterable(chunks).pipe(*operators).subscribe(out.append)
    return out


def test_to_text_emits_the_joined_text_on_completion() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, delta("He")),
        on_next(220, Abort(run_id="r")),
        on_next(230, delta("llo")),
        on_completed(250),
    )

    results = scheduler.start(lambda: xs.pipe(to_text()))

    assert results.messages == [on_next(250, "Hello"), on_completed(250)]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_to_text_of_an_empty_stream_is_the_empty_string() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_completed(250))

    results = scheduler.start(lambda: xs.pipe(to_text()))

    assert results.messages == [on_next(250, ""), on_completed(250)]


def test_to_text_forwards_errors_without_text() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    xs = scheduler.create_hot_observable(on_next(210, delta("a")), on_error(220, boom))

    results = scheduler.start(lambda: xs.pipe(to_text()))

    assert results.messages == [on_error(220, boom)]
    assert xs.subscriptions == [subscribe(200, 220)]


def test_to_text_disposal_reaches_the_source_and_emits_nothing() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, delta("a")))

    results = scheduler.start(lambda: xs.pipe(to_text()), disposed=300)

    assert results.messages == []
    assert xs.subscriptions == [subscribe(200, 300)]


def test_to_text_include_wrapped() -> None:
    step_output = WorkflowStepOutput(
        run_id="wf", payload=WorkflowStepOutputPayload(output=delta("c"))
    )
    chunks: list[Chunk] = [delta("a"), wrap(delta("b")), step_output]

    assert collect(chunks, to_text()) == ["a"]
    assert collect(chunks, to_text(include_wrapped=True)) == ["abc"]


def test_to_text_keeps_state_per_subscription() -> None:
    source = reactivex.of(delta("a"), delta("b")).pipe(to_text())
    out: list[str] = []

    source.subscribe(out.append)
    source.subscribe(out.append)

    assert out == ["ab", "ab"]


@given(texts=st.lists(st.text(max_size=4), max_size=12), wrapped=st.booleans())
def test_to_text_is_the_join_of_text_deltas(texts: list[str], wrapped: bool) -> None:
    chunks: list[Chunk] = [wrap(delta(t)) if wrapped else delta(t) for t in texts]

    for include_wrapped in (False, True):
        joined = "".join(collect(chunks, text_deltas(include_wrapped=include_wrapped)))
        assert collect(chunks, to_text(include_wrapped=include_wrapped)) == [joined]
