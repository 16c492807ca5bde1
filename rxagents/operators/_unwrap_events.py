"""``unwrap_events``: the inverse of ``prefix_events``."""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable, abc

from rxagents.events import Chunk, WrappedChunk

from ._common import check_prefix

__all__ = ("unwrap_events",)


def unwrap_events(prefix: str) -> Callable[[Observable[Chunk]], Observable[Chunk]]:
    """Emit the inner chunk of each wrapped chunk carrying ``prefix``; drop every other chunk.

    A chunk matches when it is a :class:`WrappedChunk` whose type starts with ``prefix`` and
    ``prefix`` ends within the wrapper's own prefix (the part before the inner type), so
    ``unwrap_events(p)`` after ``prefix_events(p)`` gives back the original stream, and
    ``"agent-execution-start"`` is dropped by ``unwrap_events("agent-execution-")``. Only one
    level is removed: a chunk wrapped twice comes out wrapped once. Errors and completion pass
    through.

    ::

        source:  --[agent-execution-start]--[agent-execution-event-text-delta]--[abort]--|
                  unwrap_events("agent-execution-event-")
        result:  -----------------------------[text-delta]-------------------------------|

    Args:
        prefix: The prefix to strip; not empty (``"agent-execution-event-"``).

    Returns:
        An operator for ``Observable.pipe`` turning wrapped chunks back into inner chunks.

    Raises:
        InvalidInputError: ``prefix`` is empty or not a string.

    Example:
        >>> import reactivex
        >>> from rxagents.events import TextDelta, TextDeltaPayload
        >>> from rxagents.operators import prefix_events
        >>> delta = TextDelta(run_id="sub-1", payload=TextDeltaPayload(id="t1", text="Hi"))
        >>> out = []
        >>> _ = reactivex.of(delta).pipe(
        ...     prefix_events("agent-execution-event-"),
        ...     unwrap_events("agent-execution-event-"),
        ... ).subscribe(out.append)
        >>> out == [delta]
        True
    """
    check_prefix("unwrap_events", prefix)
    size = len(prefix)

    def operator(source: Observable[Chunk]) -> Observable[Chunk]:
        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            on_next_ = observer.on_next

            def on_next(chunk: Chunk) -> None:
                if isinstance(chunk, WrappedChunk):
                    kind = chunk.type
                    inner = chunk.payload
                    if kind.startswith(prefix) and len(kind) - len(inner.type) >= size:
                        on_next_(inner)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return operator
