"""Call a sync-or-async user function and learn its outcome without a loop hop when possible.

A step's ``execute`` (and conditions, and map functions) may be sync or async. Most async steps
never really wait (they compute and return), so :func:`invoke` runs the coroutine eagerly: its
first leg runs at once, inside a real :class:`asyncio.Task` that is current while it runs
(``asyncio.timeout``, ``TaskGroup`` and aiohttp work as in any task). If it finishes in that
leg, the outcome is reported synchronously and the workflow goes on in the same callback; only
a coroutine that actually waits continues in its task and reports from the task's done
callback. Python 3.12+ does this with ``eager_start``; on 3.11 the task is entered by hand.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Final, TypeVar

from rxagents.errors import StepCancelledError

__all__ = ("Outcome", "invoke")

_T = TypeVar("_T")

Outcome = Callable[[Any, Exception | None], None]
"""``report(value, error)``: how :func:`invoke` reports; ``error`` is ``None`` on success."""

_EAGER_START: Final = sys.version_info >= (3, 12)


def invoke(
    function: Callable[[_T], Any], argument: _T, report: Outcome
) -> asyncio.Task[Any] | None:
    """Call ``function(argument)`` and ``report`` its outcome, synchronously when it is ready.

    Exceptions (``Exception`` only) are reported, never raised. Returns the task still running
    the call, or ``None`` when ``report`` was already called. Cancel the task to cancel the
    call; ignore reports after that (a cancelled call reports a :class:`StepCancelledError`).
    """
    try:
        result = function(argument)
    except Exception as error:
        report(None, error)
        return None
    if not inspect.isawaitable(result):
        report(result, None)
        return None
    coroutine = result if inspect.iscoroutine(result) else _await(result)
    loop = asyncio.get_running_loop()
    if _EAGER_START:
        task: asyncio.Task[Any] = asyncio.Task(  # type: ignore[call-arg,unused-ignore]  # 3.12+
            coroutine, loop=loop, eager_start=True
        )
        if task.done():
            _report_task(task, report)
            return None
    elif asyncio.current_task(loop) is not None:
        task = loop.create_task(coroutine)  # inside another task: no eager leg (rare)
    else:
        continuation = _Continuation(coroutine)
        task = loop.create_task(continuation)
        asyncio.tasks._enter_task(loop, task)  # private, stable in 3.11; what 3.12 does
        try:
            continuation.first_leg()
        finally:
            asyncio.tasks._leave_task(loop, task)
        if continuation.finished:
            failure = continuation.error
            if failure is None:
                report(continuation.value, None)
            elif isinstance(failure, Exception):
                report(None, failure)
            elif isinstance(failure, asyncio.CancelledError):
                report(None, StepCancelledError("the call was cancelled"))
            else:
                raise failure  # KeyboardInterrupt, SystemExit
            return None
    task.add_done_callback(lambda done: _report_task(done, report))
    return task


def _report_task(task: asyncio.Task[Any], report: Outcome) -> None:
    if task.cancelled():
        report(None, StepCancelledError("the call was cancelled"))
        return
    error = task.exception()
    if error is None:
        report(task.result(), None)
    elif isinstance(error, Exception):
        report(None, error)
    else:
        raise error  # KeyboardInterrupt, SystemExit: not a step failure


async def _await(awaitable: Any) -> Any:
    return await awaitable


class _Continuation(Coroutine[Any, Any, Any]):
    """A task's coroutine (Python 3.11) whose first leg already ran eagerly.

    The eager leg ran the user's coroutine up to its first real wait (``pending``); the task's
    first step hands that same future to the task instead of restarting the coroutine.
    Cancellation thrown into the task goes into the user's coroutine, also before the task's
    first step. When the eager leg finished, the task's first step is a no-op: the outcome was
    reported already, so the task ends with ``None`` (no "exception never retrieved").
    """

    __slots__ = ("_coroutine", "_pending", "_started", "error", "finished", "value")

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self._coroutine = coroutine
        self._started = False
        self._pending: Any = None
        self.finished = False
        self.value: Any = None
        self.error: BaseException | None = None

    def first_leg(self) -> None:
        """Run the user's coroutine up to its first wait, or to its end."""
        try:
            self._pending = self._coroutine.send(None)
        except StopIteration as stop:
            self.finished = True
            self.value = stop.value
        except BaseException as error:
            self.finished = True
            self.error = error

    def send(self, value: Any) -> Any:
        if self.finished:
            raise StopIteration(None)
        if not self._started:
            self._started = True
            return self._pending
        return self._coroutine.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        error = typ if val is None else val
        if isinstance(error, type):
            error = error()
        if self.finished:
            raise error
        self._started = True
        return self._coroutine.throw(error)

    def close(self) -> None:
        if not self.finished:
            self._coroutine.close()

    def __await__(self) -> Generator[Any, None, Any]:
        raise TypeError("a _Continuation is driven by its task only")
