"""``to_text``: the concatenated text of a stream, on completion."""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable, abc

from rxagents.events import Chunk

from ._text_deltas import text_of

__all__ = ("to_text",)


def to_text(include_wrapped: bool = False) -> Callable[[Observable[Chunk]], Observable[str]]:
    """Concatenate the text of every ``text-delta`` chunk; emit it once, on completion.

    This is every step's text joined, like ``"".join`` over :func:`text_deltas`; it differs from
    ``await stream.text``, which is the last step's text only. An empty stream gives ``""``. An
    error from the source is forwarded and nothing is emitted.

    ::

        source:  --[text-delta "He"]--[tool-call]--[text-delta "llo"]--[finish]--|
                  to_text()
        result:  ------------------------------------------------------------"Hello"|

    Args:
        include_wrapped: Also take the text of wrapped text deltas at any depth, as
            ``text_deltas(include_wrapped=True)`` does.

    Returns:
        An operator for ``Observable.pipe`` turning chunks into one string.

    Example:
        >>> import reactivex
        >>> from rxagents.events import TextDelta, TextDeltaPayload
        >>> chunks = [TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text=text))
        ...           for text in ("He", "llo")]
        >>> out = []
        >>> _ = reactivex.from_iterable(chunks).pipe(to_text()).subscribe(out.append)
        >>> out
        ['Hello']
    """

    def operator(source: Observable[Chunk]) -> Observable[str]:
        def subscribe(
            observer: abc.ObserverBase[str], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            parts: list[str] = []
            append = parts.append

            def on_next(chunk: Chunk) -> None:
                text = text_of(chunk, include_wrapped)
                if text is not None:
                    append(text)

            def on_completed() -> None:
                observer.on_next("".join(parts))
                observer.on_completed()

            return source.subscribe(on_next, observer.on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator
