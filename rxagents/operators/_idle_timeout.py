"""``idle_timeout``: fail a stream that goes quiet for too long."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable, SingleAssignmentDisposable

from rxagents.errors import IdleTimeoutError

from ._common import check_seconds, resolve_scheduler

__all__ = ("idle_timeout",)

_T = TypeVar("_T")


def idle_timeout(
    seconds: float, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Mirror the source, but fail when no item arrives within ``seconds``.

    The clock starts at subscription and restarts at every item. When it runs out, the source
    is disposed (which cancels the work behind it) and the stream ends with
    :class:`~rxagents.errors.IdleTimeoutError` (also a :class:`TimeoutError`). Completion and
    errors from the source pass through and stop the clock. One timer runs per subscription and
    items only record their arrival time, so the cost per item stays small.

    ::

        source:  -a--b-------------c-|       (seconds = 5 dashes)
                  idle_timeout(seconds)
        result:  -a--b-----#                 # = IdleTimeoutError(seconds)

    Args:
        seconds: The longest allowed silence; positive.
        scheduler: Where the timer runs. Default: the scheduler given to ``subscribe``, else an
            ``AsyncIOScheduler`` on the running event loop, else ``TimeoutScheduler``.

    Returns:
        An operator for ``Observable.pipe`` that mirrors its source with a deadline.

    Raises:
        InvalidInputError: ``seconds`` is not a positive number.

    Example:
        >>> import reactivex
        >>> from reactivex.testing import TestScheduler
        >>> clock = TestScheduler()  # virtual time; in an app, leave ``scheduler`` out
        >>> errors = []
        >>> _ = reactivex.never().pipe(idle_timeout(30, scheduler=clock)).subscribe(
        ...     on_error=errors.append
        ... )
        >>> clock.advance_by(30)
        >>> errors
        [IdleTimeoutError('no chunk arrived within 30 s')]

        In an app, give up on a provider that stops streaming for 30 seconds:
        ``agent.observe(messages).pipe(idle_timeout(30))``.
    """
    limit = check_seconds("idle_timeout", seconds)
    window = timedelta(seconds=limit)

    def operator(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            clock = resolve_scheduler(scheduler, scheduler_)
            lock = threading.RLock()
            timer = SerialDisposable()
            subscription = SingleAssignmentDisposable()
            last = clock.now
            stopped = False

            def on_timer(_: abc.SchedulerBase, __: Any = None) -> None:
                nonlocal stopped
                with lock:
                    if stopped:
                        return
                    quiet = clock.now - last
                    if quiet < window:
                        timer.disposable = clock.schedule_relative(window - quiet, on_timer)
                        return
                    stopped = True
                    subscription.dispose()
                    observer.on_error(IdleTimeoutError(limit))

            def on_next(value: _T) -> None:
                nonlocal last
                with lock:
                    if stopped:
                        return
                    last = clock.now
                    observer.on_next(value)

            def on_error(error: Exception) -> None:
                nonlocal stopped
                with lock:
                    if stopped:
                        return
                    stopped = True
                    timer.dispose()
                    observer.on_error(error)

            def on_completed() -> None:
                nonlocal stopped
                with lock:
                    if stopped:
                        return
                    stopped = True
                    timer.dispose()
                    observer.on_completed()

            timer.disposable = clock.schedule_relative(window, on_timer)
            subscription.disposable = source.subscribe(
                on_next, on_error, on_completed, scheduler=scheduler_
            )
            return CompositeDisposable(subscription, timer)

        return Observable(subscribe)

    return operator
