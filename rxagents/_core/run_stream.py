"""One run, many readers: the replaying stream behind the agent, workflow and network streams.

A run's chunks are appended once to a list; every reader (``async for``, ``text_stream``, the
awaitable results) reads it by index, so late readers replay from the start. There is one
subscription to the run's Observable, started when the stream is created.

Cancellation: :meth:`RunStream.cancel`, or the last active reader leaving early — a reader that
leaves ``async for`` before the end (``break``, an exception, ``aclose()``, task cancellation) or
a task cancelled while awaiting a result — when no other reader is iterating or awaiting. The run
is then disposed (the model's HTTP request closes, tools are cancelled), the chunks that close
what was open are appended, then the run's abort chunk, and the replay ends there.

Buffering: unbounded. Rx has no backpressure; the buffer keeps every chunk of the run so that
late readers replay. A stream class may pass a codec (``compact``, ``expand``): the buffer then
keeps the newest chunks as they are (live readers get the very objects the run emitted) and
turns older ones into their compact form — a tuple the garbage collector stops tracking — so a
long run's buffer does not make every collection longer; readers that fall behind, late
readers and :attr:`RunStream.chunks` get them expanded back, equal to the originals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar, cast, overload

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents._core.rx import subscribe_direct
from rxagents.errors import ConfigurationError

__all__ = ("ChunkBuffer", "RunResult", "RunStream", "SupportsSubscribe", "fail_quietly")

_C = TypeVar("_C")
_C_co = TypeVar("_C_co", covariant=True)
_T = TypeVar("_T")

WINDOW = 32
"""Chunks kept as they are at the head of a buffer with a codec (between one and two windows)."""


def _as_is(item: Any) -> Any:
    return item


def _no_text(item: Any) -> None:
    return None


def fail_quietly(future: asyncio.Future[Any], error: BaseException) -> None:
    """Fail a result future; awaiting it raises, but an unawaited one logs nothing."""
    future.set_exception(error)
    future.exception()  # marks it retrieved


class SupportsSubscribe(Protocol[_C_co]):
    """A run that takes an observer directly and never emits after completing or disposal.

    The observer a :class:`RunStream` with a codec passes has an ``on_compact`` callable: a
    run may send a chunk through it in the codec's compact form instead of building the chunk
    (readers get it expanded; nobody keeps the object). Other observers have no such attribute.
    """

    def subscribe(self, observer: abc.ObserverBase[_C_co], /) -> abc.DisposableBase:
        """Start the run; the disposable stops it."""
        ...


class _Sink(abc.ObserverBase[_C]):
    """Feeds a :class:`RunStream` from a run that honours the observer contract itself."""

    def __init__(self, stream: RunStream[_C]) -> None:
        self._stream = stream
        # bound straight to the stream's methods: no extra call per chunk
        self.on_next = stream._on_next  # type: ignore[method-assign]
        self.on_error = stream._on_error  # type: ignore[method-assign]
        self.on_completed = stream._on_completed  # type: ignore[method-assign]
        if stream._compact is not None:
            self.on_compact = stream._on_compact

    def on_next(self, value: _C) -> None:
        """Append a chunk."""
        self._stream._on_next(value)

    def on_error(self, error: Exception) -> None:
        """End the stream with an error."""
        self._stream._on_error(error)

    def on_completed(self) -> None:
        """End the stream."""
        self._stream._on_completed()


class ChunkBuffer(Sequence[_C]):
    """A live, read-only view of a run's chunks; compact forms are expanded as they are read.

    Compares equal to any sequence of the same chunks (``stream.chunks == [...]``).
    """

    __slots__ = ("_expand", "_items")

    def __init__(self, items: list[Any], expand: Callable[[Any], _C] | None) -> None:
        self._items = items
        self._expand = expand

    @property
    def raw(self) -> Sequence[Any]:
        """The stored items: chunks, and compact forms (tuples) where a codec made them."""
        return self._items

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> _C: ...

    @overload
    def __getitem__(self, index: slice) -> list[_C]: ...

    def __getitem__(self, index: int | slice) -> _C | list[_C]:
        if isinstance(index, slice):
            return [self._read(item) for item in self._items[index]]
        return self._read(self._items[index])

    def __iter__(self) -> Iterator[_C]:
        read = self._read
        for item in self._items:
            yield read(item)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChunkBuffer | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a live view: unhashable, like a list

    def __repr__(self) -> str:
        return f"ChunkBuffer({list(self)!r})"

    def _read(self, item: Any) -> _C:
        if type(item) is tuple and self._expand is not None:
            return self._expand(item)
        return cast(_C, item)  # a chunk, stored as it came


class RunResult(Generic[_T]):
    """An awaitable result of a run; awaiting it several times is fine.

    While a task awaits it, it counts as an active reader of its run: cancelling the only such
    task cancels the run.
    """

    __slots__ = ("_future", "_stream")

    def __init__(self, stream: RunStream[Any], future: asyncio.Future[_T]) -> None:
        self._stream = stream
        self._future = future

    def done(self) -> bool:
        """Whether the value is available."""
        return self._future.done()

    def result(self) -> _T:
        """Return the value now; raises :class:`asyncio.InvalidStateError` if not yet done."""
        return self._future.result()

    def __await__(self) -> Generator[Any, None, _T]:
        if self._future.done():
            return self._future.result()
        stream = self._stream
        stream._waiting += 1
        completed = False
        try:
            # shielded: cancelling this awaiting task must not cancel the shared result
            value = yield from asyncio.shield(self._future).__await__()
            completed = True
            return value
        finally:
            stream._waiting -= 1
            if not completed:
                stream._reader_left()


class RunStream(Generic[_C]):
    """A running run: one subscription, replayed to every reader.

    Subclasses resolve their results in :meth:`_settle`, called once when the run ended
    (completed, failed or cancelled) with the full chunk list.
    """

    def __init__(
        self,
        source: Observable[_C] | SupportsSubscribe[_C],
        *,
        closing_chunks: Callable[[], Sequence[_C]] | None = None,
        compact: Callable[[_C], Any] | None = None,
        expand: Callable[[Any], _C] | None = None,
        peek_text: Callable[[Any], tuple[str, str] | None] | None = None,
    ) -> None:
        """Subscribe to ``source`` now, on the running event loop.

        Args:
            source: The run's cold Observable; subscribed exactly once.
            closing_chunks: Called on cancellation: the chunks that close what is open and
                then abort the run (e.g. ``text-end`` then ``abort``).
            compact: The codec's first half: a chunk's compact form (a ``tuple``), or the
                chunk itself to keep it as it is. Chunks are never tuples.
            expand: The codec's second half: the chunk a compact form was made from, equal
                to the original. Needed with ``compact``.
            peek_text: Optionally, ``(type, payload.text)`` of a compact form that has a text
                (else ``None``): text readers then skip expanding it.
        """
        if (compact is None) != (expand is None):
            raise ConfigurationError("a RunStream codec needs both compact and expand, or neither")
        self._loop = asyncio.get_running_loop()
        self._chunks: list[Any] = []
        self._compact = compact
        self._expand = expand
        self._peek_text = peek_text
        self._compacted = 0
        """How many chunks from the start went through ``compact``."""
        self._done = False
        self._error: Exception | None = None
        self._wake: asyncio.Future[None] | None = None
        self._readers = 0
        self._waiting = 0
        self._closing_chunks = closing_chunks
        self._cancelled = False
        self._observers: list[abc.ObserverBase[_C]] = []
        self._subscription: abc.DisposableBase | None = None
        if isinstance(source, Observable):  # a lean one (the library's) is called directly
            self._subscription = subscribe_direct(
                source, self._on_next, self._on_error, self._on_completed
            )
        else:  # the library's own runs: no Rx observer wrapper between run and buffer
            self._subscription = source.subscribe(_Sink(self))
        if self._has_ended():  # the source finished synchronously inside subscribe
            self._subscription = None

    # --- the one subscription -----------------------------------------------------------

    def _on_next(self, value: _C) -> None:
        chunks = self._chunks
        chunks.append(value)
        if self._compact is not None and len(chunks) - self._compacted >= 2 * WINDOW:
            self._compact_to(len(chunks) - WINDOW)
        if self._observers:
            for observer in list(self._observers):
                observer.on_next(value)
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)

    def _on_compact(self, form: tuple[Any, ...]) -> None:
        """Append a chunk the run sent in its compact form (see :class:`SupportsSubscribe`)."""
        self._chunks.append(form)
        if self._observers:
            chunk = (self._expand or _as_is)(form)  # only offered with a codec
            for observer in list(self._observers):
                observer.on_next(chunk)
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)

    def _on_error(self, error: Exception) -> None:
        self._error = error
        self._finish()

    def _on_completed(self) -> None:
        self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        self._subscription = None
        wake = self._wake
        self._wake = None
        if wake is not None and not wake.done():
            wake.set_result(None)
        self._settle(self.chunks, self._error)
        if self._readers == 0:
            self._compact_tail()
        observers, self._observers = self._observers, []
        for observer in observers:
            if self._error is not None:
                observer.on_error(self._error)
            else:
                observer.on_completed()

    def _settle(self, chunks: ChunkBuffer[_C], error: Exception | None) -> None:
        """Resolve the stream's results from its chunks; called once, when the run ended."""

    def _compact_tail(self) -> None:
        """Once nobody reads the ended run live: compact the window too, for a long run."""
        if len(self._chunks) > 2 * WINDOW:  # a short run's few objects are not worth it
            self._compact_to(len(self._chunks))

    def _compact_to(self, end: int) -> None:
        """Put the chunks before ``end`` in their compact form (those not done yet)."""
        compact, start = self._compact, self._compacted
        if compact is None or end <= start:
            return
        chunks = self._chunks
        chunks[start:end] = map(compact, chunks[start:end])
        self._compacted = end

    # --- control ------------------------------------------------------------------------

    @property
    def chunks(self) -> ChunkBuffer[_C]:
        """The chunks received so far (a live, read-only view)."""
        return ChunkBuffer(self._chunks, self._expand)

    @property
    def done(self) -> bool:
        """Whether the run ended."""
        return self._done

    @property
    def cancelled(self) -> bool:
        """Whether the run was cancelled."""
        return self._cancelled

    def cancel(self) -> None:
        """Stop the run: dispose it, close what is open, append the abort chunk, end the replay.

        Does nothing once the run has ended.
        """
        if self._done:
            return
        self._cancelled = True
        subscription, self._subscription = self._subscription, None
        closing = self._closing_chunks() if self._closing_chunks is not None else ()
        if subscription is not None:
            subscription.dispose()
        if self._has_ended():  # disposing may have completed the run synchronously
            return
        for chunk in closing:
            self._on_next(chunk)
        self._finish()

    def _has_ended(self) -> bool:
        return self._done

    def _reader_left(self) -> None:
        if not self._done and self._readers == 0 and self._waiting == 0:
            self.cancel()

    def _future(self) -> asyncio.Future[Any]:
        return self._loop.create_future()

    # --- readers ------------------------------------------------------------------------

    @property
    def observable(self) -> Observable[_C]:
        """The run as a shared Observable: replays the chunks so far, then follows live.

        Subscribing does not start another run, and an Rx subscriber does not count as a
        reader for cancellation.
        """

        def subscribe(
            observer: abc.ObserverBase[_C], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            for chunk in list(self.chunks):
                observer.on_next(chunk)
            if self._done:
                if self._error is not None:
                    observer.on_error(self._error)
                else:
                    observer.on_completed()
                return Disposable()
            self._observers.append(observer)

            def remove() -> None:
                if observer in self._observers:
                    self._observers.remove(observer)

            return Disposable(remove)

        return Observable(subscribe)

    def __aiter__(self) -> AsyncIterator[_C]:
        """Replay every chunk from the start, then follow the run live."""
        return self._follow(None)

    async def _follow(self, kind: str | None) -> AsyncIterator[Any]:
        """Yield the chunks (or, with ``kind``, the ``payload.text`` of chunks of that type).

        Leaving early (``break``, an exception, ``aclose()``, cancellation) counts as the reader
        leaving; when it was the last active reader, the run is cancelled.
        """
        index = 0
        chunks: list[Any] = self._chunks
        expand = self._expand or _as_is
        peek = self._peek_text or _no_text
        self._readers += 1
        finished = False
        try:
            while True:
                if kind is None:
                    while index < len(chunks):
                        chunk = chunks[index]
                        index += 1
                        if type(chunk) is tuple:  # compact: this reader fell behind
                            chunk = expand(chunk)
                        yield chunk
                else:
                    while index < len(chunks):
                        chunk = chunks[index]
                        index += 1
                        if type(chunk) is tuple:
                            text = peek(chunk)
                            if text is not None:
                                if text[0] == kind:
                                    yield text[1]
                                continue
                            chunk = expand(chunk)
                        if chunk.type == kind:
                            yield chunk.payload.text
                if self._done:
                    finished = True
                    if self._error is not None:
                        raise self._error
                    return
                wake = self._wake
                if wake is None:
                    wake = self._wake = self._loop.create_future()
                await wake
        finally:
            self._readers -= 1
            if not finished:
                self._reader_left()
            if self._done and self._readers == 0:
                self._compact_tail()
