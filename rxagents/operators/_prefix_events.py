"""``prefix_events``: wrap each chunk whole under a prefixed type."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

from reactivex import Observable, abc
from reactivex.observer.autodetachobserver import AutoDetachObserver

from rxagents._core.rx import LateMap, lean, subscribe_direct
from rxagents._core.wire import trusted_builder
from rxagents.errors import InvalidInputError
from rxagents.events import Chunk, ChunkBase, Source, WrappedChunk

from ._common import check_prefix, not_a_chunk

__all__ = ("prefix_events", "wrap_chunk")

_SOURCES = frozenset(get_args(Source))
_NAMES_LIMIT = 4096
"""Outer type names remembered per operator; the chunk vocabulary is far smaller."""

# The inner chunk is already a valid model and the wrapper's fields are plain strings, so the
# wrapper is built without validation: a validated WrappedChunk costs ~2.2 µs (the union's
# discriminator runs in Python), the trusted build ~0.55 µs, and the result is identical.
_build_wrapped = trusted_builder(WrappedChunk, "type", "run_id", "from_", "payload")


def wrap_chunk(
    chunk: Chunk, prefix: str, from_: Source = "NETWORK", run_id: str | None = None
) -> WrappedChunk:
    """Wrap one chunk whole: the single-chunk form of :func:`prefix_events`.

    No argument is checked here; the caller passes a typed chunk, a non-empty prefix and a valid
    ``from_``.
    """
    return _build_wrapped(
        prefix + chunk.type, chunk.run_id if run_id is None else run_id, from_, chunk
    )


def prefix_events(
    prefix: str, from_: Source = "NETWORK", run_id: str | None = None
) -> Callable[[Observable[Chunk]], Observable[WrappedChunk]]:
    """Wrap each chunk whole into a ``WrappedChunk`` whose type is ``prefix`` + the inner type.

    This is how a network carries a sub-agent's stream (``agent-execution-event-*``) or a
    workflow's (``workflow-execution-event-*``). The inner chunk is kept as is, its own ``runId``
    included; the wrapper's ``runId`` is ``run_id`` or, when that is ``None``, the inner chunk's.
    Errors and completion pass through; a source item that is not a typed chunk (a wire dict:
    use ``ops.map(parse_chunk)`` first) ends the stream with :class:`InvalidInputError`.

    When the consumer is the async edge (:func:`rxagents.adapters.to_async_iterable`), directly
    or through :func:`filter_type`, each wrapper is built when ``async for`` reads it rather than
    when its inner chunk arrives: a burst waiting to be read holds only the inner chunks. What
    the reader gets is the same. A reactivex operator in between gets built wrappers as usual.

    ::

        source:  --[text-delta]------------[step-finish]--|
                  prefix_events("agent-execution-event-")
        result:  --[agent-execution-event-text-delta]--[agent-execution-event-step-finish]--|

    Args:
        prefix: Put in front of each inner type; not empty (``"agent-execution-event-"``).
        from_: The wrapper's ``from`` field.
        run_id: The wrapper's ``runId``; ``None`` copies each inner chunk's ``runId``.

    Returns:
        An operator for ``Observable.pipe`` turning chunks into wrapped chunks.

    Raises:
        InvalidInputError: ``prefix`` is empty or not a string, ``from_`` is not a known
            source, or ``run_id`` is neither a string nor ``None``.

    Example:
        >>> import reactivex
        >>> from rxagents.events import TextDelta, TextDeltaPayload
        >>> delta = TextDelta(run_id="sub-1", payload=TextDeltaPayload(id="t1", text="Hi"))
        >>> out = []
        >>> _ = reactivex.of(delta).pipe(
        ...     prefix_events("agent-execution-event-", run_id="net-1")
        ... ).subscribe(out.append)
        >>> out[0].type, out[0].run_id, out[0].from_, out[0].payload.run_id
        ('agent-execution-event-text-delta', 'net-1', 'NETWORK', 'sub-1')
    """
    check_prefix("prefix_events", prefix)
    if from_ not in _SOURCES:
        raise InvalidInputError(
            f"prefix_events() from_ must be one of {sorted(_SOURCES)}, got {from_!r}"
        )
    _check_run_id(run_id)
    build = _build_wrapped
    # Outer type names, memoised: one dict lookup instead of a new string per chunk.
    names: dict[str, str] = {}

    def outer_of(kind: str) -> str:  # the memo missed: callers try names.get(kind) first
        outer = prefix + kind
        if len(names) < _NAMES_LIMIT:
            names[kind] = outer
        return outer

    def wrap(chunk: Chunk) -> WrappedChunk:
        kind = chunk.type
        return build(
            names.get(kind) or outer_of(kind),
            chunk.run_id if run_id is None else run_id,
            from_,
            chunk,
        )

    def outer_kind(chunk: Chunk) -> str:
        kind = chunk.type
        return names.get(kind) or outer_of(kind)

    late = LateMap(wrap, outer_kind)

    def operator(source: Observable[Chunk]) -> Observable[WrappedChunk]:
        def subscribe(
            observer: abc.ObserverBase[WrappedChunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            stopped = False

            def on_error(error: Exception) -> None:
                nonlocal stopped
                if not stopped:
                    stopped = True
                    observer.on_error(error)

            def on_completed() -> None:
                nonlocal stopped
                if not stopped:
                    stopped = True
                    observer.on_completed()

            # A consumer that builds on read (the async edge, through lean filters) takes the
            # inner chunks as they are: the wrappers are made one at a time as they are read,
            # so a burst waiting in its buffer holds no new objects.
            defer = getattr(observer, "defer", None)
            take_raw = None if defer is None else defer(late)
            if take_raw is not None:
                on_raw = take_raw

                def on_next_late(chunk: Chunk) -> None:
                    # checked now, as when building, so that the build on read cannot fail
                    if type(chunk) not in _CHUNK_CLASSES and not _is_chunk(chunk):
                        on_error(not_a_chunk("prefix_events", chunk))
                    elif not stopped:
                        on_raw(chunk)

                return subscribe_direct(source, on_next_late, on_error, on_completed, scheduler)

            # reactivex wraps a plain downstream in an AutoDetachObserver whose on_next only
            # checks that it is not stopped: check that here and call the downstream directly
            # (a frame less per chunk)
            detach = observer if type(observer) is AutoDetachObserver else None
            on_next_ = observer.on_next if detach is None else detach._on_next

            def on_next(chunk: Chunk) -> None:
                if stopped or (detach is not None and detach.is_stopped):
                    return
                if type(chunk) not in _CHUNK_CLASSES and not _is_chunk(chunk):
                    on_error(not_a_chunk("prefix_events", chunk))
                    return
                kind = chunk.type
                on_next_(
                    build(
                        names.get(kind) or outer_of(kind),
                        chunk.run_id if run_id is None else run_id,
                        from_,
                        chunk,
                    )
                )

            # lean both ways: a lean source calls on_next directly, and so can a lean consumer
            # (each follows the Rx grammar itself; nothing goes out after an error)
            return subscribe_direct(source, on_next, on_error, on_completed, scheduler)

        return lean(subscribe)

    return operator


_CHUNK_CLASSES: set[type] = set()
"""Classes whose instances are known to be typed chunks (a type name and a run id)."""


def _is_chunk(item: object) -> bool:
    if not isinstance(item, ChunkBase):
        return False
    if len(_CHUNK_CLASSES) < _NAMES_LIMIT:
        _CHUNK_CLASSES.add(type(item))
    return True


def _check_run_id(run_id: object) -> None:
    if run_id is not None and not isinstance(run_id, str):
        raise InvalidInputError(f"prefix_events() run_id must be a str or None, got {run_id!r}")
