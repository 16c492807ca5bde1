"""Property: a run read in pieces, from random drop points, re-assembles into the whole run."""

from __future__ import annotations

import asyncio
from typing import Any

import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st

from rxagents.adapters.server._runs import ServedRuns
from rxagents.eventlog import InMemoryEventLog, chunk_json
from rxagents.testing.strategies import agent_chunk_streams


class _Run:
    """An already recorded run as a started one."""

    def __init__(self, chunks: list[Any]) -> None:
        self.observable = reactivex.from_iterable(chunks)

    def cancel(self) -> None:
        raise AssertionError("a finished run is not cancelled")


async def _pieces(chunks: list[Any], drops: list[int]) -> tuple[list[bytes], list[int]]:
    runs = ServedRuns(InMemoryEventLog(), orphan_grace=30.0)
    await runs.start("r", "r", "agent", _Run(chunks))
    got: list[bytes] = []
    positions: list[int] = []
    offset = 0
    for drop in [*sorted(drops), len(chunks)]:
        async for position, data in runs.read_json("r", offset):
            if position >= drop:
                break  # the connection drops here
            positions.append(position)
            got.append(data)
        offset = max(offset, drop)
    return got, positions


@settings(max_examples=60, deadline=None)
@given(
    agent_chunk_streams(include_errors=True, include_aborts=True),
    st.lists(st.integers(min_value=0, max_value=200), max_size=5),
)
def test_pieces_from_random_drop_points_are_the_whole_run(
    chunks: list[Any], drops: list[int]
) -> None:
    drops = [d % (len(chunks) + 1) for d in drops]
    got, positions = asyncio.run(_pieces(chunks, drops))
    assert got == [chunk_json(c) for c in chunks]
    assert positions == list(range(len(chunks)))


@settings(max_examples=60, deadline=None)
@given(agent_chunk_streams(), st.integers(min_value=0, max_value=200))
def test_reading_from_any_offset_is_the_runs_tail(chunks: list[Any], offset: int) -> None:
    offset %= len(chunks) + 2  # past the end too

    async def read() -> list[tuple[int, bytes]]:
        runs = ServedRuns(InMemoryEventLog(), orphan_grace=0.0)
        await runs.start("r", "r", "agent", _Run(chunks))
        return [item async for item in runs.read_json("r", offset)]

    tail = asyncio.run(read())
    assert tail == [(i, chunk_json(c)) for i, c in enumerate(chunks)][offset:]
