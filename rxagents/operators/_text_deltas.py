"""``text_deltas``: the text of ``text-delta`` chunks."""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable, abc

from rxagents.events import Chunk, ChunkBase, TextDelta, WorkflowStepOutput, WrappedChunk

__all__ = ("text_deltas", "text_of")


def text_of(chunk: object, include_wrapped: bool = False) -> str | None:
    """Return the text of a ``text-delta`` chunk, or ``None`` for any other value.

    With ``include_wrapped``, a text delta wrapped at any depth (``agent-execution-event-*``,
    ``workflow-step-output``) counts too.
    """
    if isinstance(chunk, TextDelta):
        return chunk.payload.text
    if not include_wrapped:
        return None
    while True:
        if isinstance(chunk, WrappedChunk):
            chunk = chunk.payload
        elif isinstance(chunk, WorkflowStepOutput):
            chunk = chunk.payload.output
            if not isinstance(chunk, ChunkBase):
                return None
        elif isinstance(chunk, TextDelta):
            return chunk.payload.text
        else:
            return None


def text_deltas(include_wrapped: bool = False) -> Callable[[Observable[Chunk]], Observable[str]]:
    """Emit the text of each ``text-delta`` chunk, in order; drop every other chunk.

    Text of every step is emitted (this is ``text_stream``); reasoning deltas and the network's
    ``routing-agent-text-delta`` are not text deltas. Errors and completion pass through.

    ::

        source:  --[text-delta "He"]--[tool-call]--[text-delta "llo"]--[finish]--|
                  text_deltas()
        result:  --"He"-----------------------------"llo"------------------------|

    Args:
        include_wrapped: Also emit the text of text deltas wrapped at any depth: inside
            ``agent-execution-event-*`` / ``workflow-execution-event-*`` chunks and inside
            ``workflow-step-output``.

    Returns:
        An operator for ``Observable.pipe`` turning chunks into text strings.

    Example:
        >>> import reactivex
        >>> from rxagents.events import TextDelta, TextDeltaPayload
        >>> chunks = [TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text=text))
        ...           for text in ("He", "llo")]
        >>> out = []
        >>> _ = reactivex.from_iterable(chunks).pipe(text_deltas()).subscribe(out.append)
        >>> out
        ['He', 'llo']
    """

    def operator(source: Observable[Chunk]) -> Observable[str]:
        def subscribe(
            observer: abc.ObserverBase[str], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            on_next_ = observer.on_next

            if include_wrapped:

                def on_next(chunk: Chunk) -> None:
                    text = text_of(chunk, True)
                    if text is not None:
                        on_next_(text)

            else:

                def on_next(chunk: Chunk) -> None:
                    if isinstance(chunk, TextDelta):
                        on_next_(chunk.payload.text)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return operator
