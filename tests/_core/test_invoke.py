"""The eager driver: async steps start at once, in a real task, and report synchronously."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import pytest

from rxagents._core.invoke import invoke
from rxagents.errors import StepCancelledError


def from_callback(action: Any) -> asyncio.Future[Any]:
    """Run ``action()`` from a plain event-loop callback (where workflows run steps)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def run() -> None:
        try:
            future.set_result(action())
        except Exception as error:
            future.set_exception(error)

    loop.call_soon(run)
    return future


class Reports:
    def __init__(self) -> None:
        self.items: list[tuple[Any, BaseException | None]] = []
        self.arrived = asyncio.Event()

    def __call__(self, value: Any, error: Exception | None) -> None:
        self.items.append((value, error))
        self.arrived.set()


async def test_a_sync_function_reports_at_once() -> None:
    reports = Reports()
    assert invoke(lambda x: x + 1, 1, reports) is None
    assert reports.items == [(2, None)]


async def test_an_async_function_that_never_waits_reports_at_once_without_a_loop_hop() -> None:
    reports = Reports()

    async def quick(x: int) -> int:
        return x * 2

    task = await from_callback(lambda: invoke(quick, 21, reports))
    assert task is None
    assert reports.items == [(42, None)]


async def test_the_eager_leg_runs_inside_a_real_current_task() -> None:
    reports = Reports()

    async def needs_task(_: Any) -> str:
        task = asyncio.current_task()
        assert task is not None
        async with asyncio.timeout(5):  # needs a current task
            await asyncio.sleep(0)
        return "ok"

    task = await from_callback(lambda: invoke(needs_task, None, reports))
    assert task is not None  # it waited, so it continues in its task
    await reports.arrived.wait()
    assert reports.items == [("ok", None)]


async def test_a_waiting_coroutine_continues_in_its_task_and_reports_from_there() -> None:
    reports = Reports()
    gate = asyncio.Event()

    async def waits(_: Any) -> str:
        await gate.wait()
        return "done"

    task = await from_callback(lambda: invoke(waits, None, reports))
    assert task is not None
    assert reports.items == []
    gate.set()
    await reports.arrived.wait()
    assert reports.items == [("done", None)]


async def test_exceptions_are_reported_not_raised() -> None:
    reports = Reports()

    async def fails_later(_: Any) -> None:
        await asyncio.sleep(0)
        raise ValueError("later")

    async def fails_now(_: Any) -> None:
        raise KeyError("now")

    def fails_sync(_: Any) -> None:
        raise TypeError("sync")

    await from_callback(lambda: invoke(fails_now, None, reports))
    invoke(fails_sync, None, reports)
    await from_callback(lambda: invoke(fails_later, None, reports))
    while len(reports.items) < 3:
        reports.arrived.clear()
        await reports.arrived.wait()
    assert [type(e).__name__ for _, e in reports.items] == ["KeyError", "TypeError", "ValueError"]


async def test_cancelling_the_task_reaches_the_coroutine() -> None:
    reports = Reports()
    seen = asyncio.Event()

    async def waits(_: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.set()
            raise

    task = await from_callback(lambda: invoke(waits, None, reports))
    assert task is not None
    task.cancel()
    await seen.wait()
    await reports.arrived.wait()
    assert isinstance(reports.items[0][1], StepCancelledError)


async def test_cancelling_before_the_task_ever_ran_still_reaches_the_coroutine() -> None:
    reports = Reports()
    seen = asyncio.Event()

    async def waits(_: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.set()
            raise

    def start_and_cancel() -> None:
        task = invoke(waits, None, reports)
        assert task is not None
        task.cancel()  # the task's first step has not run yet

    await from_callback(start_and_cancel)
    await seen.wait()


async def test_awaitables_that_are_not_coroutines_are_awaited() -> None:
    reports = Reports()
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    await from_callback(lambda: invoke(lambda _: future, None, reports))
    future.set_result("from a future")
    await reports.arrived.wait()
    assert reports.items == [("from a future", None)]


async def test_inside_another_task_the_call_still_works() -> None:
    reports = Reports()

    async def quick(x: int) -> int:
        await asyncio.sleep(0)
        return x

    invoke(quick, 5, reports)  # called from the test's own task
    await reports.arrived.wait()
    assert reports.items == [(5, None)]


@pytest.mark.parametrize("n", [200])
async def test_many_quick_async_calls_leave_no_pending_exceptions(n: int) -> None:
    reports = Reports()

    async def quick(x: int) -> int:
        if x % 2:
            raise ValueError(x)
        return x

    await from_callback(lambda: [invoke(quick, i, reports) for i in range(n)])
    await asyncio.sleep(0)  # let the finished tasks' no-op steps run (no warnings expected)
    assert len(reports.items) == n


async def test_quick_and_waiting_calls_of_one_callback_each_report_from_their_own_leg() -> None:
    reports = Reports()
    gate = asyncio.Event()
    seen: list[asyncio.Task[Any] | None] = []

    async def quick(x: int) -> int:
        seen.append(asyncio.current_task())
        return x

    async def waits(x: int) -> int:
        seen.append(asyncio.current_task())
        await gate.wait()
        return x

    def run_all() -> list[asyncio.Task[Any] | None]:
        return [
            invoke(quick, 1, reports),
            invoke(waits, 2, reports),
            invoke(quick, 3, reports),
            invoke(waits, 4, reports),
        ]

    tasks = await from_callback(run_all)
    assert tasks[0] is None
    assert tasks[2] is None
    first, second = tasks[1], tasks[3]
    assert first is not None
    assert second is not None
    assert first is not second
    assert all(task is not None for task in seen)
    assert seen[1] is first
    assert seen[3] is second
    assert reports.items == [(1, None), (3, None)]
    gate.set()
    while len(reports.items) < 4:
        reports.arrived.clear()
        await reports.arrived.wait()
    assert sorted(value for value, _ in reports.items) == [1, 2, 3, 4]


async def test_a_quick_call_that_cancels_its_task_leaves_the_next_calls_alone() -> None:
    reports = Reports()

    async def cancels_itself(_: Any) -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        return "ignored the request"

    async def waits(_: Any) -> str:
        await asyncio.sleep(0)
        return "finished"

    def run_both() -> asyncio.Task[Any] | None:
        invoke(cancels_itself, None, reports)
        return invoke(waits, None, reports)

    task = await from_callback(run_both)
    assert task is not None
    while len(reports.items) < 2:
        reports.arrived.clear()
        await reports.arrived.wait()
    assert reports.items == [("ignored the request", None), ("finished", None)]


async def test_quick_calls_keep_nothing_of_their_outcomes_once_reported() -> None:
    class Output:
        pass

    class Failure(RuntimeError):
        pass

    reports = Reports()

    async def quick(_: Any) -> Output:
        return Output()

    async def fails(_: Any) -> None:
        raise Failure("failed at once")

    await from_callback(lambda: invoke(quick, None, reports))
    await from_callback(lambda: invoke(fails, None, reports))
    value, error = reports.items[0][0], reports.items[1][1]
    kept = [weakref.ref(value), weakref.ref(error)]
    reports.items.clear()
    del value, error
    assert [ref() for ref in kept] == [None, None]
