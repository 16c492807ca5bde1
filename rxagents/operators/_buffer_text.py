"""``buffer_text``: batch text deltas into fewer, larger updates without delaying the first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable

from rxagents.errors import InvalidInputError

from ._common import check_positive_int, check_seconds, resolve_scheduler

__all__ = ("buffer_text",)


def buffer_text(
    seconds: float, max_chars: int | None = None, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[str]], Observable[str]]:
    """Join text deltas into batches emitted at most once per ``seconds``; the first goes at once.

    The input is text (``str``), such as the output of :func:`text_deltas`. A delta that arrives
    when at least ``seconds`` have passed since the last batch (the first delta, or the first
    after a pause) is emitted immediately, alone. Deltas arriving sooner are joined and emitted
    ``seconds`` after the last batch, or as soon as the joined text reaches ``max_chars``.
    Deltas are never split, so a batch may exceed ``max_chars`` by its last delta's length.
    Empty strings are skipped. On completion the pending text is flushed, then the stream
    completes; on error it is flushed, then the error is forwarded. Disposing drops pending
    text and cancels the timer.

    ::

        source:  -a-b-c--------d------------e-|        (seconds = 6 dashes)
                  buffer_text(seconds)
        result:  -a-----"bc"---"d"----------e-|

    Args:
        seconds: The shortest time between two batches; positive.
        max_chars: Flush as soon as the pending text has at least this many characters;
            ``None`` for no limit.
        scheduler: Where timers run. Default: the scheduler given to ``subscribe``, else an
            ``AsyncIOScheduler`` on the running event loop, else ``TimeoutScheduler``.

    Returns:
        An operator for ``Observable.pipe`` turning text deltas into text batches.

    Raises:
        InvalidInputError: ``seconds`` is not a positive number or ``max_chars`` is not a
            positive integer or ``None``.

    Example:
        >>> import reactivex
        >>> out = []
        >>> _ = reactivex.of("He", "l", "lo").pipe(buffer_text(0.1)).subscribe(out.append)
        >>> out  # the first delta at once; the rest within 0.1 s (here: at completion)
        ['He', 'llo']

        In an app, at most ten UI updates a second, the first token without delay:
        ``stream.observable.pipe(text_deltas(), buffer_text(0.1, max_chars=2000))``.
    """
    window = timedelta(seconds=check_seconds("buffer_text", seconds))
    limit = check_positive_int("buffer_text", "max_chars", max_chars)

    def operator(source: Observable[str]) -> Observable[str]:
        def subscribe(
            observer: abc.ObserverBase[str], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            clock = resolve_scheduler(scheduler, scheduler_)
            lock = threading.RLock()
            timer = SerialDisposable()
            pending: list[str] = []
            size = 0
            last_flush: datetime | None = None
            stopped = False

            def flush() -> None:
                # Called with the lock held and text pending.
                nonlocal size, last_flush
                batch = "".join(pending)
                pending.clear()
                size = 0
                last_flush = clock.now
                timer.disposable = Disposable()
                observer.on_next(batch)

            def on_timer(_: abc.SchedulerBase, __: Any = None) -> None:
                with lock:
                    if not stopped and pending:
                        flush()

            def on_next(text: object) -> None:
                nonlocal size
                if not isinstance(text, str):
                    on_error(
                        InvalidInputError(
                            f"buffer_text() expects str text deltas, got {type(text).__name__}; "
                            "pipe text_deltas() first"
                        )
                    )
                    return
                if not text:
                    return
                with lock:
                    if stopped:
                        return
                    first = not pending
                    pending.append(text)
                    size += len(text)
                    if first:
                        waited = None if last_flush is None else clock.now - last_flush
                        if (
                            waited is None
                            or waited >= window
                            or (limit is not None and size >= limit)
                        ):
                            flush()
                        else:
                            timer.disposable = clock.schedule_relative(window - waited, on_timer)
                    elif limit is not None and size >= limit:
                        flush()

            def on_error(error: Exception) -> None:
                nonlocal stopped
                with lock:
                    if stopped:
                        return
                    if pending:
                        flush()
                    stopped = True
                    timer.dispose()
                    observer.on_error(error)

            def on_completed() -> None:
                nonlocal stopped
                with lock:
                    if stopped:
                        return
                    if pending:
                        flush()
                    stopped = True
                    timer.dispose()
                    observer.on_completed()

            subscription = source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)
            return CompositeDisposable(subscription, timer)

        return Observable(subscribe)

    return operator
