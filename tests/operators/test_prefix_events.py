from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any, cast

import pytest
import reactivex
from hypothesis import given
from hypothesis import strategies as st
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

from rxagents.errors import InvalidInputError, UserError
from rxagents.events import (
    Chunk,
    StepFinish,
    StepFinishPayload,
    StepOutput,
    StepResult,
    TextDelta,
    TextDeltaPayload,
    WrappedChunk,
    parse_chunk,
)
from rxagents.operators import prefix_events
from rxagents.usage import Usage
from tests.operators.late_consumer import LateConsumer

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe

PREFIX = "agent-execution-event-"


def error_where(ticks: int, predicate: Callable[[Exception], bool]) -> Recorded[Any]:
    """An expected error record matched by a predicate (put expected records first)."""
    return ReactiveTest.on_error(ticks, cast(FunctionType, predicate))


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


def validated(inner: Chunk, run_id: str | None = None, from_: Any = "NETWORK") -> WrappedChunk:
    return WrappedChunk(
        type=PREFIX + inner.type,
        run_id=inner.run_id if run_id is None else run_id,
        from_=from_,
        payload=inner,
    )


def collect(chunks: list[Any], operator: Any) -> list[Any]:
    out: list[Any] = []
    reactivex.from_iterable(chunks).pipe(operator).subscribe(out.append)
    return out


def test_prefix_events_wraps_each_chunk_and_unsubscribes_on_completion() -> None:
    scheduler = TestScheduler()
    a, b = delta("Hi"), step_finish(15, 5)
    xs = scheduler.create_hot_observable(
        on_next(150, delta("before")), on_next(210, a), on_next(220, b), on_completed(250)
    )

    results = scheduler.start(lambda: xs.pipe(prefix_events(PREFIX)))

    assert results.messages == [
        on_next(210, validated(a)),
        on_next(220, validated(b)),
        on_completed(250),
    ]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_prefix_events_forwards_source_errors() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    xs = scheduler.create_hot_observable(on_next(210, delta("a")), on_error(230, boom))

    results = scheduler.start(lambda: xs.pipe(prefix_events(PREFIX)))

    assert results.messages == [on_next(210, validated(delta("a"))), on_error(230, boom)]
    assert xs.subscriptions == [subscribe(200, 230)]


def test_prefix_events_disposal_reaches_the_source() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, delta("a")), on_next(400, delta("b")))

    results = scheduler.start(lambda: xs.pipe(prefix_events(PREFIX)), disposed=300)

    assert results.messages == [on_next(210, validated(delta("a")))]
    assert xs.subscriptions == [subscribe(200, 300)]


def test_prefix_events_copies_the_inner_run_id_by_default() -> None:
    [wrapped] = collect([delta("a", run_id="exec-7")], prefix_events(PREFIX))

    assert wrapped.run_id == "exec-7"
    assert wrapped.payload.run_id == "exec-7"


def test_prefix_events_uses_an_explicit_run_id_and_keeps_the_inner_one() -> None:
    [wrapped] = collect([delta("a", run_id="exec-7")], prefix_events(PREFIX, run_id="net-1"))

    assert wrapped.run_id == "net-1"
    assert wrapped.payload.run_id == "exec-7"


def test_prefix_events_from_defaults_to_network() -> None:
    [default] = collect([delta("a")], prefix_events(PREFIX))
    [workflow] = collect([delta("a")], prefix_events(PREFIX, from_="WORKFLOW"))

    assert default.from_ == "NETWORK"
    assert workflow.from_ == "WORKFLOW"
    assert default.payload.from_ == "AGENT"


def test_prefix_events_keeps_the_inner_chunk_whole() -> None:
    inner = step_finish(15, 5)

    [wrapped] = collect([inner], prefix_events(PREFIX))

    assert wrapped.payload is inner
    assert wrapped.type == "agent-execution-event-step-finish"
    assert wrapped.prefix == PREFIX


def test_prefix_events_builds_the_same_model_as_validated_construction() -> None:
    inner = delta("Hi")

    [fast] = collect([inner], prefix_events(PREFIX, run_id="net-1"))
    slow = validated(inner, run_id="net-1")

    assert type(fast) is WrappedChunk
    assert fast == slow
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump(by_alias=True) == slow.model_dump(by_alias=True)
    assert fast.model_dump_json(by_alias=True) == slow.model_dump_json(by_alias=True)
    assert parse_chunk(fast.model_dump(by_alias=True)) == fast
    assert parse_chunk(fast.model_dump_json(by_alias=True)) == fast


def test_prefix_events_wire_shape_has_the_four_envelope_keys() -> None:
    [wrapped] = collect([delta("Hi", run_id="exec-1")], prefix_events(PREFIX, run_id="net-1"))

    assert wrapped.model_dump(by_alias=True) == {
        "type": "agent-execution-event-text-delta",
        "runId": "net-1",
        "from": "NETWORK",
        "payload": {
            "type": "text-delta",
            "runId": "exec-1",
            "from": "AGENT",
            "payload": {"id": "t1", "text": "Hi"},
        },
    }


def test_prefix_events_can_wrap_twice() -> None:
    [twice] = collect(
        [delta("a")],
        lambda source: source.pipe(
            prefix_events(PREFIX), prefix_events("workflow-execution-event-")
        ),
    )

    assert twice.type == "workflow-execution-event-agent-execution-event-text-delta"
    assert parse_chunk(twice.model_dump_json(by_alias=True)) == twice


def test_prefix_events_sends_an_error_for_untyped_items_and_unsubscribes() -> None:
    scheduler = TestScheduler()
    records: list[Recorded[Any]] = [on_next(210, {"type": "text-delta"}), on_next(220, delta("x"))]
    xs = scheduler.create_hot_observable(records)

    results = scheduler.start(lambda: xs.pipe(prefix_events(PREFIX)))

    def names_the_fix(error: Exception) -> bool:
        return isinstance(error, InvalidInputError) and "parse_chunk" in str(error)

    assert [error_where(210, names_the_fix)] == results.messages
    assert xs.subscriptions == [subscribe(200, 210)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefix": ""},
        {"prefix": 3},
        {"prefix": PREFIX, "from_": "BOGUS"},
        {"prefix": PREFIX, "run_id": 5},
    ],
)
def test_prefix_events_rejects_bad_arguments_eagerly(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError) as info:
        prefix_events(**kwargs)

    assert isinstance(info.value, UserError)


chunks = st.lists(
    st.one_of(
        st.builds(delta, st.text(max_size=5), st.sampled_from(["a", "b"])),
        st.builds(step_finish, st.integers(0, 99), st.integers(0, 99)),
    ),
    max_size=10,
)


@given(chunks=chunks, prefix=st.sampled_from([PREFIX, "workflow-execution-event-", "x-"]))
def test_prefix_events_keeps_count_order_and_inner_chunks(chunks: list[Chunk], prefix: str) -> None:
    out = collect(chunks, prefix_events(prefix))

    assert [wrapped.payload for wrapped in out] == chunks
    assert [wrapped.type for wrapped in out] == [prefix + chunk.type for chunk in chunks]


# --- late wrapping: a consumer that builds on read (the async edge) ------------------------


def dumped(chunk: Any) -> Any:
    return chunk.model_dump(by_alias=True, exclude_unset=True)


def test_prefix_events_leaves_the_wrapping_to_a_consumer_that_builds_on_read() -> None:
    inner = [delta("a"), step_finish(3, 4), delta("b", run_id="sub-2")]
    consumer = LateConsumer()

    consumer.subscribe(reactivex.from_iterable(inner).pipe(prefix_events(PREFIX)))

    assert consumer.completed
    assert consumer.built == []
    assert all(raw is chunk for raw, chunk in zip(consumer.raw, inner, strict=True))
    late = consumer.offers[0]
    assert [late.kind(raw) for raw in consumer.raw] == [PREFIX + chunk.type for chunk in inner]
    eager = collect(inner, prefix_events(PREFIX))
    read = consumer.read()
    assert read == eager == [validated(chunk) for chunk in inner]
    assert [dumped(chunk) for chunk in read] == [dumped(chunk) for chunk in eager]
    assert [chunk.model_fields_set for chunk in read] == [c.model_fields_set for c in eager]


def test_prefix_events_late_wrapping_keeps_an_explicit_run_id_and_source() -> None:
    consumer = LateConsumer()

    consumer.subscribe(
        reactivex.of(delta("a")).pipe(prefix_events(PREFIX, from_="WORKFLOW", run_id="net"))
    )

    assert consumer.read() == [validated(delta("a"), run_id="net", from_="WORKFLOW")]


def test_prefix_events_builds_itself_when_the_consumer_refuses() -> None:
    inner = [delta("a"), step_finish(1, 2)]
    consumer = LateConsumer(accept=False)

    consumer.subscribe(reactivex.from_iterable(inner).pipe(prefix_events(PREFIX)))

    assert len(consumer.offers) == 1
    assert consumer.raw == []
    assert consumer.built == [validated(chunk) for chunk in inner]


def test_prefix_events_checks_items_when_it_defers_too() -> None:
    consumer = LateConsumer()
    items: list[Any] = [delta("a"), {"type": "text-delta"}, delta("b")]

    consumer.subscribe(reactivex.from_iterable(items).pipe(prefix_events(PREFIX)))

    assert consumer.raw == [items[0]]
    assert len(consumer.errors) == 1
    assert isinstance(consumer.errors[0], InvalidInputError)
    assert "parse_chunk" in str(consumer.errors[0])
    assert not consumer.completed


@given(chunks=chunks, prefix=st.sampled_from([PREFIX, "workflow-execution-event-", "x-"]))
def test_prefix_events_late_and_eager_wrapping_are_the_same(
    chunks: list[Chunk], prefix: str
) -> None:
    consumer = LateConsumer()
    consumer.subscribe(reactivex.from_iterable(chunks).pipe(prefix_events(prefix)))

    read = consumer.read()
    eager = collect(chunks, prefix_events(prefix))
    assert read == eager
    assert [dumped(chunk) for chunk in read] == [dumped(chunk) for chunk in eager]
