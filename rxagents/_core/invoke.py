"""Call a sync-or-async user function and learn its outcome without a loop hop when possible.

A step's ``execute`` (and conditions, and map functions) may be sync or async. Most async steps
never really wait (they compute and return), so :func:`invoke` runs the coroutine eagerly: its
first leg runs at once, inside a real :class:`asyncio.Task` that is current while it runs
(``asyncio.timeout``, ``TaskGroup`` and aiohttp work as in any task). If it finishes in that
leg, the outcome is reported synchronously and the workflow goes on in the same callback; only
a coroutine that actually waits continues in its task and reports from the task's done
callback. Python 3.12+ does this with ``eager_start``; on 3.11 the task is entered by hand, and
the calls of one event-loop callback whose legs finish share one task (see :class:`_Spare`).
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import types
from collections.abc import Callable, Coroutine, Generator
from types import CoroutineType
from typing import Any, Final, TypeVar

from rxagents.errors import StepCancelledError

__all__ = ("Outcome", "invoke")

_T = TypeVar("_T")

Outcome = Callable[[Any, Exception | None], None]
"""``report(value, error)``: how :func:`invoke` reports; ``error`` is ``None`` on success."""

_EAGER_START: Final = sys.version_info >= (3, 12)
_enter_task = asyncio.tasks._enter_task
_leave_task = asyncio.tasks._leave_task
_current_tasks: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] = vars(asyncio.tasks).get(
    "_current_tasks",
    {},  # private, not in the type stubs; read on 3.11 only
)
"""What ``asyncio.current_task(loop)`` reads (3.11 has no C function for it)."""


def invoke(
    function: Callable[[_T], Any],
    argument: _T,
    report: Outcome,
    loop: asyncio.AbstractEventLoop | None = None,
) -> asyncio.Task[Any] | None:
    """Call ``function(argument)`` and ``report`` its outcome, synchronously when it is ready.

    Exceptions (``Exception`` only) are reported, never raised. Returns the task still running
    the call, or ``None`` when ``report`` was already called. Cancel the task to cancel the
    call; ignore reports after that (a cancelled call reports a :class:`StepCancelledError`).
    ``loop`` is the running loop when the caller knows it (asking costs a system call).
    """
    try:
        result = function(argument)
    except Exception as error:
        report(None, error)
        return None
    if type(result) is CoroutineType:  # an async function's call: skip the general checks
        coroutine: Coroutine[Any, Any, Any] = result
    elif inspect.isawaitable(result):
        coroutine = result if inspect.iscoroutine(result) else _await(result)
    else:
        report(result, None)
        return None
    if loop is None:
        loop = asyncio.get_running_loop()
    if _EAGER_START:
        task: asyncio.Task[Any] = asyncio.Task(  # type: ignore[call-arg,unused-ignore]  # 3.12+
            coroutine, loop=loop, eager_start=True
        )
        if task.done():
            _report_task(task, report)
            return None
    elif _current_tasks.get(loop) is not None:
        task = loop.create_task(coroutine)  # inside another task: no eager leg (rare)
    else:
        global _spare
        spare = _spare
        if spare is None or spare.loop is not loop or spare.task.done() or spare.task.cancelling():
            spare = _spare = _Spare(loop)
        task = spare.task
        outcome = spare.outcome
        _enter_task(loop, task)  # private, stable in 3.11; what 3.12 does
        try:
            out = spare.runner.send(coroutine)
        finally:
            _leave_task(loop, task)
        if out is not outcome:  # it waits on ``out``
            spare.continuation.take(spare.runner, outcome, out)
            _spare = None  # the call waits: the task is its own now
        else:  # the task carries the next call's eager leg
            value, failure = outcome.value, outcome.error
            outcome.value = outcome.error = None  # keep nothing of it
            if failure is None:
                report(value, None)
            elif isinstance(failure, Exception):
                report(None, failure)
            elif isinstance(failure, asyncio.CancelledError):
                report(None, StepCancelledError("the call was cancelled"))
            else:
                _spare = None
                raise failure  # KeyboardInterrupt, SystemExit
            return None
    task.add_done_callback(lambda done: _report_task(done, report))
    return task


class _Spare:
    """A task not yet stepped, lending itself to eager legs until one of them waits.

    A task is what makes ``asyncio.current_task()``, ``asyncio.timeout`` and ``TaskGroup`` work
    in an eager leg, but creating one and letting its first step run costs several times a
    trivial step. A leg that finishes leaves the task as it found it (no done callback, no
    cancellation), so the calls of one event-loop callback share one task: the first call that
    really waits keeps it and continues in it, the next call makes a new one. A spare that no
    call took ends with ``None`` at its first step, as a task whose leg finished always did.
    The legs run in the spare's :func:`_legs` runner, which goes to the call that waits.
    """

    __slots__ = ("continuation", "loop", "outcome", "runner", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.outcome = _Outcome()
        self.runner = _legs(self.outcome)
        self.runner.send(None)
        self.continuation = _Continuation()
        self.task: asyncio.Task[Any] = loop.create_task(self.continuation)


_spare: _Spare | None = None
"""The spare task of the loop that last ran an eager leg here (checked against the loop)."""


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


class _Outcome:
    """How the last coroutine a :func:`_legs` runner ran ended: its value or its error."""

    __slots__ = ("error", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None

    def take(self) -> tuple[Any, BaseException | None]:
        """Return ``(value, error)`` and forget them."""
        found = self.value, self.error
        self.value = self.error = None
        return found


Legs = Generator[Any, Any, None]


@types.coroutine
def _legs(outcome: _Outcome) -> Legs:
    """Run each coroutine sent in, in this frame: to its end, or up to its first wait.

    Yields ``outcome`` (filled in) when the coroutine ended: no exception says so, unlike
    ``coroutine.send``, which ends in a ``StopIteration``. Otherwise it yields what the
    coroutine waits on, and then belongs to that coroutine until it ends.
    """
    coroutine = yield outcome
    while True:
        try:
            outcome.value = yield from coroutine
        except GeneratorExit:
            raise
        except BaseException as error:
            outcome.error = error
        coroutine = None  # ended: keep nothing of it
        coroutine = yield outcome


class _Continuation(Coroutine[Any, Any, Any]):
    """A task's coroutine (Python 3.11) whose first leg already ran eagerly.

    The eager leg ran the user's coroutine (in a :func:`_legs` runner) up to its first real
    wait (``pending``); the task's first step hands that same future to the task instead of
    restarting the coroutine, later steps go on through the runner, and its outcome ends the
    task. Cancellation thrown into the task goes into the user's coroutine, also before the
    task's first step. Until a leg that waits is handed over (:meth:`take`), the continuation
    holds no coroutine and counts as finished: the task's first step is then a no-op (the
    outcomes were reported already), so a spare no call took ends with ``None``.
    """

    __slots__ = ("_outcome", "_pending", "_runner", "_started", "finished")

    def __init__(self) -> None:
        self._runner: Legs | None = None
        self._outcome = _Outcome()
        self._started = False
        self._pending: Any = None
        self.finished = True

    def take(self, runner: Legs, outcome: _Outcome, pending: Any) -> None:
        """Continue the coroutine in ``runner``, whose eager leg waits on ``pending``."""
        self._runner = runner
        self._outcome = outcome
        self._pending = pending
        self.finished = False

    def send(self, value: Any) -> Any:
        if self.finished:
            raise StopIteration(None)
        if not self._started:
            self._started = True
            return self._pending
        assert self._runner is not None
        return self._step(self._runner.send(value))

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        error = typ if val is None else val
        if isinstance(error, type):
            error = error()
        try:
            if self.finished:
                raise error
            self._started = True
            assert self._runner is not None
            return self._step(self._runner.throw(error))
        finally:
            del typ, val, error  # its traceback holds this frame: no reference cycle

    def _step(self, out: Any) -> Any:
        if out is not self._outcome:
            return out  # waits again
        self.finished = True
        self._runner = None
        value, error = self._outcome.take()
        if error is not None:
            try:
                raise error
            finally:
                del error  # its traceback holds this frame: no reference cycle
        raise StopIteration(value)

    def close(self) -> None:
        if not self.finished and self._runner is not None:
            self._runner.close()

    def __await__(self) -> Generator[Any, None, Any]:
        raise TypeError("a _Continuation is driven by its task only")
