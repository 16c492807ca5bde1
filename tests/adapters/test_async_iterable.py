"""to_async_iterable and from_async_iterable: ordering, errors, completion, disposal, coldness."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable
from reactivex.scheduler.eventloop import AsyncIOScheduler, AsyncIOThreadSafeScheduler

from rxagents._core.rx import LateMap, lean
from rxagents.adapters import ObservableAsyncIterator, from_async_iterable, to_async_iterable
from rxagents.events import Chunk, TextDelta, TextDeltaPayload, WrappedChunk
from rxagents.operators import filter_type, prefix_events
from rxagents.testing.strategies import agent_chunk_streams

# --- sources --------------------------------------------------------------------------------


@dataclass
class Probe:
    """What a test source saw: subscriptions, disposals, the default scheduler it was given."""

    subscriptions: int = 0
    disposals: int = 0
    schedulers: list[abc.SchedulerBase | None] = field(default_factory=list)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)


def loop_source(
    probe: Probe, batches: list[list[int]] | None, *, error: Exception | None = None
) -> Observable[int]:
    """Emit each batch from one ``call_soon`` callback; count up forever if ``batches`` is None."""

    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        probe.subscriptions += 1
        probe.schedulers.append(scheduler)
        probe.subscribed.set()
        loop = asyncio.get_running_loop()
        pending = iter(batches) if batches is not None else None
        counter = 0
        handle: asyncio.Handle | None = None

        def step() -> None:
            nonlocal handle, counter
            if pending is None:
                for _ in range(3):
                    observer.on_next(counter)
                    counter += 1
                handle = loop.call_soon(step)
                return
            batch = next(pending, None)
            if batch is None:
                if error is not None:
                    observer.on_error(error)
                else:
                    observer.on_completed()
                return
            for item in batch:
                observer.on_next(item)
            handle = loop.call_soon(step)

        handle = loop.call_soon(step)

        def dispose() -> None:
            probe.disposals += 1
            if handle is not None:
                handle.cancel()

        return Disposable(dispose)

    return Observable(subscribe)


def silent_source(probe: Probe) -> Observable[int]:
    """Never emit; count subscriptions and disposals."""

    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        probe.subscriptions += 1
        probe.subscribed.set()

        def dispose() -> None:
            probe.disposals += 1

        return Disposable(dispose)

    return Observable(subscribe)


async def loop_turns(turns: int) -> None:
    """Let the event loop run ``turns`` iterations (no wall-clock waiting)."""
    for _ in range(turns):
        await asyncio.sleep(0)


# --- to_async_iterable ----------------------------------------------------------------------


async def test_to_async_iterable_delivers_items_in_order_then_stops_on_completion() -> None:
    probe = Probe()
    source = loop_source(probe, [[1, 2, 3], [4], [], [5, 6]])

    assert [item async for item in to_async_iterable(source)] == [1, 2, 3, 4, 5, 6]
    assert probe.subscriptions == 1


async def test_to_async_iterable_reads_items_emitted_synchronously_inside_subscribe() -> None:
    assert [item async for item in to_async_iterable(reactivex.of(1, 2, 3))] == [1, 2, 3]
    assert [item async for item in to_async_iterable(reactivex.empty())] == []


async def test_to_async_iterable_raises_error_after_earlier_items() -> None:
    boom = ValueError("boom")
    iterator = to_async_iterable(loop_source(Probe(), [[1, 2], [3]], error=boom))

    assert [await anext(iterator) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(ValueError, match="boom") as caught:
        await anext(iterator)
    assert caught.value is boom


async def test_to_async_iterable_raises_synchronous_error_after_synchronous_items() -> None:
    source = reactivex.concat(reactivex.of(1, 2), reactivex.throw(KeyError("sync")))
    iterator = to_async_iterable(source)

    assert await anext(iterator) == 1
    assert await anext(iterator) == 2
    with pytest.raises(KeyError, match="sync"):
        await anext(iterator)
    with pytest.raises(StopAsyncIteration):
        await anext(iterator)


async def test_to_async_iterable_subscribes_lazily_on_first_anext() -> None:
    probe = Probe()
    iterator = to_async_iterable(loop_source(probe, [[1]]))
    await loop_turns(2)
    assert probe.subscriptions == 0

    assert await anext(iterator) == 1
    assert probe.subscriptions == 1
    await iterator.aclose()


async def test_to_async_iterable_subscribes_once_per_iteration_of_a_cold_source() -> None:
    probe = Probe()
    source = loop_source(probe, [[1, 2]])

    first = [item async for item in to_async_iterable(source)]
    second = [item async for item in to_async_iterable(source)]

    assert first == second == [1, 2]
    assert probe.subscriptions == 2


async def test_to_async_iterable_break_disposes_within_two_loop_turns() -> None:
    probe = Probe()

    async for item in to_async_iterable(loop_source(probe, None)):
        if item == 4:
            break

    assert probe.disposals == 0  # the loop's async-generator finalizer closes it next
    await loop_turns(2)
    assert probe.disposals == 1


async def test_to_async_iterable_exception_in_loop_body_disposes() -> None:
    probe = Probe()

    async def consume() -> None:
        async for _ in to_async_iterable(loop_source(probe, None)):
            raise RuntimeError("consumer failed")

    with pytest.raises(RuntimeError, match="consumer failed"):
        await consume()

    await loop_turns(2)
    assert probe.disposals == 1


async def test_to_async_iterable_aclose_disposes_immediately_and_ends_iteration() -> None:
    probe = Probe()
    iterator = to_async_iterable(loop_source(probe, None))
    assert await anext(iterator) == 0

    await iterator.aclose()

    assert probe.disposals == 1
    with pytest.raises(StopAsyncIteration):
        await anext(iterator)


async def test_to_async_iterable_async_with_and_aclosing_dispose_on_exit() -> None:
    probe = Probe()
    async with to_async_iterable(loop_source(probe, None)) as items:
        async for item in items:
            if item == 2:
                break
    assert probe.disposals == 1

    async with contextlib.aclosing(to_async_iterable(loop_source(probe, None))) as items:
        async for item in items:
            if item == 2:
                break
    assert probe.disposals == 2


async def test_to_async_iterable_cancelling_the_waiting_task_disposes_and_propagates() -> None:
    probe = Probe()

    async def consume() -> list[int]:
        return [item async for item in to_async_iterable(silent_source(probe))]

    task = asyncio.create_task(consume())
    await probe.subscribed.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert probe.disposals == 1


async def test_to_async_iterable_cancelling_a_task_outside_anext_disposes() -> None:
    probe = Probe()
    in_body = asyncio.Event()

    async def consume() -> None:
        async for _ in to_async_iterable(loop_source(probe, None)):
            in_body.set()
            await asyncio.Event().wait()  # cancelled here, between two items

    task = asyncio.create_task(consume())
    await in_body.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await loop_turns(2)
    assert probe.disposals == 1


async def test_to_async_iterable_completion_disposes_nothing_twice() -> None:
    probe = Probe()
    async with to_async_iterable(loop_source(probe, [[1]])) as items:
        assert [item async for item in items] == [1]
    assert probe.disposals <= 1


async def test_to_async_iterable_moves_foreign_thread_items_onto_the_loop() -> None:
    loop_thread = threading.get_ident()
    seen_on: set[int] = set()
    threads: list[threading.Thread] = []

    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        def produce() -> None:
            for item in range(500):
                observer.on_next(item)
            observer.on_completed()

        thread = threading.Thread(target=produce)
        threads.append(thread)
        thread.start()
        return Disposable()

    received: list[int] = []
    async for item in to_async_iterable(Observable(subscribe)):
        seen_on.add(threading.get_ident())
        received.append(item)

    threads[0].join()
    assert received == list(range(500))
    assert seen_on == {loop_thread}


async def test_to_async_iterable_keeps_queued_thread_items_ahead_of_a_loop_completion() -> None:
    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        thread = threading.Thread(target=lambda: [observer.on_next(item) for item in range(100)])
        thread.start()
        thread.join()  # the items are queued on the loop, not yet delivered ...
        observer.on_next(100)  # ... so these loop-thread calls must queue up behind them
        observer.on_completed()
        return Disposable()

    assert [item async for item in to_async_iterable(Observable(subscribe))] == list(range(101))


async def test_to_async_iterable_raises_foreign_thread_errors() -> None:
    threads: list[threading.Thread] = []

    def subscribe(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        def produce() -> None:
            observer.on_next(1)
            observer.on_error(LookupError("from a thread"))

        threads.append(threading.Thread(target=produce))
        threads[0].start()
        return Disposable()

    iterator = to_async_iterable(Observable(subscribe))
    assert await anext(iterator) == 1
    with pytest.raises(LookupError, match="from a thread"):
        await anext(iterator)
    threads[0].join()


async def test_to_async_iterable_passes_the_scheduler_to_subscribe() -> None:
    probe = Probe()
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())

    assert [x async for x in to_async_iterable(loop_source(probe, [[1]]), scheduler=scheduler)] == [
        1
    ]
    assert [x async for x in to_async_iterable(loop_source(probe, [[1]]))] == [1]
    assert probe.schedulers == [scheduler, None]


async def test_to_async_iterable_with_asyncio_scheduler_runs_timers_on_the_loop() -> None:
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    source = reactivex.timer(0.0).pipe(ops.map(lambda _: threading.get_ident()))

    assert [x async for x in to_async_iterable(source, scheduler=scheduler)] == [
        threading.get_ident()
    ]


async def test_to_async_iterable_returns_an_async_iterator_object() -> None:
    iterator = to_async_iterable(reactivex.of(1))
    assert isinstance(iterator, ObservableAsyncIterator)
    assert isinstance(iterator, AsyncIterator)
    assert aiter(iterator) is iterator
    assert [x async for x in iterator] == [1]


# --- late-built items: a lean map leaves building to the reader --------------------------


def lean_script(script: Callable[[Any], None]) -> Observable[Any]:
    """A lean source that runs ``script(observer)`` inside subscribe."""

    def subscribe(
        observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        script(observer)
        return Disposable()

    return lean(subscribe)


def labelled(built: list[Any] | None = None) -> LateMap:
    def build(raw: Any) -> str:
        if built is not None:
            built.append(raw)
        return f"built {raw}"

    return LateMap(build, lambda raw: "label")


async def test_to_async_iterable_builds_late_mapped_items_as_it_reads_them() -> None:
    built: list[Any] = []

    def script(observer: Any) -> None:
        take = observer.defer(labelled(built))
        take(1)
        take(2)
        observer.on_completed()

    iterator = to_async_iterable(lean_script(script))
    assert await anext(iterator) == "built 1"
    assert built == [1]
    assert [item async for item in iterator] == ["built 2"]
    assert built == [1, 2]


async def test_to_async_iterable_builds_buffered_raw_items_first_when_a_built_one_follows() -> None:
    def script(observer: Any) -> None:
        take = observer.defer(labelled())
        take(1)
        take(2)
        observer.on_next("plain")
        take(3)
        observer.on_completed()

    items = [item async for item in to_async_iterable(lean_script(script))]
    assert items == ["built 1", "built 2", "plain", "built 3"]


async def test_to_async_iterable_accepts_one_late_map_and_only_before_any_item() -> None:
    answers: list[bool] = []

    def twice(observer: Any) -> None:
        answers.append(observer.defer(labelled()) is not None)
        answers.append(observer.defer(labelled()) is not None)
        observer.on_completed()

    def after_an_item(observer: Any) -> None:
        observer.on_next("plain")
        answers.append(observer.defer(labelled()) is not None)
        observer.on_completed()

    assert [item async for item in to_async_iterable(lean_script(twice))] == []
    assert [item async for item in to_async_iterable(lean_script(after_an_item))] == ["plain"]
    assert answers == [True, False, False]


async def test_to_async_iterable_builds_late_items_from_another_thread_in_order() -> None:
    def script(observer: Any) -> None:
        take = observer.defer(labelled())
        take(1)
        thread = threading.Thread(target=take, args=(2,))
        thread.start()
        thread.join()
        take(3)  # queued behind the thread's item
        observer.on_completed()

    items = [item async for item in to_async_iterable(lean_script(script))]
    assert items == ["built 1", "built 2", "built 3"]


async def test_to_async_iterable_raises_what_a_lean_subscribe_raises() -> None:
    def script(observer: Any) -> None:
        observer.on_next(1)
        raise ValueError("boom")

    iterator = to_async_iterable(lean_script(script))
    assert await anext(iterator) == 1
    with pytest.raises(ValueError, match="boom"):
        await anext(iterator)


async def test_to_async_iterable_holds_no_wrappers_while_a_burst_waits_to_be_read() -> None:
    prefix = "agent-execution-event-"
    chunks = [
        TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text=f"w{index}"))
        for index in range(300)
    ]
    source = reactivex.from_iterable(chunks).pipe(prefix_events(prefix), filter_type(prefix + "*"))

    def live_wrappers() -> int:
        return sum(1 for item in gc.get_objects() if type(item) is WrappedChunk)

    before = live_wrappers()
    iterator = to_async_iterable(source)
    first = await anext(iterator)  # the whole burst arrived inside subscribe
    assert live_wrappers() - before <= 1
    items = [first, *[item async for item in iterator]]
    eager: list[WrappedChunk] = []
    source.subscribe(eager.append)
    assert items == eager
    assert [item.model_dump(by_alias=True) for item in items] == [
        item.model_dump(by_alias=True) for item in eager
    ]


# --- from_async_iterable --------------------------------------------------------------------


@dataclass
class Recorder(abc.ObserverBase[Any]):
    """An observer that records notifications and resolves ``done`` on a terminal one."""

    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    items: list[Any] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    completed: bool = False
    first: asyncio.Event = field(default_factory=asyncio.Event)

    def on_next(self, item: Any) -> None:
        self.items.append(item)
        self.first.set()

    def on_error(self, error: Exception) -> None:
        self.errors.append(error)
        if not self.done.done():
            self.done.set_result(None)

    def on_completed(self) -> None:
        self.completed = True
        if not self.done.done():
            self.done.set_result(None)


async def test_from_async_iterable_emits_values_then_completes() -> None:
    async def numbers() -> AsyncIterator[int]:
        for number in range(3):
            await asyncio.sleep(0)
            yield number

    recorder = Recorder()
    from_async_iterable(numbers()).subscribe(recorder)
    await recorder.done

    assert recorder.items == [0, 1, 2]
    assert recorder.completed
    assert recorder.errors == []


async def test_from_async_iterable_routes_source_errors_to_on_error() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise ValueError("source failed")

    recorder = Recorder()
    from_async_iterable(failing()).subscribe(recorder)
    await recorder.done

    assert recorder.items == [1]
    assert [str(error) for error in recorder.errors] == ["source failed"]
    assert not recorder.completed


async def test_from_async_iterable_dispose_cancels_the_task_and_runs_finally() -> None:
    finally_ran = asyncio.Event()
    never = asyncio.Event()

    async def stalls() -> AsyncIterator[int]:
        try:
            yield 1
            await never.wait()
            yield 2
        finally:
            finally_ran.set()

    recorder = Recorder()
    subscription = from_async_iterable(stalls()).subscribe(recorder)
    await recorder.first.wait()

    subscription.dispose()
    await finally_ran.wait()

    assert recorder.items == [1]
    assert recorder.errors == []
    assert not recorder.completed


async def test_from_async_iterable_disposed_from_on_next_stops_pulling_and_runs_finally() -> None:
    pulled: list[int] = []
    finally_ran = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        number = 0
        try:
            while True:
                pulled.append(number)
                yield number
                number += 1
        finally:
            finally_ran.set()

    recorder = Recorder()
    from_async_iterable(endless()).pipe(ops.take(3)).subscribe(recorder)
    await recorder.done

    assert finally_ran.is_set()  # closed by the task itself, not later by the GC finalizer
    assert recorder.items == [0, 1, 2]
    assert recorder.completed
    assert pulled == [0, 1, 2]


async def test_from_async_iterable_disposed_from_on_next_lets_async_cleanup_finish() -> None:
    cleaned_up = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        try:
            while True:
                yield 1
        finally:
            await asyncio.sleep(0)  # a cancellation here would cut the cleanup short
            cleaned_up.set()

    recorder = Recorder()
    from_async_iterable(endless()).pipe(ops.take(1)).subscribe(recorder)

    await cleaned_up.wait()
    assert recorder.items == [1]


async def test_from_async_iterable_dispose_before_the_task_starts_iterates_nothing() -> None:
    started = False

    async def numbers() -> AsyncIterator[int]:
        nonlocal started
        started = True
        yield 1

    recorder = Recorder()
    from_async_iterable(numbers).subscribe(recorder).dispose()
    await loop_turns(3)

    assert not started
    assert recorder.items == []


async def test_from_async_iterable_never_routes_cancelled_error_to_on_error() -> None:
    finished = asyncio.Event()

    async def cancelled() -> AsyncIterator[int]:
        try:
            yield 1
            raise asyncio.CancelledError
        finally:
            finished.set()

    recorder = Recorder()
    from_async_iterable(cancelled()).subscribe(recorder)
    await finished.wait()
    await loop_turns(2)

    assert recorder.items == [1]
    assert recorder.errors == []
    assert not recorder.completed


async def test_from_async_iterable_is_cold_with_a_factory_or_a_reiterable() -> None:
    runs = 0

    async def numbers() -> AsyncIterator[int]:
        nonlocal runs
        runs += 1
        yield runs

    class Reiterable:
        def __aiter__(self) -> AsyncIterator[int]:
            return numbers()

    for source in (from_async_iterable(numbers), from_async_iterable(Reiterable())):
        first, second = Recorder(), Recorder()
        source.subscribe(first)
        source.subscribe(second)
        await asyncio.gather(first.done, second.done)
        assert sorted(first.items + second.items) == [runs - 1, runs]
    assert runs == 4


async def test_from_async_iterable_without_running_loop_reports_on_error() -> None:
    async def numbers() -> AsyncIterator[int]:
        yield 1

    errors: list[Exception] = []

    def subscribe_in_thread() -> None:
        from_async_iterable(numbers).subscribe(on_error=errors.append)

    await asyncio.to_thread(subscribe_in_thread)

    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError)
    assert "running event loop" in str(errors[0])


async def test_from_async_iterable_with_threadsafe_scheduler_accepts_foreign_subscribers() -> None:
    async def numbers() -> AsyncIterator[int]:
        yield 1
        yield 2

    scheduler = AsyncIOThreadSafeScheduler(asyncio.get_running_loop())
    recorder = Recorder()
    await asyncio.to_thread(lambda: from_async_iterable(numbers, scheduler).subscribe(recorder))
    await recorder.done

    assert recorder.items == [1, 2]
    assert recorder.completed


async def test_round_trip_through_both_adapters_and_break_closes_the_generator() -> None:
    finally_ran = asyncio.Event()

    async def numbers() -> AsyncIterator[int]:
        try:
            number = 0
            while True:
                await asyncio.sleep(0)
                yield number
                number += 1
        finally:
            finally_ran.set()

    def times_ten(number: int) -> int:
        return number * 10

    source = from_async_iterable(numbers).pipe(ops.map(times_ten))
    received: list[int] = []
    async for item in to_async_iterable(source):
        received.append(item)
        if len(received) == 3:
            break

    await finally_ran.wait()
    assert received == [0, 10, 20]


@settings(max_examples=40, deadline=None)
@given(
    stream=agent_chunk_streams(), pattern=st.sampled_from(["*", "*-delta", "*tool-*", "*finish"])
)
def test_to_async_iterable_reads_late_wrappers_equal_to_eager_ones(
    stream: list[Chunk], pattern: str
) -> None:
    prefix = "agent-execution-event-"

    def pipeline() -> Observable[Any]:
        return reactivex.from_iterable(stream).pipe(
            prefix_events(prefix), filter_type(prefix + pattern)
        )

    async def read() -> list[Any]:
        return [item async for item in to_async_iterable(pipeline())]

    eager: list[Any] = []
    pipeline().subscribe(eager.append)
    late = asyncio.run(read())
    assert late == eager
    assert [item.model_dump(by_alias=True, exclude_unset=True) for item in late] == [
        item.model_dump(by_alias=True, exclude_unset=True) for item in eager
    ]
