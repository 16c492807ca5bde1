"""Marble tests for chunk pipelines on ``reactivex.testing.TestScheduler``.

:func:`chunk_records` turns chunks (or any values) into timed notifications; :func:`run_marbles`
feeds them through a pipeline in virtual time and returns what came out together with the
source's subscription window, the proof that the pipeline unsubscribes.

Example:
    >>> from reactivex import operators as ops
    >>> from rxagents.events import TextDelta, TextDeltaPayload
    >>> deltas = [TextDelta(run_id="r1", payload=TextDeltaPayload(id="t", text=s)) for s in "ab"]
    >>> result = run_marbles(ops.map(lambda c: c.payload.text), chunk_records(deltas))
    >>> result.values, result.times, result.completed
    (['a', 'b'], [210.0, 220.0], True)
    >>> result.subscriptions
    [(200.0, 230)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from reactivex import Observable
from reactivex.notification import OnCompleted, OnError, OnNext
from reactivex.testing import ReactiveTest, Recorded, TestScheduler
from reactivex.testing.subscription import Subscription

__all__ = ("MarbleResult", "chunk_records", "run_marbles")

_T = TypeVar("_T")
_R = TypeVar("_R")


def chunk_records(
    items: Iterable[_T],
    *,
    start: int = 10,
    interval: int = 10,
    complete: bool = True,
    error: Exception | None = None,
) -> list[Recorded[_T]]:
    """Turn values into timed ``on_next`` notifications, then completion or an error.

    The first value comes at tick ``start``, the next ones every ``interval`` ticks; the end
    (``on_error`` when ``error`` is given, else ``on_completed`` unless ``complete`` is false)
    comes one ``interval`` after the last value. Ticks are relative to the subscription for a cold
    source (the default of :func:`run_marbles`) and absolute for a hot one.

    Args:
        items: The values, e.g. a chunk stream.
        start: Tick of the first value.
        interval: Ticks between two notifications.
        complete: Whether the source completes (ignored when ``error`` is given).
        error: End with this error instead of completing.
    """
    records = [ReactiveTest.on_next(start + i * interval, item) for i, item in enumerate(items)]
    end = start + len(records) * interval
    if error is not None:
        records.append(ReactiveTest.on_error(end, error))
    elif complete:
        records.append(ReactiveTest.on_completed(end))
    return records


@dataclass(frozen=True, slots=True)
class MarbleResult(Generic[_R]):
    """What a pipeline emitted in virtual time.

    Attributes:
        messages: Every notification the pipeline emitted, with its tick.
        subscriptions: The source's subscription windows ``(subscribe, unsubscribe)``.
    """

    messages: list[Recorded[_R]]
    subscriptions: list[Subscription]

    @property
    def values(self) -> list[_R]:
        """The emitted values, in order."""
        return [m.value.value for m in self.messages if isinstance(m.value, OnNext)]

    @property
    def times(self) -> list[float]:
        """The tick of each emitted value."""
        return [m.time for m in self.messages if isinstance(m.value, OnNext)]

    @property
    def completed(self) -> bool:
        """Whether the pipeline completed."""
        return any(isinstance(m.value, OnCompleted) for m in self.messages)

    @property
    def error(self) -> Exception | None:
        """The error the pipeline ended with, if any."""
        for message in self.messages:
            if isinstance(message.value, OnError):
                return message.value.exception
        return None


def run_marbles(
    pipeline: Callable[[Observable[_T]], Observable[_R]],
    records: Sequence[Recorded[_T]],
    *,
    scheduler: TestScheduler | None = None,
    hot: bool = False,
    subscribed: int = ReactiveTest.subscribed,
    disposed: int = ReactiveTest.disposed,
) -> MarbleResult[_R]:
    """Run ``records`` through ``pipeline`` on a test scheduler and record the output.

    The pipeline is subscribed at tick ``subscribed`` (200) and disposed at ``disposed`` (1000),
    as in ``TestScheduler.start``. Time-based operators should be given the same ``scheduler``
    (create one, pass it to the operator and here).

    Example:
        >>> from reactivex import operators as ops
        >>> result = run_marbles(ops.take(1), chunk_records(["x", "y"]))
        >>> result.values, result.subscriptions
        (['x'], [(200.0, 210)])

    Args:
        pipeline: The operator (or composition) under test, e.g. ``filter_type("text-delta")``.
        records: The source notifications, e.g. from :func:`chunk_records`.
        scheduler: The virtual-time scheduler; a new one when omitted.
        hot: Make the source hot (ticks absolute) instead of cold (ticks after subscription).
        subscribed: Tick at which the pipeline is subscribed.
        disposed: Tick at which the subscription is disposed.
    """
    scheduler = scheduler or TestScheduler()
    messages = list(records)
    source = (
        scheduler.create_hot_observable(messages)
        if hot
        else scheduler.create_cold_observable(messages)
    )
    observer = scheduler.start(lambda: pipeline(source), subscribed=subscribed, disposed=disposed)
    return MarbleResult(observer.messages, list(source.subscriptions))
