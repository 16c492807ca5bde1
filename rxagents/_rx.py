"""Lean Observables: the library's own subscribe functions, called without Rx's wrappers.

``Observable.subscribe`` wraps every observer in an ``AutoDetachObserver`` and, outside a
trampoline, runs the subscription on the ``CurrentThreadScheduler`` (a lock and a scheduled
item): tens of microseconds per subscription. Between the library's own pieces — models, agent
runs, workflow nodes — :func:`subscribe_direct` calls a :func:`lean` Observable's subscribe
function directly; each of them follows the Rx grammar itself. Anything else (a user's
Observable) is subscribed the ordinary way, and a lean Observable is an ordinary Observable to
everyone else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from reactivex import Observable, abc

__all__ = ("Subscribe", "lean", "subscribe_direct")

_T = TypeVar("_T")

Subscribe = Callable[[abc.ObserverBase[_T], abc.SchedulerBase | None], abc.DisposableBase]


class _Lean(Observable[_T]):
    """An Observable whose subscribe function the library trusts to follow the Rx grammar."""

    def __init__(self, subscribe: Subscribe[_T]) -> None:
        super().__init__(subscribe)
        self.direct = subscribe


def lean(subscribe: Subscribe[_T]) -> Observable[_T]:
    """Return ``Observable(subscribe)`` marked for :func:`subscribe_direct`.

    ``subscribe`` must follow the Rx grammar on its own (no wrappers protect it then).
    """
    return _Lean(subscribe)


class _Relay:
    """An observer whose callbacks are plain attributes (bound methods of the downstream).

    Structurally an ``ObserverBase``: calling ``relay.on_next(x)`` calls the downstream's
    callback with no frame in between.
    """

    __slots__ = ("on_completed", "on_error", "on_next")

    def __init__(
        self,
        on_next: Callable[[Any], None],
        on_error: Callable[[Exception], None],
        on_completed: Callable[[], None],
    ) -> None:
        self.on_next = on_next
        self.on_error = on_error
        self.on_completed = on_completed


def subscribe_direct(
    source: Observable[_T],
    on_next: Callable[[_T], None],
    on_error: Callable[[Exception], None],
    on_completed: Callable[[], None],
) -> abc.DisposableBase:
    """Subscribe ``source``: directly when it is :func:`lean`, else with ``subscribe``."""
    if isinstance(source, _Lean):
        relay = cast(abc.ObserverBase[_T], _Relay(on_next, on_error, on_completed))
        return source.direct(relay, None)
    return source.subscribe(on_next, on_error, on_completed)
