from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import FunctionType
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reactivex.notification import OnNext
from reactivex.scheduler import TimeoutScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

from rxagents.errors import InvalidInputError
from rxagents.operators import buffer_text
from rxagents.operators._common import resolve_scheduler

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


def error_where(ticks: int, predicate: Callable[[Exception], bool]) -> Recorded[Any]:
    """An expected error record matched by a predicate (put expected records first)."""
    return ReactiveTest.on_error(ticks, cast(FunctionType, predicate))


def test_buffer_text_emits_the_first_delta_at_once_then_batches() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(150, "ignored"),
        on_next(210, "a"),
        on_next(220, "b"),
        on_next(230, "c"),
        on_next(400, "d"),
        on_next(410, "e"),
        on_completed(420),
    )

    results = scheduler.start(lambda: xs.pipe(buffer_text(50)))

    assert results.messages == [
        on_next(210, "a"),  # first delta: never delayed
        on_next(260, "bc"),  # 50 after the last batch
        on_next(400, "d"),  # after a pause: at once again
        on_next(420, "e"),  # completion flushes
        on_completed(420),
    ]
    assert xs.subscriptions == [subscribe(200, 420)]


def test_buffer_text_flushes_when_max_chars_is_reached() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, "a"),
        on_next(220, "bb"),
        on_next(230, "cc"),
        on_next(240, "d"),
        on_completed(300),
    )

    results = scheduler.start(lambda: xs.pipe(buffer_text(50, max_chars=3)))

    assert results.messages == [
        on_next(210, "a"),
        on_next(230, "bbcc"),  # deltas are never split
        on_next(280, "d"),  # the window restarts at the size flush
        on_completed(300),
    ]


def test_buffer_text_flushes_a_large_first_pending_delta_at_once() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, "a"), on_next(220, "long text"))

    results = scheduler.start(lambda: xs.pipe(buffer_text(50, max_chars=4)))

    assert results.messages == [on_next(210, "a"), on_next(220, "long text")]


def test_buffer_text_flushes_then_forwards_errors() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    xs = scheduler.create_hot_observable(on_next(210, "a"), on_next(220, "b"), on_error(230, boom))

    results = scheduler.start(lambda: xs.pipe(buffer_text(50)))

    assert results.messages == [on_next(210, "a"), on_next(230, "b"), on_error(230, boom)]
    assert xs.subscriptions == [subscribe(200, 230)]


def test_buffer_text_skips_empty_strings() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, ""), on_next(220, "a"), on_next(230, ""), on_completed(240)
    )

    results = scheduler.start(lambda: xs.pipe(buffer_text(50)))

    assert results.messages == [on_next(220, "a"), on_completed(240)]


def test_buffer_text_disposal_drops_pending_text_and_cancels_the_timer() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, "a"), on_next(220, "b"))

    results = scheduler.start(lambda: xs.pipe(buffer_text(50)), disposed=240)

    assert results.messages == [on_next(210, "a")]
    assert xs.subscriptions == [subscribe(200, 240)]


def test_buffer_text_sends_an_error_for_non_string_items() -> None:
    scheduler = TestScheduler()
    records: list[Recorded[Any]] = [on_next(210, 5)]
    xs = scheduler.create_hot_observable(records)

    results = scheduler.start(lambda: xs.pipe(buffer_text(50)))

    def names_the_fix(error: Exception) -> bool:
        return isinstance(error, InvalidInputError) and "text_deltas" in str(error)

    assert [error_where(210, names_the_fix)] == results.messages
    assert xs.subscriptions == [subscribe(200, 210)]


def test_buffer_text_keeps_state_per_subscription() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_cold_observable(on_next(10, "a"), on_next(20, "b"), on_completed(30))
    batched = xs.pipe(buffer_text(50))
    first = scheduler.create_observer()
    second = scheduler.create_observer()

    batched.subscribe(first, scheduler=scheduler)
    scheduler.advance_to(100)
    batched.subscribe(second, scheduler=scheduler)
    scheduler.start()

    assert first.messages == [on_next(10, "a"), on_next(30, "b"), on_completed(30)]
    assert second.messages == [on_next(110, "a"), on_next(130, "b"), on_completed(130)]


def test_buffer_text_uses_the_scheduler_argument_over_the_subscribers() -> None:
    scheduler = TestScheduler()
    frozen = TestScheduler()  # never advanced: its timers never fire
    xs = scheduler.create_hot_observable(on_next(210, "a"), on_next(220, "b"), on_completed(400))

    results = scheduler.start(lambda: xs.pipe(buffer_text(50, scheduler=frozen)))

    assert results.messages == [on_next(210, "a"), on_next(400, "b"), on_completed(400)]


async def test_buffer_text_runs_its_timer_on_the_running_loop_by_default() -> None:
    subject: Subject[str] = Subject()
    batches: list[tuple[str, int]] = []
    second = asyncio.Event()

    def record(batch: str) -> None:
        batches.append((batch, threading.get_ident()))
        if len(batches) == 2:
            second.set()

    subject.pipe(buffer_text(0.01)).subscribe(record)
    for text in ("a", "b", "c"):
        subject.on_next(text)
    async with asyncio.timeout(5):
        await second.wait()

    assert [batch for batch, _ in batches] == ["a", "bc"]
    assert {thread for _, thread in batches} == {threading.get_ident()}


async def test_time_based_operators_default_to_the_running_loop() -> None:
    assert isinstance(resolve_scheduler(None, None), AsyncIOScheduler)


def test_time_based_operators_fall_back_to_timeout_scheduler_without_a_loop() -> None:
    assert resolve_scheduler(None, None) is TimeoutScheduler.singleton()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seconds": 0},
        {"seconds": -1},
        {"seconds": "1"},
        {"seconds": True},
        {"seconds": float("inf")},
        {"seconds": float("nan")},
        {"seconds": 1, "max_chars": 0},
        {"seconds": 1, "max_chars": 2.5},
        {"seconds": 1, "max_chars": True},
    ],
)
def test_buffer_text_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        buffer_text(**kwargs)


arrivals = st.lists(st.tuples(st.integers(1, 30), st.text(alphabet="ab", max_size=3)), max_size=20)


@given(
    arrivals=arrivals,
    seconds=st.integers(1, 60),
    max_chars=st.one_of(st.none(), st.integers(1, 8)),
)
def test_buffer_text_loses_nothing_and_delays_no_delta_longer_than_seconds(
    arrivals: list[tuple[int, str]], seconds: int, max_chars: int | None
) -> None:
    scheduler = TestScheduler()
    records: list[Any] = []
    deltas: list[tuple[int, str]] = []
    now = 200
    for gap, text in arrivals:
        now += gap
        records.append(on_next(now, text))
        if text:
            deltas.append((now, text))
    xs = scheduler.create_hot_observable(*records, on_completed(now + 1))

    results = scheduler.start(lambda: xs.pipe(buffer_text(seconds, max_chars=max_chars)))

    batches = [(m.time, m.value.value) for m in results.messages if isinstance(m.value, OnNext)]
    assert "".join(text for _, text in batches) == "".join(text for _, text in deltas)
    assert all(batch for _, batch in batches)
    if deltas:
        assert batches[0] == deltas[0]
    pending = iter(deltas)
    for time, batch in batches:
        joined = ""
        while joined != batch:
            arrived, text = next(pending)
            assert time - seconds <= arrived <= time
            joined += text
