"""RunStream's replay buffer with a codec: a window of live objects, compact forms behind it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents._core.run_stream import WINDOW, RunStream
from rxagents.errors import ConfigurationError


@dataclass(frozen=True)
class Item:
    kind: str
    text: str


def compact(item: Item) -> Any:
    return (item.kind, item.text) if item.kind == "t" else item


def expand(form: tuple[Any, ...]) -> Item:
    return Item(form[0], form[1])


def burst(items: list[Item]) -> Observable[Item]:
    """Every item from one loop callback, then completion."""

    def subscribe(
        observer: abc.ObserverBase[Item], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        def emit() -> None:
            for item in items:
                observer.on_next(item)
            observer.on_completed()

        handle = asyncio.get_running_loop().call_soon(emit)
        return Disposable(handle.cancel)

    return Observable(subscribe)


def items(count: int) -> list[Item]:
    return [
        Item("t", str(index)) if index % 10 else Item("x", str(index)) for index in range(count)
    ]


async def test_finished_buffer_keeps_compact_forms_and_replays_equal_items() -> None:
    source = items(10 * WINDOW)
    stream = RunStream(burst(source), compact=compact, expand=expand)
    read = [item async for item in stream]
    assert read == source
    assert [type(stored) for stored in stream.chunks.raw] == [
        tuple if item.kind == "t" else Item for item in source
    ]
    assert stream.chunks == source
    assert list(stream.chunks) == source
    assert stream.chunks[3:5] == source[3:5]
    assert stream.chunks[-1] == source[-1]
    assert [item async for item in stream] == source  # a late reader replays


async def test_a_reader_keeping_up_gets_the_objects_the_run_emitted() -> None:
    source = items(4 * WINDOW)

    def subscribe(
        observer: abc.ObserverBase[Item], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        loop = asyncio.get_running_loop()
        position = 0

        def emit() -> None:
            nonlocal position
            if position == len(source):
                observer.on_completed()
                return
            observer.on_next(source[position])
            position += 1
            loop.call_soon(emit)

        loop.call_soon(emit)
        return Disposable()

    stream = RunStream(Observable(subscribe), compact=compact, expand=expand)
    read = [item async for item in stream]
    assert all(got is sent for got, sent in zip(read, source, strict=True))


async def test_observable_subscribers_replay_expanded_then_follow() -> None:
    source = items(5 * WINDOW)
    stream = RunStream(burst(source), compact=compact, expand=expand)
    assert [item async for item in stream] == source  # the run ended
    seen: list[Item] = []
    stream.observable.subscribe(seen.append)
    assert seen == source
    assert not any(type(item) is tuple for item in seen)


async def test_codec_halves_come_together() -> None:
    with pytest.raises(ConfigurationError, match="both"):
        RunStream(reactivex.empty(), compact=compact)
