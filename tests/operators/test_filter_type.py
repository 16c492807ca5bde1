from __future__ import annotations

import fnmatch
from collections.abc import Callable
from types import FunctionType
from typing import Any, cast

import pytest
import reactivex
from hypothesis import given
from hypothesis import strategies as st
from reactivex import abc
from reactivex.disposable import Disposable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

from rxagents._core.rx import lean
from rxagents.errors import InvalidInputError, UserError
from rxagents.events import (
    Abort,
    Chunk,
    ChunkBase,
    DataChunk,
    TextBlockPayload,
    TextDelta,
    TextDeltaPayload,
    TextStart,
    ToolCall,
    ToolCallPayload,
    WrappedChunk,
    parse_chunk,
)
from rxagents.operators import filter_type, prefix_events
from rxagents.operators._filter_type import TypeMatcher
from rxagents.testing import chunk_records, run_marbles
from tests.operators.late_consumer import LateConsumer

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


def error_where(ticks: int, predicate: Callable[[Exception], bool]) -> Recorded[Any]:
    """An expected error record matched by a predicate (put expected records first)."""
    return ReactiveTest.on_error(ticks, cast(FunctionType, predicate))


def delta(text: str = "x") -> TextDelta:
    return TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text=text))


def text_start() -> TextStart:
    return TextStart(run_id="r", payload=TextBlockPayload(id="t"))


def tool_call() -> ToolCall:
    return ToolCall(
        run_id="r", payload=ToolCallPayload(tool_call_id="c1", tool_name="add", args={"a": 1})
    )


def wrapped(inner: Chunk, prefix: str = "agent-execution-event-") -> WrappedChunk:
    return WrappedChunk(type=prefix + inner.type, run_id="n", from_="NETWORK", payload=inner)


def collect(chunks: list[Any], *operators: Any) -> list[Any]:
    out: list[Any] = []
    reactivex.from_iterable(chunks).pipe(*operators).subscribe(out.append)
    return out


def test_filter_type_keeps_exact_names_in_order() -> None:
    scheduler = TestScheduler()
    a, b, c = delta("a"), tool_call(), delta("c")
    xs = scheduler.create_hot_observable(
        on_next(210, a),
        on_next(220, b),
        on_next(230, Abort(run_id="r")),
        on_next(240, c),
        on_completed(250),
    )

    results = scheduler.start(lambda: xs.pipe(filter_type("text-delta", "tool-call")))

    assert results.messages == [
        on_next(210, a),
        on_next(220, b),
        on_next(240, c),
        on_completed(250),
    ]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_filter_type_matches_star_patterns() -> None:
    scheduler = TestScheduler()
    w1, w2 = wrapped(delta("a")), wrapped(tool_call())
    other = wrapped(delta("b"), "workflow-execution-event-")
    records: list[Recorded[Chunk]] = [
        on_next(210, w1),
        on_next(220, delta("plain")),
        on_next(230, other),
        on_next(240, w2),
    ]
    xs = scheduler.create_hot_observable(records)

    results = scheduler.start(lambda: xs.pipe(filter_type("agent-execution-event-*")))

    assert results.messages == [on_next(210, w1), on_next(240, w2)]
    assert xs.subscriptions == [subscribe(200, 1000)]


def test_filter_type_mixes_names_and_patterns() -> None:
    chunks: list[Chunk] = [text_start(), delta(), tool_call(), Abort(run_id="r")]

    out = collect(chunks, filter_type("abort", "text-*"))

    assert [chunk.type for chunk in out] == ["text-start", "text-delta", "abort"]


def test_filter_type_patterns_are_fnmatch_style_and_case_sensitive() -> None:
    chunks: list[Chunk] = [text_start(), delta(), tool_call()]

    assert [c.type for c in collect(chunks, filter_type("text-?????"))] == [
        "text-start",
        "text-delta",
    ]
    assert [c.type for c in collect(chunks, filter_type("t[eo]*-call"))] == ["tool-call"]
    assert collect(chunks, filter_type("TEXT-*")) == []
    assert collect(chunks, filter_type("text")) == []


def test_filter_type_forwards_errors() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    xs = scheduler.create_hot_observable(on_next(210, delta()), on_error(220, boom))

    results = scheduler.start(lambda: xs.pipe(filter_type("text-delta")))

    assert results.messages == [on_next(210, delta()), on_error(220, boom)]
    assert xs.subscriptions == [subscribe(200, 220)]


def test_filter_type_disposal_reaches_the_source() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, delta()), on_next(500, delta("late")))

    results = scheduler.start(lambda: xs.pipe(filter_type("text-*")), disposed=400)

    assert results.messages == [on_next(210, delta())]
    assert xs.subscriptions == [subscribe(200, 400)]


def test_filter_type_sends_an_error_for_untyped_items() -> None:
    scheduler = TestScheduler()
    records: list[Recorded[Any]] = [on_next(210, {"type": "text-delta"})]
    xs = scheduler.create_hot_observable(records)

    results = scheduler.start(lambda: xs.pipe(filter_type("text-delta")))

    def is_invalid(error: Exception) -> bool:
        return isinstance(error, InvalidInputError)

    assert [error_where(210, is_invalid)] == results.messages
    assert xs.subscriptions == [subscribe(200, 210)]


def test_filter_type_without_patterns_is_a_set_lookup() -> None:
    matcher = TypeMatcher("text-delta", "finish")

    assert matcher.memo is None
    assert matcher.exact == frozenset({"text-delta", "finish"})
    assert matcher("finish")
    assert not matcher("finish-x")


def test_filter_type_remembers_pattern_answers() -> None:
    matcher = TypeMatcher("text-*", "abort")

    assert matcher("text-delta")
    assert not matcher("tool-call")
    assert matcher.memo == {"abort": True, "text-delta": True, "tool-call": False}


def test_filter_type_needs_at_least_one_type() -> None:
    with pytest.raises(InvalidInputError, match="at least one") as info:
        filter_type()

    assert isinstance(info.value, UserError)


@pytest.mark.parametrize("bad", [1, None, b"text-delta", ""])
def test_filter_type_rejects_non_string_types(bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="non-empty str"):
        filter_type("text-delta", bad)


def test_filter_type_explains_how_to_pass_a_list() -> None:
    with pytest.raises(InvalidInputError, match=r"filter_type\(\*types\)"):
        filter_type(["text-delta", "finish"])  # type: ignore[arg-type]  # the mistake under test


MAKERS: dict[str, Callable[[], Chunk]] = {
    "text-delta": delta,
    "text-start": text_start,
    "tool-call": tool_call,
    "abort": lambda: Abort(run_id="r"),
}
TYPES = list(MAKERS)
plain_streams = st.lists(st.sampled_from(TYPES).map(lambda kind: MAKERS[kind]()), max_size=20)
streams = plain_streams.flatmap(
    lambda chunks: st.sampled_from(
        [chunks, collect(chunks, prefix_events("agent-execution-event-"))]
    )
)
selections = st.lists(
    st.sampled_from([*TYPES, "text-*", "agent-execution-event-*", "*-call", "nothing"]),
    min_size=1,
    max_size=3,
)


@given(chunks=streams, types=selections)
def test_filter_type_output_is_the_ordered_subsequence_of_matches(
    chunks: list[ChunkBase], types: list[str]
) -> None:
    out = collect(chunks, filter_type(*types))

    expected = [
        chunk for chunk in chunks if any(fnmatch.fnmatchcase(chunk.type, kind) for kind in types)
    ]
    assert out == expected
    remaining = iter(chunks)
    assert all(any(kept is chunk for chunk in remaining) for kept in out)


def data_chunk(kind: str, **fields: Any) -> DataChunk:
    return DataChunk.model_validate({"type": kind, **fields})


def test_filter_type_keeps_data_chunks_by_pattern() -> None:
    progress = data_chunk("data-progress", data={"pct": 50}, transient=True)
    status = data_chunk("data-status", data="ok", id="s1")
    other = data_chunk("not-data", data=1)
    chunks: list[Chunk] = [delta("a"), progress, tool_call(), other, status, Abort(run_id="r")]

    result = run_marbles(filter_type("data-*"), chunk_records(chunks))

    assert result.values == [progress, status]
    assert result.times == [220.0, 250.0]
    assert result.completed
    assert [(s.subscribe, s.unsubscribe) for s in result.subscriptions] == [(200, 270)]


def test_filter_type_star_matches_any_run_of_characters() -> None:
    chunks: list[Chunk] = [
        data_chunk("data-"),
        data_chunk("data-a-b-c"),
        data_chunk("xdata-a"),
        data_chunk("data"),
    ]

    out = collect(chunks, filter_type("data-*"))

    assert [chunk.type for chunk in out] == ["data-", "data-a-b-c"]
    assert [c.type for c in collect(chunks, filter_type("*-*-*"))] == ["data-a-b-c"]
    assert [c.type for c in collect(chunks, filter_type("*data*"))] == [c.type for c in chunks]


def test_filter_type_on_wire_data_chunks() -> None:
    wire = [{"type": "data-progress", "data": {"pct": 1}}, delta().model_dump(by_alias=True)]

    out = collect([parse_chunk(item) for item in wire], filter_type("data-*"))

    assert [chunk.model_dump(by_alias=True) for chunk in out] == [wire[0]]


# --- late wrapping: a consumer that builds on read (the async edge) ------------------------


def test_filter_type_passes_a_late_map_on_and_filters_by_the_mapped_type() -> None:
    prefix = "agent-execution-event-"
    inner: list[Chunk] = [text_start(), delta("a"), tool_call(), delta("b")]
    consumer = LateConsumer()

    consumer.subscribe(
        reactivex.from_iterable(inner).pipe(prefix_events(prefix), filter_type(prefix + "text-d*"))
    )

    assert consumer.built == []
    assert consumer.raw == [inner[1], inner[3]]
    assert consumer.read() == collect(inner, prefix_events(prefix), filter_type(prefix + "text-d*"))
    assert consumer.completed


def test_filter_type_filters_a_late_map_by_exact_names_too() -> None:
    prefix = "agent-execution-event-"
    inner: list[Chunk] = [text_start(), delta("a"), tool_call()]
    consumer = LateConsumer()

    consumer.subscribe(
        reactivex.from_iterable(inner).pipe(
            prefix_events(prefix), filter_type(prefix + "tool-call")
        )
    )

    assert consumer.raw == [inner[2]]
    assert consumer.read() == collect(
        inner, prefix_events(prefix), filter_type(prefix + "tool-call")
    )


def test_filter_type_hands_built_chunks_on_when_the_consumer_refuses() -> None:
    prefix = "agent-execution-event-"
    inner: list[Chunk] = [text_start(), delta("a")]
    consumer = LateConsumer(accept=False)

    consumer.subscribe(
        reactivex.from_iterable(inner).pipe(prefix_events(prefix), filter_type(prefix + "text-*"))
    )

    assert len(consumer.offers) == 1
    assert consumer.raw == []
    assert consumer.built == collect(inner, prefix_events(prefix))


def test_filter_type_offers_nothing_upstream_without_a_late_consumer() -> None:
    offered: list[bool] = []

    def subscribe(
        observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        offered.append(getattr(observer, "defer", None) is not None)
        observer.on_completed()
        return Disposable()

    out: list[Chunk] = []
    lean(subscribe).pipe(filter_type("text-delta")).subscribe(out.append)
    LateConsumer().subscribe(lean(subscribe).pipe(filter_type("text-delta")))

    assert offered == [False, True]
