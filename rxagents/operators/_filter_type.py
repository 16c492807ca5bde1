"""``filter_type``: keep chunks whose type matches names or ``*`` patterns."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any, TypeVar, final

from reactivex import Observable, abc

from rxagents._core.rx import Defer, LateMap, lean, subscribe_direct
from rxagents.errors import InvalidInputError
from rxagents.events import ChunkBase

from ._common import not_a_chunk

__all__ = ("TypeMatcher", "filter_type")

_ChunkT = TypeVar("_ChunkT", bound=ChunkBase)

_PATTERN_CHARS = frozenset("*?[")
_CACHE_LIMIT = 4096
"""Distinct types remembered per pattern matcher; the vocabulary is far smaller."""


@final
class TypeMatcher:
    """Tell whether a chunk type matches any of some exact names or ``fnmatch`` patterns.

    Exact names go into a frozenset. Patterns (containing ``*``, ``?`` or ``[``, with
    :mod:`fnmatch` meaning, case-sensitive) are compiled into one regular expression, and each
    type's answer is remembered in :attr:`memo`, so matching costs one set or dict lookup.

    Raises:
        InvalidInputError: No type was given, or one is not a non-empty string.
    """

    __slots__ = ("_match", "exact", "memo")

    def __init__(self, *types: str) -> None:
        if not types:
            raise InvalidInputError(
                "filter_type() needs at least one chunk type or pattern, "
                "e.g. filter_type('text-delta', 'agent-execution-event-*')"
            )
        _check_types(types)
        patterns = [kind for kind in types if not _PATTERN_CHARS.isdisjoint(kind)]
        self.exact: frozenset[str] = frozenset(
            kind for kind in types if _PATTERN_CHARS.isdisjoint(kind)
        )
        """The exact names."""
        self.memo: dict[str, bool] | None = None
        """Answers so far, by type (exact names included); ``None`` without patterns."""
        self._match: Callable[[str], object] | None = None
        if patterns:
            regex = re.compile("|".join(fnmatch.translate(pattern) for pattern in patterns))
            self._match = regex.match
            self.memo = dict.fromkeys(self.exact, True)

    def __call__(self, kind: str) -> bool:
        """Return whether ``kind`` matches."""
        memo, match = self.memo, self._match
        if memo is None or match is None:
            return kind in self.exact
        hit = memo.get(kind)
        if hit is None:
            hit = match(kind) is not None
            if len(memo) < _CACHE_LIMIT:
                memo[kind] = hit
        return hit


def filter_type(*types: str) -> Callable[[Observable[_ChunkT]], Observable[_ChunkT]]:
    """Keep the chunks whose type is one of ``types`` or matches one of its ``*`` patterns.

    Order is kept; errors and completion pass through. Patterns follow :mod:`fnmatch`
    (``*`` matches any run of characters, ``-`` included; ``?`` one character; ``[...]`` one of a
    set) and are case-sensitive: ``"agent-execution-event-*"`` keeps every chunk a network wrapped
    from a sub-agent, ``"data-*"`` every data chunk a tool wrote with ``ctx.writer.custom``. Exact
    names cost one set lookup per chunk; with patterns, each distinct type is matched once and
    remembered. A source item that is not a typed chunk ends the stream with
    :class:`InvalidInputError`.

    ::

        source:  --[text-delta]--[tool-call]--[text-delta]--[finish]--|
                  filter_type("text-delta", "fin*")
        result:  --[text-delta]---------------[text-delta]--[finish]--|

    Args:
        *types: Exact chunk types and/or patterns; at least one.

    Returns:
        An operator for ``Observable.pipe`` keeping the matching chunks.

    Raises:
        InvalidInputError: No type was given, or one is not a non-empty string.

    Example:
        >>> import reactivex
        >>> from rxagents.events import Abort, TextDelta, TextDeltaPayload
        >>> chunks = [TextDelta(run_id="r", payload=TextDeltaPayload(id="t", text="Hi")),
        ...           Abort(run_id="r")]
        >>> out = []
        >>> _ = reactivex.from_iterable(chunks).pipe(filter_type("text-*")).subscribe(
        ...     lambda chunk: out.append(chunk.type)
        ... )
        >>> out
        ['text-delta']
    """
    matcher = TypeMatcher(*types)
    exact = matcher.exact
    # With patterns, read the matcher's memo inline: one dict lookup and no call per chunk.
    known = matcher.memo

    def operator(source: Observable[_ChunkT]) -> Observable[_ChunkT]:
        def subscribe(
            observer: abc.ObserverBase[_ChunkT], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            on_next_ = observer.on_next
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

            def fail(chunk: object) -> None:
                on_error(not_a_chunk("filter_type", chunk))

            if known is None:

                def on_next(chunk: _ChunkT) -> None:
                    try:
                        kind = chunk.type
                    except AttributeError:
                        fail(chunk)
                        return
                    if kind in exact and not stopped:
                        on_next_(chunk)

            else:
                memo = known

                def on_next(chunk: _ChunkT) -> None:
                    try:
                        kind = chunk.type
                    except AttributeError:
                        fail(chunk)
                        return
                    hit = memo.get(kind)
                    if hit is None:
                        hit = matcher(kind)
                    if hit and not stopped:
                        on_next_(chunk)

            # A downstream that builds on read: pass the offer on, and filter raw items by the
            # type the map will give them (see prefix_events)
            defer = getattr(observer, "defer", None)
            offer: Defer | None = None
            if defer is not None:
                take_from = defer

                def offer(late: LateMap) -> Callable[[Any], None] | None:
                    take = take_from(late)
                    if take is None:
                        return None
                    kind_of = late.kind

                    def on_raw(raw: Any) -> None:
                        kind = kind_of(raw)
                        hit = kind in exact if known is None else known.get(kind)
                        if hit is None:
                            hit = matcher(kind)
                        if hit and not stopped:
                            take(raw)

                    return on_raw

            # lean both ways, as prefix_events: no observer wrapper between library operators
            return subscribe_direct(source, on_next, on_error, on_completed, scheduler, defer=offer)

        return lean(subscribe)

    return operator


def _check_types(types: tuple[object, ...]) -> None:
    for kind in types:
        if not isinstance(kind, str) or not kind:
            hint = (
                "; pass several types as separate arguments: filter_type(*types)"
                if isinstance(kind, list | tuple | set | frozenset)
                else ""
            )
            raise InvalidInputError(
                f"filter_type() takes chunk type names as non-empty str, "
                f"got {type(kind).__name__} {kind!r}{hint}"
            )
