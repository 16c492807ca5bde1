"""A lean consumer that builds mapped items on read, as ``to_async_iterable`` does."""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc

from rxagents._core.rx import LateMap, subscribe_direct


class LateConsumer:
    """Subscribes with ``defer``: keeps the raw items of an accepted late map and built items."""

    def __init__(self, *, accept: bool = True) -> None:
        self.accept = accept
        self.offers: list[LateMap] = []
        self.raw: list[Any] = []
        self.built: list[Any] = []
        self.errors: list[Exception] = []
        self.completed = False

    def defer(self, late: LateMap) -> Any:
        self.offers.append(late)
        return self.raw.append if self.accept else None

    def subscribe(self, source: Observable[Any]) -> abc.DisposableBase:
        return subscribe_direct(
            source, self.built.append, self.errors.append, self.done, defer=self.defer
        )

    def done(self) -> None:
        self.completed = True

    def read(self) -> list[Any]:
        """What a reader gets: the raw items built by the one accepted map, or the built ones."""
        assert len(self.offers) <= 1
        if self.raw:
            assert not self.built
            return [self.offers[0].build(raw) for raw in self.raw]
        return list(self.built)
