"""``concat_each`` and ``merge_each``: the operators that compose workflow nodes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.testing import ReactiveTest, TestScheduler

from rxagents._core.rx import LateMap, concat_each, lean, merge_each, subscribe_direct

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_concat_each_subscribes_each_source_after_the_previous_completed() -> None:
    scheduler = TestScheduler()
    a = scheduler.create_cold_observable(on_next(10, "a"), on_completed(20))
    b = scheduler.create_cold_observable(on_next(5, "b"), on_completed(10))

    def sources() -> Iterator[Observable[Any]]:
        yield a
        yield b

    result = scheduler.start(lambda: concat_each(sources))
    assert result.messages == [on_next(210, "a"), on_next(225, "b"), on_completed(230)]
    assert [(s.subscribe, s.unsubscribe) for s in a.subscriptions] == [(200, 220)]
    assert [(s.subscribe, s.unsubscribe) for s in b.subscriptions] == [(220, 230)]


def test_concat_each_stops_asking_once_the_generator_returns() -> None:
    asked: list[int] = []

    def sources() -> Iterator[Observable[int]]:
        for i in range(5):
            asked.append(i)
            yield reactivex.of(i)
            if i == 2:
                return

    seen: list[int] = []
    concat_each(sources).subscribe(seen.append)
    assert seen == [0, 1, 2]
    assert asked == [0, 1, 2]


def test_concat_each_of_many_synchronous_sources_does_not_grow_the_stack() -> None:
    def sources() -> Iterator[Observable[int]]:
        for i in range(20_000):
            yield reactivex.of(i)

    count = 0

    def add(_: int) -> None:
        nonlocal count
        count += 1

    done: list[bool] = []
    concat_each(sources).subscribe(add, on_completed=lambda: done.append(True))
    assert count == 20_000
    assert done == [True]


def test_concat_each_forwards_errors_and_generator_failures() -> None:
    def failing_source() -> Iterator[Observable[int]]:
        yield reactivex.throw(ValueError("inner"))

    def failing_generator() -> Iterator[Observable[int]]:
        yield reactivex.of(1)
        raise KeyError("generator")

    errors: list[Exception] = []
    concat_each(failing_source).subscribe(on_error=errors.append)
    concat_each(failing_generator).subscribe(on_error=errors.append)
    assert [type(e) for e in errors] == [ValueError, KeyError]


def test_concat_each_disposal_reaches_the_running_source() -> None:
    scheduler = TestScheduler()
    a = scheduler.create_cold_observable(on_next(10, "a"), on_completed(100))

    def sources() -> Iterator[Observable[str]]:
        yield a
        yield reactivex.of("never")

    result = scheduler.start(lambda: concat_each(sources), disposed=250)
    assert result.messages == [on_next(210, "a")]
    assert [(s.subscribe, s.unsubscribe) for s in a.subscriptions] == [(200, 250)]


def test_merge_each_interleaves_and_completes_after_the_last_source() -> None:
    scheduler = TestScheduler()
    a = scheduler.create_cold_observable(on_next(10, "a1"), on_next(30, "a2"), on_completed(40))
    b = scheduler.create_cold_observable(on_next(20, "b1"), on_completed(25))
    result = scheduler.start(lambda: merge_each([a, b]))
    assert result.messages == [
        on_next(210, "a1"),
        on_next(220, "b1"),
        on_next(230, "a2"),
        on_completed(240),
    ]


def test_merge_each_bounds_concurrency_and_starts_the_next_when_one_completes() -> None:
    scheduler = TestScheduler()
    sources = [
        scheduler.create_cold_observable(on_next(10, i), on_completed(10 * (i + 1)))
        for i in range(4)
    ]
    result = scheduler.start(lambda: merge_each(sources, max_concurrent=2))
    subscribed = [[s.subscribe for s in source.subscriptions] for source in sources]
    assert subscribed == [[200], [200], [210], [220]]
    assert result.messages[-1] == on_completed(260)


def test_merge_each_of_nothing_completes() -> None:
    done: list[bool] = []
    merge_each([]).subscribe(on_completed=lambda: done.append(True))
    assert done == [True]


def test_merge_each_with_synchronous_sources_does_not_grow_the_stack() -> None:
    seen: list[int] = []
    merge_each([reactivex.of(i) for i in range(20_000)], max_concurrent=3).subscribe(seen.append)
    assert seen == list(range(20_000))


def test_merge_each_error_disposes_the_other_sources() -> None:
    scheduler = TestScheduler()
    a = scheduler.create_cold_observable(on_next(10, "a"), on_completed(100))
    b = scheduler.create_cold_observable(on_error(20, ValueError("b")))
    result = scheduler.start(lambda: merge_each([a, b]))
    assert result.messages[:1] == [on_next(210, "a")]
    assert getattr(result.messages[1].value, "kind", None) == "E"
    assert [(s.subscribe, s.unsubscribe) for s in a.subscriptions] == [(200, 220)]


def test_subscribe_direct_calls_a_lean_source_without_wrappers() -> None:
    received: list[Any] = []

    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        received.append(type(observer).__name__)
        observer.on_next(1)
        observer.on_completed()
        return Disposable()

    seen: list[int] = []
    done: list[bool] = []
    subscribe_direct(lean(subscribe), seen.append, print, lambda: done.append(True))
    assert received == ["_Relay"]
    assert (seen, done) == ([1], [True])
    subscribe_direct(reactivex.of(2), seen.append, print, lambda: done.append(True))
    assert seen == [1, 2]


def test_subscribe_direct_offers_on_compact_to_lean_sources_only() -> None:
    offered: list[Any] = []

    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        on_compact = getattr(observer, "on_compact", None)
        offered.append(on_compact is not None)
        if on_compact is not None:
            on_compact((0, "form"))
        observer.on_completed()
        return Disposable()

    forms: list[tuple[Any, ...]] = []
    subscribe_direct(lean(subscribe), print, print, lambda: None, on_compact=forms.append)
    subscribe_direct(lean(subscribe), print, print, lambda: None)
    subscribe_direct(Observable(subscribe), print, print, lambda: None, on_compact=forms.append)
    assert offered == [True, False, False]
    assert forms == [(0, "form")]


def test_subscribe_direct_offers_defer_to_lean_sources_only() -> None:
    offered: list[bool] = []

    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        defer = getattr(observer, "defer", None)
        offered.append(defer is not None)
        if defer is not None:
            take = defer(LateMap(lambda raw: f"built {raw}", lambda raw: "number"))
            assert take is not None
            take(7)
        observer.on_completed()
        return Disposable()

    read: list[str] = []

    def defer(late: LateMap) -> Callable[[Any], None]:
        return lambda raw: read.append(late.build(raw) + " as " + late.kind(raw))

    subscribe_direct(lean(subscribe), print, print, lambda: None, defer=defer)
    subscribe_direct(lean(subscribe), print, print, lambda: None)
    subscribe_direct(Observable(subscribe), print, print, lambda: None, defer=defer)
    assert offered == [True, False, False]
    assert read == ["built 7 as number"]


def test_a_lean_observable_lends_its_lock_to_reactivex_operators() -> None:
    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        for value in (1, 2, 3, 4):
            observer.on_next(value)
        observer.on_completed()
        return Disposable()

    source = lean(subscribe)
    assert source.lock is source.lock  # made once, on first use
    seen: list[int] = []
    source.pipe(reactivex.operators.take_while(lambda value: value < 3)).subscribe(seen.append)
    assert seen == [1, 2]
