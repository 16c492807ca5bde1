"""Rx plumbing the library's own pieces share: lean subscriptions, concat, merge, one-shot runs.

``Observable.subscribe`` wraps every observer in an ``AutoDetachObserver`` and, outside a
trampoline, runs the subscription on the ``CurrentThreadScheduler`` (a lock and a scheduled
item): tens of microseconds per subscription. Between the library's own pieces — models, agent
runs, workflow nodes — :func:`subscribe_direct` calls a :func:`lean` Observable's subscribe
function directly; each of them follows the Rx grammar itself. Anything else (a user's
Observable) is subscribed the ordinary way, and a lean Observable is an ordinary Observable to
everyone else.

:func:`concat_each` and :func:`merge_each` are ordinary operators (``Observable(subscribe)``,
errors forwarded, disposal reaching the sources). They exist because the generic ones cost more
per inner Observable than a whole trivial step: reactivex's ``concat_with_iterable`` schedules
every child on the ``CurrentThreadScheduler`` (a timestamped scheduled item each), and its
``merge`` wraps each inner subscription's callbacks in fresh ``synchronized`` decorators. The
library runs on one event-loop thread, so a plain trampoline does the same job.

:class:`OneShotRun` is the skeleton of every run (agent, legacy agent, workflow stream,
network): subscribed once, started from the next event-loop callback (so the caller gets its
stream object before anything runs, and cancelling always works), stopped by its disposable.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, NamedTuple, TypeVar, cast

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents.errors import RunStateError

__all__ = (
    "Defer",
    "LateMap",
    "LeanSource",
    "OneShotRun",
    "Subscribe",
    "concat_each",
    "lean",
    "merge_each",
    "subscribe_direct",
)

_T = TypeVar("_T")

Subscribe = Callable[[abc.ObserverBase[_T], abc.SchedulerBase | None], abc.DisposableBase]


class _Lean(Observable[_T]):
    """An Observable whose subscribe function the library trusts to follow the Rx grammar."""

    def __init__(self, subscribe: Subscribe[_T]) -> None:
        # Observable.__init__ would make a lock per Observable; the library's own subscriptions
        # never take it (a workflow makes one Observable per step), so it comes on first use
        self._subscribe = subscribe
        self.direct = subscribe

    @property
    def lock(self) -> threading.RLock:
        """The lock some reactivex operators take on their source, made when first asked."""
        found: threading.RLock | None = self.__dict__.get("_lock")
        if found is None:
            found = self.__dict__.setdefault("_lock", threading.RLock())
        return found

    @lock.setter
    def lock(self, value: threading.RLock) -> None:
        self.__dict__["_lock"] = value


class LeanSource(_Lean[_T], ABC):
    """A lean Observable as an object: subclasses keep what they need and define :meth:`direct`.

    Cheaper than :func:`lean` over a closure when one is made per item of work (a workflow
    makes one per step): no cells, no function object.
    """

    def __init__(self) -> None:
        """Keep nothing (no lock, no subscribe function): subclasses set their own state."""

    def _subscribe(
        self, observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return self.direct(observer, scheduler)

    @abstractmethod
    def direct(
        self, observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        """Subscribe ``observer``, following the Rx grammar without wrappers."""
        ...


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


class LateMap(NamedTuple):
    """A one-to-one map whose result a consumer may build when it reads an item (see ``defer``).

    ``build(raw)`` makes the mapped item; ``kind(raw)`` gives the ``type`` the mapped item will
    have, without building it, for filters in between.
    """

    build: Callable[[Any], Any]
    kind: Callable[[Any], str]


Defer = Callable[[LateMap], Callable[[Any], None] | None]
"""``defer(late_map)``: agree to take raw items and build them on read; returns their on_next.

``None`` refuses: the asker then builds each item itself and calls ``on_next`` as usual.
"""


class _ExtendedRelay(_Relay):
    """A :class:`_Relay` also offering ``on_compact`` and/or ``defer``: see ``subscribe_direct``."""

    __slots__ = ("defer", "on_compact")

    def __init__(
        self,
        on_next: Callable[[Any], None],
        on_error: Callable[[Exception], None],
        on_completed: Callable[[], None],
        on_compact: Callable[[tuple[Any, ...]], None] | None,
        defer: Defer | None,
    ) -> None:
        super().__init__(on_next, on_error, on_completed)
        self.on_compact = on_compact
        self.defer = defer


def subscribe_direct(
    source: Observable[_T],
    on_next: Callable[[_T], None],
    on_error: Callable[[Exception], None],
    on_completed: Callable[[], None],
    scheduler: abc.SchedulerBase | None = None,
    *,
    on_compact: Callable[[tuple[Any, ...]], None] | None = None,
    defer: Defer | None = None,
) -> abc.DisposableBase:
    """Subscribe ``source``: directly when it is :func:`lean`, else with ``subscribe``.

    With ``on_compact``, a lean source's observer has an ``on_compact`` attribute: a run may
    send a chunk through it in its compact form (``rxagents.events._compact``) instead of
    building it.

    With ``defer``, a lean source's observer has a ``defer`` attribute. A lean one-to-one map
    (``prefix_events``) may call it once, when subscribed, with a :class:`LateMap`; when the
    answer is a callable, the map sends its raw inputs there and the consumer builds each
    mapped item when it reads it, so items waiting in a consumer's buffer are never built
    early. A lean filter in between passes the offer on (``filter_type``, through
    ``LateMap.kind``). Other sources never see either attribute.
    """
    if isinstance(source, _Lean):
        relay = cast(
            abc.ObserverBase[_T],
            _Relay(on_next, on_error, on_completed)
            if on_compact is None and defer is None
            else _ExtendedRelay(on_next, on_error, on_completed, on_compact, defer),
        )
        return source.direct(relay, scheduler)
    return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)


def concat_each(factory: Callable[[], Iterator[Observable[_T]]]) -> Observable[_T]:
    """Concatenate the Observables a fresh ``factory()`` generator yields, one at a time.

    This is ``reactivex.concat_with_iterable`` over a generator, with a plain trampoline in
    place of the ``CurrentThreadScheduler``: a child that completes inside ``subscribe`` (a
    quick step) lets the loop take the next one without growing the stack, and costs no
    scheduled item. The generator is asked for the next child only after the previous one
    completed, so it can stop on what that child left in the slot. Errors are forwarded;
    disposing disposes the running child and stops the loop.

    ::

        factory(): a, b, c          a: --x|   b: -y|   c: z|
        concat_each(factory):       --x--y-z|
    """

    def subscribe(
        observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        concat = _Concat(factory(), observer)
        concat.next()
        return concat

    return lean(subscribe)


class _Concat(abc.DisposableBase):
    __slots__ = ("again", "current", "disposed", "iterator", "looping", "observer", "relay")

    def __init__(self, iterator: Iterator[Observable[_T]], observer: abc.ObserverBase[_T]) -> None:
        self.iterator = iterator
        self.observer = observer
        # one relay serves every child: each completes before the next is subscribed
        self.relay = cast(abc.ObserverBase[_T], _Relay(observer.on_next, self.on_error, self.next))
        self.current: abc.DisposableBase | None = None
        self.disposed = False
        self.looping = False
        self.again = False

    def next(self) -> None:
        """Subscribe to the next child (called first, then on each child's completion)."""
        if self.looping:  # the child completed inside its subscribe: the loop below goes on
            self.again = True
            return
        self.looping = True
        try:
            while not self.disposed:
                self.again = False
                try:
                    source = next(self.iterator)
                except StopIteration:
                    self._close()
                    self.observer.on_completed()
                    return
                except Exception as error:
                    self._close()
                    self.observer.on_error(error)
                    return
                if isinstance(source, _Lean):
                    current = source.direct(self.relay, None)
                else:
                    relay = self.relay
                    current = source.subscribe(relay.on_next, relay.on_error, relay.on_completed)
                if not self.again:
                    if not self.disposed:  # not failed (nor disposed) inside its subscribe
                        self.current = current
                    return  # still running: its completion calls next()
        finally:
            self.looping = False

    def on_error(self, error: Exception) -> None:
        """Forward a child's error; the concatenation ends with it."""
        self._close()
        self.observer.on_error(error)

    def _close(self) -> None:
        """End: no child runs now, nothing comes next; let go of the relay's cycle."""
        self.disposed = True
        self.current = None
        self.relay = _INERT

    def dispose(self) -> None:
        current = self.current
        self._close()
        if current is not None:
            current.dispose()


def _ignore(*_: Any) -> None:
    """Do nothing (the callbacks of an ended relay)."""


_INERT = cast(abc.ObserverBase[Any], _Relay(_ignore, _ignore, _ignore))
"""The relay of an ended :class:`_Concat`: its own would tie the two in a reference cycle."""


def merge_each(
    sources: Sequence[Observable[_T]], max_concurrent: int | None = None
) -> Observable[_T]:
    """Merge ``sources``, subscribing to at most ``max_concurrent`` at a time (all if ``None``).

    Sources are subscribed in order; when one completes, the next waiting one is subscribed
    (inside a trampoline: sources that complete at once do not grow the stack). Completes
    when every source completed; the first error is forwarded and disposes the rest.

    ::

        a: -x---|     b: --y|     c: z|
        merge_each([a, b, c], max_concurrent=2):   -xy--z|
    """

    def subscribe(
        observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        merge = _Merge(sources, observer, max_concurrent or len(sources) or 1)
        merge.pump()
        return merge

    return lean(subscribe)


class _Merge(abc.DisposableBase):
    __slots__ = (
        "active",
        "disposed",
        "early",
        "limit",
        "looping",
        "next_index",
        "observer",
        "sources",
        "subscriptions",
    )

    def __init__(
        self, sources: Sequence[Observable[_T]], observer: abc.ObserverBase[_T], limit: int
    ) -> None:
        self.sources = sources
        self.observer = observer
        self.limit = limit
        self.next_index = 0
        self.active = 0
        self.subscriptions: dict[int, abc.DisposableBase] = {}
        self.early: set[int] = set()  # completed inside their own subscribe
        self.disposed = False
        self.looping = False

    def pump(self) -> None:
        """Subscribe to waiting sources while there is room; complete when all are done."""
        if self.looping:  # a source completed inside subscribe: the loop below re-checks
            return
        self.looping = True
        try:
            sources = self.sources
            while not self.disposed and self.next_index < len(sources) and self.active < self.limit:
                index = self.next_index
                self.next_index += 1
                self.active += 1
                subscription = subscribe_direct(
                    sources[index], self.observer.on_next, self.on_error, self._completer(index)
                )
                if index in self.early:
                    self.early.discard(index)
                elif not self.disposed:
                    self.subscriptions[index] = subscription
            if not self.disposed and self.active == 0 and self.next_index >= len(sources):
                self.disposed = True
                self.sources = ()  # the sources keep their observers, which lead back here
                self.observer.on_completed()
        finally:
            self.looping = False

    def _completer(self, index: int) -> Callable[[], None]:
        def completed() -> None:
            if self.disposed:
                return
            if self.subscriptions.pop(index, None) is None:
                self.early.add(index)
            self.active -= 1
            self.pump()

        return completed

    def on_error(self, error: Exception) -> None:
        if self.disposed:
            return
        self.dispose()
        self.observer.on_error(error)

    def dispose(self) -> None:
        self.disposed = True
        self.sources = ()
        subscriptions = list(self.subscriptions.values())
        self.subscriptions.clear()
        for subscription in subscriptions:
            subscription.dispose()


class OneShotRun(ABC, Generic[_T]):
    """A run that can be subscribed once: it starts from the next event-loop callback.

    Subclasses implement :meth:`_begin` (emit through :attr:`_observer`) and extend
    :meth:`_stop` to release what is running (model calls, tasks, timers).
    """

    _observer: abc.ObserverBase[_T] | None = None
    _handle: asyncio.Handle | None = None
    _subscribed: bool = False
    _disposed: bool = False

    def observable(self) -> Observable[_T]:
        """The run as a one-shot Observable (subscribe once)."""
        return lean(self.subscribe)

    def subscribe(
        self, observer: abc.ObserverBase[_T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        """Start the run from the next event-loop callback; the disposable stops it.

        Raises:
            RunStateError: The run was subscribed before (each subscription of an agent's or
                workflow's ``observe()`` is a new run).
        """
        if self._subscribed:
            raise RunStateError(
                f"a {type(self).__name__} can be subscribed once; "
                "subscribe to observe() again for a new run"
            )
        self._subscribed = True
        self._observer = observer
        self._handle = asyncio.get_running_loop().call_soon(self._start)
        return Disposable(self.dispose)

    def _start(self) -> None:
        self._handle = None
        self._begin()

    @abstractmethod
    def _begin(self) -> None:
        """Run the first leg (called once, from the event loop, unless disposed first)."""

    def dispose(self) -> None:
        """Stop the run; emits nothing more. Idempotent."""
        if self._disposed:
            return
        self._disposed = True
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()
        self._stop()

    def _stop(self) -> None:
        """Release what is running (called once, on disposal)."""
