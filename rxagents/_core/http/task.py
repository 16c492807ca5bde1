"""One ``asyncio.Task`` per subscription: the skeleton of every HTTP-backed Observable.

Subscribing starts the task; disposing marks the state disposed and cancels the task, which
closes the HTTP response it holds (the server sees the client leave). The task must stop sending
once ``state.disposed`` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import Disposable

__all__ = ("TaskState", "task_observable")

_T = TypeVar("_T")

_TASKS: set[asyncio.Task[None]] = set()  # strong references, so running tasks are not collected


class TaskState:
    """What one subscription's task shares with its disposable."""

    __slots__ = ("disposed", "emitted", "in_body")

    def __init__(self) -> None:
        self.disposed = False
        """The subscriber left: send nothing more."""
        self.emitted = False
        """Something went downstream (set by the task; nothing may be retried after it)."""
        self.in_body = False
        """The current attempt is reading a successful response's body (set by the task)."""


def task_observable(
    run: Callable[[abc.ObserverBase[_T], TaskState], Coroutine[Any, Any, None]],
) -> Observable[_T]:
    """Return a cold Observable whose every subscription runs ``run`` in a new task.

    Args:
        run: Sends to the observer, watching the state's ``disposed`` flag.
    """

    def subscribe(
        observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        state = TaskState()
        task = asyncio.get_running_loop().create_task(run(observer, state))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

        def dispose() -> None:
            state.disposed = True
            task.cancel()

        return Disposable(dispose)

    return Observable(subscribe)
