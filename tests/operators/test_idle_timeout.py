from __future__ import annotations

import asyncio
from types import FunctionType
from typing import Any, cast

import pytest
import reactivex
from hypothesis import given
from hypothesis import strategies as st
from reactivex.disposable import Disposable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

from rxagents.errors import IdleTimeoutError, InvalidInputError, RunError
from rxagents.operators import idle_timeout

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


def idle_error(ticks: int, seconds: float) -> Recorded[Any]:
    """An expected IdleTimeoutError record (put expected records first when comparing)."""

    def check(error: Exception) -> bool:
        return isinstance(error, IdleTimeoutError) and error.seconds == seconds

    return ReactiveTest.on_error(ticks, cast(FunctionType, check))


def test_idle_timeout_mirrors_a_lively_source() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(240, "a"), on_next(280, "b"), on_next(320, "c"), on_completed(360)
    )

    results = scheduler.start(lambda: xs.pipe(idle_timeout(50)))

    assert results.messages == [
        on_next(240, "a"),
        on_next(280, "b"),
        on_next(320, "c"),
        on_completed(360),
    ]
    assert xs.subscriptions == [subscribe(200, 360)]


def test_idle_timeout_fails_after_silence_and_disposes_the_source() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, "a"), on_next(240, "b"), on_next(400, "late"), on_completed(500)
    )

    results = scheduler.start(lambda: xs.pipe(idle_timeout(50)))

    assert [on_next(210, "a"), on_next(240, "b"), idle_error(290, 50)] == (results.messages)
    assert xs.subscriptions == [subscribe(200, 290)]


def test_idle_timeout_counts_from_subscription() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(150, "before"), on_next(260, "late"))

    results = scheduler.start(lambda: xs.pipe(idle_timeout(50)))

    assert [idle_error(250, 50)] == results.messages
    assert xs.subscriptions == [subscribe(200, 250)]


def test_idle_timeout_forwards_source_errors_and_stops_the_clock() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    xs = scheduler.create_hot_observable(on_next(210, "a"), on_error(230, boom))

    results = scheduler.start(lambda: xs.pipe(idle_timeout(50)))

    assert results.messages == [on_next(210, "a"), on_error(230, boom)]
    assert xs.subscriptions == [subscribe(200, 230)]


def test_idle_timeout_disposal_reaches_the_source_and_stops_the_clock() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, "a"))

    results = scheduler.start(lambda: xs.pipe(idle_timeout(50)), disposed=240)

    assert results.messages == [on_next(210, "a")]
    assert xs.subscriptions == [subscribe(200, 240)]


def test_idle_timeout_keeps_state_per_subscription() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_cold_observable(on_next(10, "a"), on_next(100, "b"))
    guarded = xs.pipe(idle_timeout(50))
    first = scheduler.create_observer()
    second = scheduler.create_observer()

    guarded.subscribe(first, scheduler=scheduler)
    scheduler.advance_to(30)
    guarded.subscribe(second, scheduler=scheduler)
    scheduler.start()

    assert [on_next(10, "a"), idle_error(60, 50)] == first.messages
    assert [on_next(40, "a"), idle_error(90, 50)] == second.messages
    assert xs.subscriptions == [subscribe(0, 60), subscribe(30, 90)]


def test_idle_timeout_error_is_a_timeout_and_a_run_error() -> None:
    error = IdleTimeoutError(2.5)

    assert isinstance(error, TimeoutError)
    assert isinstance(error, RunError)
    assert "2.5" in str(error)


async def test_idle_timeout_fires_on_the_running_loop_by_default() -> None:
    failed: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()
    disposed = asyncio.Event()
    source: reactivex.Observable[str] = reactivex.using(
        lambda: Disposable(disposed.set), lambda _: reactivex.never()
    )

    source.pipe(idle_timeout(0.01)).subscribe(on_error=failed.set_result)
    async with asyncio.timeout(5):
        error = await failed

    assert isinstance(error, IdleTimeoutError)
    assert disposed.is_set()


@pytest.mark.parametrize("seconds", [0, -1, "1", None, True, float("inf")])
def test_idle_timeout_rejects_bad_seconds(seconds: Any) -> None:
    with pytest.raises(InvalidInputError, match="seconds"):
        idle_timeout(seconds)


@given(gaps=st.lists(st.integers(1, 49), max_size=15))
def test_idle_timeout_passes_everything_when_gaps_are_short(gaps: list[int]) -> None:
    scheduler = TestScheduler()
    records: list[Any] = []
    now = 200
    for index, gap in enumerate(gaps):
        now += gap
        records.append(on_next(now, index))
    xs = scheduler.create_hot_observable(*records, on_completed(now + 1))

    results = scheduler.start(lambda: xs.pipe(idle_timeout(50)))

    assert results.messages == [*records, on_completed(now + 1)]
    assert xs.subscriptions == [subscribe(200, now + 1)]
