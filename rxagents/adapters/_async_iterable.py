"""Bridges between Observables and ``async for``: to_async_iterable, from_async_iterable.

Design notes (why it looks like this):

- :func:`to_async_iterable` keeps its state in an async generator wrapped by a small class. A
  plain class iterator never learns that a consumer left ``async for`` with ``break``; an async
  generator does: when the consumer drops it, the event loop's async-generator finalizer (PEP 525,
  installed by every asyncio loop) schedules its ``aclose()``, whose ``finally`` disposes the
  subscription one or two loop iterations later. The wrapper adds ``async with`` support.
- Items go into a :class:`collections.deque`; the reader creates an :class:`asyncio.Future` only
  when the deque is empty, so a batch of items pushed from one loop callback is read without any
  future or loop hop per item.
- Callbacks from a foreign thread are moved onto the loop with ``call_soon_threadsafe`` (and
  loop-thread callbacks queue behind them while any are pending, so order is kept); callbacks on
  the loop's own thread (the normal case) pay one counter test and one ``get_ident()`` comparison.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, TypeVar, final

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from rxagents._core.rx import LateMap, subscribe_direct

__all__ = ("ObservableAsyncIterator", "from_async_iterable", "to_async_iterable")

_T = TypeVar("_T")

AsyncIterableSource = AsyncIterable[_T] | Callable[[], AsyncIterable[_T]]
"""An async iterable, or a factory called once per subscription that returns one."""

_logger = logging.getLogger(__name__)
_get_ident = threading.get_ident


# --- Observable -> async iterator -----------------------------------------------------------


class _Receiver(Generic[_T]):
    """The observer side of :func:`to_async_iterable`: buffers items, wakes a waiting reader.

    Notifications from a foreign thread are queued onto the loop. While any are queued,
    notifications made on the loop's thread queue up behind them, so the order in which the
    source made its calls is kept (a completion on the loop never overtakes queued items).
    """

    __slots__ = (
        "_build",
        "_lock",
        "_loop",
        "_queued",
        "_thread",
        "buffer",
        "error",
        "is_done",
        "late",
        "waiter",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = _get_ident()
        self._queued = 0
        self._lock = threading.Lock()
        self.buffer: deque[_T] = deque()
        self.error: Exception | None = None
        self.is_done = False
        self.waiter: asyncio.Future[None] | None = None
        # While a lean map's raw items are buffered: how to build each one as it is read.
        self.late: Callable[[Any], _T] | None = None
        self._build: Callable[[Any], _T] | None = None

    def defer(self, late: LateMap) -> Callable[[Any], None] | None:
        """Take the raw items of one lean map and build each when it is read.

        Offered through ``subscribe_direct``; accepted once, before anything arrived. Should
        a built item arrive after all, the raw items still buffered are built first and the
        rest are built as they come, so the order is kept either way.
        """
        if self._build is not None or self.buffer or self.is_done or self._queued:
            return None
        self.late = self._build = late.build
        return self._on_raw

    def _on_raw(self, raw: Any) -> None:
        if self.late is None or self._queued or _get_ident() != self._thread:
            build = self._build
            assert build is not None  # set before this callable was handed out
            self.on_next(build(raw))
            return
        self.buffer.append(raw)
        if self.waiter is not None:  # the reader waits: once per batch, not per item
            self._wake()

    def _build_buffered(self) -> None:
        """Stop building on read: build the raw items still buffered, in place."""
        build, self.late = self.late, None
        buffer = self.buffer
        if build is not None and buffer:
            built = [build(raw) for raw in buffer]
            buffer.clear()
            buffer.extend(built)

    def on_next(self, value: _T) -> None:
        if self._queued or _get_ident() != self._thread:
            self._enqueue(self._push, value)
            return
        if self.late is not None:
            self._build_buffered()
        # _push without the call: this is the hot path
        self.buffer.append(value)
        if self.waiter is not None:  # the reader waits: once per batch, not per item
            self._wake()

    def on_error(self, error: Exception) -> None:
        if self._queued or _get_ident() != self._thread:
            self._enqueue(self._finish, error)
            return
        self._finish(error)

    def on_completed(self) -> None:
        if self._queued or _get_ident() != self._thread:
            self._enqueue(self._finish, None)
            return
        self._finish(None)

    def _push(self, value: _T) -> None:
        if self.late is not None:
            self._build_buffered()
        self.buffer.append(value)
        self._wake()

    def _finish(self, error: Exception | None) -> None:
        if not self.is_done:
            self.is_done = True
            self.error = error
            self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _enqueue(self, callback: Callable[[Any], None], argument: Any) -> None:
        with self._lock:
            self._queued += 1
        try:
            if _get_ident() == self._thread:
                self._loop.call_soon(self._run_queued, callback, argument)
            else:
                self._loop.call_soon_threadsafe(self._run_queued, callback, argument)
        except RuntimeError:
            # The loop is closed: nobody can read the notification any more.
            with self._lock:
                self._queued -= 1
            _logger.debug("dropping a notification: the consuming event loop is closed")

    def _run_queued(self, callback: Callable[[Any], None], argument: Any) -> None:
        with self._lock:
            self._queued -= 1
        callback(argument)

    def close(self) -> None:
        """Forget buffered items and ignore later notifications (the reader is gone)."""
        self.is_done = True
        self.error = None
        self.waiter = None
        self.late = None
        self.buffer.clear()


async def _iterate(
    source: Observable[_T], scheduler: abc.SchedulerBase | None
) -> AsyncGenerator[_T, None]:
    loop = asyncio.get_running_loop()
    receiver: _Receiver[_T] = _Receiver(loop)
    buffer = receiver.buffer
    popleft = buffer.popleft
    subscription: abc.DisposableBase | None = None
    try:
        try:
            # lean library sources are subscribed directly, and a lean map may leave its
            # items for this reader to build (see Receiver.defer)
            subscription = subscribe_direct(
                source,
                receiver.on_next,
                receiver.on_error,
                receiver.on_completed,
                scheduler,
                defer=receiver.defer,
            )
        except Exception as failure:  # as Observable.subscribe does: the error ends the stream
            receiver.on_error(failure)
        while True:
            if buffer:
                item = popleft()
                late = receiver.late
                yield item if late is None else late(item)
            elif receiver.is_done:
                error = receiver.error
                if error is not None:
                    receiver.error = None
                    raise error
                return
            else:
                waiter = receiver.waiter = loop.create_future()
                await waiter
    finally:
        receiver.close()
        if subscription is not None:
            try:
                subscription.dispose()
            except Exception:
                # Raising here would replace the exception in flight (maybe CancelledError).
                _logger.exception("disposing the subscription behind an async iterator failed")


@final
class ObservableAsyncIterator(AsyncIterator[_T]):
    """The async iterator :func:`to_async_iterable` returns; single use.

    Use it with ``async for``, ``async with`` (which closes it on exit) or
    :func:`contextlib.aclosing`. :meth:`aclose` disposes the subscription.
    """

    __slots__ = ("_generator",)

    def __init__(self, source: Observable[_T], scheduler: abc.SchedulerBase | None = None) -> None:
        self._generator = _iterate(source, scheduler)

    def __aiter__(self) -> ObservableAsyncIterator[_T]:
        return self

    def __anext__(self) -> Awaitable[_T]:
        return self._generator.__anext__()

    async def aclose(self) -> None:
        """Dispose the subscription and drop buffered items; later reads end the iteration."""
        await self._generator.aclose()

    async def __aenter__(self) -> ObservableAsyncIterator[_T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def to_async_iterable(
    observable: Observable[_T], *, scheduler: abc.SchedulerBase | None = None
) -> ObservableAsyncIterator[_T]:
    """Iterate an Observable with ``async for``.

    The Observable is subscribed lazily, on the first ``__anext__``, on the running event loop;
    each call of this function gives one subscription (a cold Observable runs once per call).
    Items may arrive synchronously inside ``subscribe``, from loop callbacks or tasks, or from
    other threads (those are moved onto the loop with ``call_soon_threadsafe``).

    Completion ends the iteration (``StopAsyncIteration``). An error is raised from
    ``__anext__`` after every item that arrived before it has been delivered.

    Cancellation and disposal: the subscription is disposed when the iteration ends, when
    :meth:`~ObservableAsyncIterator.aclose` is called or the ``async with`` block exits, when the
    consuming task is cancelled while it waits for an item (the ``CancelledError`` propagates),
    and when the consumer leaves ``async for`` early (``break``, ``return``, an exception): the
    dropped iterator is closed by the event loop's async-generator finalizer one or two loop
    iterations later. For disposal at a precise point, or when a reference to the iterator is
    kept, close it explicitly with ``async with`` or :func:`contextlib.aclosing`.

    Buffering: unbounded. Rx has no backpressure, so items the consumer has not read yet are
    kept in memory; a slow consumer of a fast, endless source grows the buffer without limit.
    The library's own Observables are subscribed directly, and the chunks ``prefix_events``
    wraps (through ``filter_type`` too) wait in the buffer unwrapped: each wrapper is built as
    it is read.

    Args:
        observable: The source; subscribed once per returned iterator.
        scheduler: The default scheduler passed to ``subscribe``. With
            ``AsyncIOScheduler(loop)``, time-based operators that were given no scheduler run on
            the loop instead of timer threads.

    Returns:
        A single-use async iterator that also supports ``async with``.

    Example:
        >>> async def collect():
        ...     async with to_async_iterable(reactivex.of(1, 2, 3)) as items:
        ...         return [item async for item in items]
    """
    return ObservableAsyncIterator(observable, scheduler)


# --- async iterable -> Observable -----------------------------------------------------------


_running_tasks: set[asyncio.Task[None]] = set()
"""Strong references to the tasks of live :func:`from_async_iterable` subscriptions."""


class _Pump(Generic[_T]):
    """One subscription of :func:`from_async_iterable`: the task that iterates the source."""

    __slots__ = ("_is_disposed", "_loop", "_observer", "_source", "_task", "_thread")

    def __init__(self, source: AsyncIterableSource[_T], observer: abc.ObserverBase[_T]) -> None:
        self._source = source
        self._observer = observer
        self._is_disposed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._task: asyncio.Task[None] | None = None

    def is_disposed(self) -> bool:
        """Tell whether the subscription was disposed."""
        return self._is_disposed

    def start(self) -> None:
        """Create the pumping task on the running loop (call on the loop's thread)."""
        if self._is_disposed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError as err:
            raise RuntimeError(
                "from_async_iterable must be subscribed on a running event loop (in a coroutine "
                "or loop callback); from another thread, pass "
                "scheduler=AsyncIOThreadSafeScheduler(loop)"
            ) from err
        self._loop = loop
        self._thread = _get_ident()
        self._task = task = loop.create_task(self._run())
        # The loop keeps only weak references to tasks: keep this one alive until it ends.
        _running_tasks.add(task)
        task.add_done_callback(_running_tasks.discard)

    def start_action(self, _scheduler: abc.SchedulerBase, _state: object = None) -> None:
        """Start the task as a scheduled action; failures go to ``on_error``."""
        try:
            self.start()
        except Exception as err:
            self._observer.on_error(err)

    def dispose(self) -> None:
        """Stop delivering and cancel the task (thread-safe, idempotent)."""
        if self._is_disposed:
            return
        self._is_disposed = True
        task = self._task
        loop = self._loop
        if task is None or loop is None or task.done():
            return
        if _get_ident() != self._thread:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                _logger.debug("cannot cancel an async iterable's task: its event loop is closed")
        elif asyncio.current_task(loop) is not task:
            task.cancel()
        # Else we were disposed from inside on_next, in the task itself: it sees the flag when
        # on_next returns and closes the iterator without a cancellation cutting the cleanup.

    async def _run(self) -> None:
        # is_disposed() is a method, not the field: mypy would narrow the field across awaits.
        observer = self._observer
        iterator: AsyncIterator[_T] | None = None
        if self.is_disposed():
            return
        try:
            source = self._source
            iterator = aiter(source if isinstance(source, AsyncIterable) else source())
            while True:
                item = await anext(iterator)
                if self.is_disposed():
                    return
                observer.on_next(item)
                if self.is_disposed():  # on_next may have disposed us
                    return
        except StopAsyncIteration:
            if not self.is_disposed():
                observer.on_completed()
        except Exception as err:
            # CancelledError is a BaseException: it is never routed to on_error.
            if not self.is_disposed():
                observer.on_error(err)
        finally:
            if iterator is not None:
                await _close(iterator)


async def _close(iterator: AsyncIterator[Any]) -> None:
    """Run the iterator's ``aclose()`` (an async generator's ``finally``) if it has one."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        _logger.exception("closing async iterator %r failed", iterator)


def from_async_iterable(
    aiterable: AsyncIterableSource[_T], scheduler: abc.SchedulerBase | None = None
) -> Observable[_T]:
    """Turn an async iterable into a cold Observable.

    Each subscription creates one :class:`asyncio.Task` on the running event loop that iterates
    the source and calls ``on_next`` for each item, then ``on_completed``; an exception raised by
    the source (or by ``on_next``) goes to ``on_error``. ``asyncio.CancelledError`` is never sent
    to ``on_error``: if the task is cancelled from outside, the Observable just stops.

    Disposing the subscription cancels the task; the iterator's ``aclose()`` is awaited, so an
    async generator's ``finally`` runs. Disposing from inside ``on_next`` stops before the next
    item and closes the iterator without cancelling the task.

    Coldness: ``aiterable.__aiter__()`` is called once per subscription. An async generator
    *object* can be iterated only once, so pass the generator function (any zero-argument
    callable returning an async iterable) to iterate afresh for every subscription.

    Buffering: none; items are pushed as the source yields them.

    Args:
        aiterable: An async iterable, or a zero-argument factory returning one.
        scheduler: Where to start the task. By default it is created directly in ``subscribe``,
            which must then run on the event loop's thread; pass
            ``AsyncIOThreadSafeScheduler(loop)`` to subscribe from other threads.

    Returns:
        A cold Observable of the source's items.

    Example:
        >>> async def numbers():
        ...     yield 1
        ...     yield 2
        >>> values = []
        >>> from_async_iterable(numbers).subscribe(values.append)  # on the event loop
    """

    def subscribe(
        observer: abc.ObserverBase[_T], _default_scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        pump = _Pump(aiterable, observer)
        if scheduler is None:
            pump.start()
            return Disposable(pump.dispose)
        scheduled = scheduler.schedule(pump.start_action)
        return CompositeDisposable(Disposable(pump.dispose), scheduled)

    return Observable(subscribe)
