"""Benchmark: typed chunks through prefix_events → filter_type → usage, delivered to ``async for``.

    .venv/bin/python benchmarks/bench_operators.py [--events N] [--batch B] [--repeat R]
                                                   [--json PATH]

N pre-built ``TextDelta`` chunks with a ``step-finish`` every 50 chunks (so usage is not trivial)
are emitted by a cold Observable from event-loop callbacks, ``B`` chunks per callback (one loop
hop per model step, as the embedded models do). The measured path is::

    source ─ prefix_events("agent-execution-event-") ─ filter_type("agent-execution-event-*")
           ─ tap(usage_of, the function reduce_usage folds with) ─ async for

Rows:

- ``rx → async for (adapters)``: the path above through ``rxagents.adapters.to_async_iterable``
  (when it exists), the figure the 2 µs/event target is about;
- ``rx → async for (local bridge)``: the same through a minimal bridge defined here (a deque and
  an ``asyncio.Event``), for comparison and as a fallback;
- ``rx operators only (sync)``: the same operators subscribed synchronously, no loop, no bridge:
  the operators' own cost;
- ``rx reduce_usage (sync)``: ``prefix_events → filter_type → reduce_usage()`` subscribed
  synchronously (``reduce_usage`` emits once, so it cannot feed ``async for`` itself);
- ``sync: prefix_events → sink`` and ``sync: no operator → sink``: subscribed synchronously,
  usage counted in the sink; their difference is ``prefix_events`` on its own when nothing
  waits in a buffer (each wrapper dies as soon as the sink returns);
- ``baseline: async generators``: a plain chain of async generators doing the same work with
  the same helpers (the same cheap wrapper construction, type matcher and ``usage_of``), yielding
  to the loop once per batch.

The ``burst`` rows emit all N chunks from one loop callback, so they all wait in the bridge's
buffer before ``async for`` reads the first; they compare with the burst baseline (the plain
chain with one loop hop):

- ``burst: prefix → filter → async for``: the library-only pipeline, usage counted in the loop
  body. Between library pieces the wrappers are built as ``async for`` reads them, so the
  waiting burst holds only the inner chunks;
- ``burst: prefix_events → async for`` and ``burst: no operator → async for``: their
  difference is ``prefix_events`` on its own;
- ``burst+tap: …``: the same with a reactivex ``do_action`` counting usage after the library
  operators: a foreign operator needs built chunks, so every wrapper is built on arrival and
  waits in the buffer (the collector rescans them);
- ``burst: baseline, tuple wrappers``: the plain chain with a tuple in place of each wrapper
  model, the lightest chain doing the work, for reference.
Each row is run ``R`` times, the rows taking turns so that they see the same load; the table
shows the best run (wall clock; also process CPU time,
steadier when other processes share the machine), the JSON every run. The usage total of each
path is checked against the plain sum, and the chunk count against N.

The N input chunks are built once and kept alive for the whole benchmark, which a real stream
never does (its chunks arrive and die). So that the collector does not rescan that fixture on
every full collection, it is moved out of the collector's view with ``gc.freeze()`` before
measuring; ``--no-freeze`` measures with it in view.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable

from rxagents.events import (
    ChunkBase,
    StepFinish,
    StepFinishPayload,
    StepOutput,
    StepResult,
    TextDelta,
    TextDeltaPayload,
)
from rxagents.operators import filter_type, prefix_events, reduce_usage, usage_of
from rxagents.operators._filter_type import TypeMatcher
from rxagents.operators._prefix_events import wrap_chunk
from rxagents.usage import Usage

PREFIX = "agent-execution-event-"
PATTERN = PREFIX + "*"
STEP_EVERY = 50
DEFAULT_JSON = Path(__file__).parent / "results" / "bench_operators.json"


# --- data -----------------------------------------------------------------------------------


def build_chunks(count: int) -> list[ChunkBase]:
    """Pre-build typed chunks: text deltas with a step-finish every ``STEP_EVERY`` chunks."""
    chunks: list[ChunkBase] = []
    for index in range(count):
        if index % STEP_EVERY == STEP_EVERY - 1:
            usage = Usage(input_tokens=10 + index % 7, output_tokens=STEP_EVERY - 1)
            chunks.append(
                StepFinish(
                    run_id="run-1",
                    payload=StepFinishPayload(
                        step_result=StepResult(reason="stop"),
                        output=StepOutput(text="", usage=usage),
                    ),
                )
            )
        else:
            chunks.append(
                TextDelta(run_id="run-1", payload=TextDeltaPayload(id="t1", text=f"w{index} "))
            )
    return chunks


def plain_usage(chunks: Sequence[ChunkBase]) -> Usage:
    total = Usage.zero
    for chunk in chunks:
        usage = usage_of(chunk)
        if usage is not None:
            total = total + usage
    return total


# --- sources --------------------------------------------------------------------------------


def loop_source(chunks: Sequence[ChunkBase], batch: int) -> Observable[ChunkBase]:
    """A cold Observable emitting ``batch`` chunks per event-loop callback; disposal stops it."""

    def subscribe(
        observer: abc.ObserverBase[ChunkBase], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        loop = asyncio.get_running_loop()
        position = 0
        handle: asyncio.Handle | None = None
        disposed = False

        def emit() -> None:
            nonlocal position, handle
            end = min(position + batch, len(chunks))
            on_next = observer.on_next
            for index in range(position, end):
                if disposed:
                    return
                on_next(chunks[index])
            position = end
            if end == len(chunks):
                observer.on_completed()
            else:
                handle = loop.call_soon(emit)

        def dispose() -> None:
            nonlocal disposed
            disposed = True
            if handle is not None:
                handle.cancel()

        handle = loop.call_soon(emit)
        return Disposable(dispose)

    return Observable(subscribe)


# --- a minimal Observable → async iterator bridge ---------------------------------------------


async def local_bridge(observable: Observable[Any]) -> AsyncIterator[Any]:
    """Iterate ``observable`` with ``async for``: a deque plus an Event, unbounded buffer."""
    buffer: deque[Any] = deque()
    wake = asyncio.Event()
    outcome: list[Exception | None] = []

    def on_next(value: Any) -> None:
        buffer.append(value)
        wake.set()

    def on_error(error: Exception) -> None:
        outcome.append(error)
        wake.set()

    def on_completed() -> None:
        outcome.append(None)
        wake.set()

    subscription = observable.subscribe(on_next, on_error, on_completed)
    try:
        while True:
            while buffer:
                yield buffer.popleft()
            if outcome:
                if outcome[0] is not None:
                    raise outcome[0]
                return
            wake.clear()
            await wake.wait()
    finally:
        subscription.dispose()


def adapters_bridge() -> Callable[[Observable[Any]], AsyncIterable[Any]] | None:
    try:
        from rxagents.adapters import to_async_iterable
    except ImportError:
        return None
    return to_async_iterable


# --- measured paths -------------------------------------------------------------------------

Elapsed = tuple[float, float]
"""Wall-clock and CPU seconds."""


class Clock:
    """Wall-clock and process CPU time since creation (CPU time is steadier on a shared host)."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def elapsed(self) -> Elapsed:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


class Tally:
    """The usage tap: what the runtimes do at a run's root, with the same ``usage_of``."""

    def __init__(self) -> None:
        self.total = Usage.zero
        self.tap = self._make_tap()

    def _make_tap(self) -> Callable[[ChunkBase], None]:
        def tap(chunk: ChunkBase) -> None:
            usage = usage_of(chunk)
            if usage is not None:
                self.total = self.total + usage

        return tap


def rx_pipeline(
    source: Observable[ChunkBase], tally: Tally | None, stages: str = "prefix+filter"
) -> Observable[ChunkBase]:
    """The measured path; ``stages`` drops operators: ``prefix`` (no filter), ``none``.

    With a ``tally``, the usage is counted by a reactivex ``do_action`` at the end; without,
    the consumer counts it (see :func:`run_rx_async`).
    """
    operators: list[Callable[[Observable[Any]], Observable[Any]]] = []
    if stages != "none":
        operators.append(prefix_events(PREFIX))
    if stages == "prefix+filter":
        operators.append(filter_type(PATTERN))
    if tally is not None:
        operators.append(ops.do_action(on_next=tally.tap))
    return source.pipe(*operators)


async def run_rx_async(
    chunks: Sequence[ChunkBase],
    batch: int,
    bridge: Callable[[Observable[Any]], AsyncIterable[Any]],
    stages: str = "prefix+filter",
    *,
    rx_tap: bool = True,
) -> tuple[Elapsed, int, Usage]:
    """Read the path with ``async for``; the usage is counted by a ``do_action`` tap
    (``rx_tap``) or in the loop body, as the library-only pipeline's consumer would."""
    tally = Tally()
    pipeline = rx_pipeline(loop_source(chunks, batch), tally if rx_tap else None, stages)
    count = 0
    started = Clock()
    if rx_tap:
        async for _chunk in bridge(pipeline):
            count += 1
    else:
        tap = tally.tap
        async for chunk in bridge(pipeline):
            tap(chunk)
            count += 1
    return started.elapsed(), count, tally.total


def run_rx_sync(chunks: Sequence[ChunkBase]) -> tuple[Elapsed, int, Usage]:
    tally = Tally()
    pipeline = rx_pipeline(reactivex.from_iterable(chunks), tally)
    count = 0

    def on_next(_: object) -> None:
        nonlocal count
        count += 1

    started = Clock()
    pipeline.subscribe(on_next)
    return started.elapsed(), count, tally.total


def run_prefix_sync(chunks: Sequence[ChunkBase], stages: str) -> tuple[Elapsed, int, Usage]:
    """``prefix_events`` (or nothing, ``stages="none"``) subscribed synchronously; the sink
    counts usage, and nothing waits in a buffer: each wrapper dies once the sink returns."""
    tally = Tally()
    tap = tally.tap
    pipeline = rx_pipeline(reactivex.from_iterable(chunks), None, stages)
    count = 0

    def on_next(chunk: ChunkBase) -> None:
        nonlocal count
        tap(chunk)
        count += 1

    started = Clock()
    pipeline.subscribe(on_next)
    return started.elapsed(), count, tally.total


def run_reduce_sync(chunks: Sequence[ChunkBase]) -> tuple[Elapsed, int, Usage]:
    totals: list[Usage] = []
    pipeline = reactivex.from_iterable(chunks).pipe(
        prefix_events(PREFIX), filter_type(PATTERN), reduce_usage()
    )
    started = Clock()
    pipeline.subscribe(totals.append)
    return started.elapsed(), len(chunks), totals[0]


async def run_baseline(
    chunks: Sequence[ChunkBase], batch: int, *, wrapper: str = "model"
) -> tuple[Elapsed, int, Usage]:
    """The plain chain: ``wrapper`` is ``"model"`` (the library's ``WrappedChunk``, built the
    same cheap way) or ``"tuple"`` (no model at all: the lightest chain that does the work)."""
    matcher = TypeMatcher(PATTERN)
    memo = matcher.memo or {}
    tally = Tally()
    tap = tally.tap

    async def source() -> AsyncIterator[ChunkBase]:
        for index, chunk in enumerate(chunks):
            if index % batch == 0:
                await asyncio.sleep(0)
            yield chunk

    async def wrap(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for chunk in items:
            yield wrap_chunk(chunk, PREFIX)

    async def keep(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for chunk in items:
            hit = memo.get(chunk.type)
            if hit is None:
                hit = matcher(chunk.type)
            if hit:
                yield chunk

    async def count_usage(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for chunk in items:
            tap(chunk)
            yield chunk

    async def wrap_tuples(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for chunk in items:
            yield (PREFIX + chunk.type, chunk.run_id, "NETWORK", chunk)

    async def keep_tuples(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in items:
            hit = memo.get(item[0])
            if hit is None:
                hit = matcher(item[0])
            if hit:
                yield item

    async def count_usage_tuples(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in items:
            tap(item[3])
            yield item

    chain = (
        count_usage(keep(wrap(source())))
        if wrapper == "model"
        else count_usage_tuples(keep_tuples(wrap_tuples(source())))
    )
    count = 0
    started = Clock()
    async for _chunk in chain:
        count += 1
    return started.elapsed(), count, tally.total


# --- driver ---------------------------------------------------------------------------------


def measure(
    paths: Sequence[tuple[str, Callable[[], tuple[Elapsed, int, Usage]]]],
    repeat: int,
    expected: Usage,
    n: int,
) -> list[dict[str, Any]]:
    """Run every path ``repeat`` times, round-robin, so that they all see the same load."""
    walls: dict[str, list[float]] = {name: [] for name, _ in paths}
    cpus: dict[str, list[float]] = {name: [] for name, _ in paths}
    for _ in range(repeat):
        for name, run in paths:
            gc.collect()
            (wall, cpu), count, total = run()
            if count != n:
                raise SystemExit(f"{name}: delivered {count} chunks, expected {n}")
            if total.counters() != expected.counters():
                raise SystemExit(f"{name}: usage {total!r}, expected {expected!r}")
            walls[name].append(wall / n * 1e6)
            cpus[name].append(cpu / n * 1e6)
    rows = []
    for name, _ in paths:
        best = min(walls[name])
        rows.append(
            {
                "name": name,
                "us_per_event": round(best, 3),
                "median_us_per_event": round(statistics.median(walls[name]), 3),
                "cpu_us_per_event": round(min(cpus[name]), 3),
                "events_per_s": round(1e6 / best),
                "runs_us_per_event": [round(value, 3) for value in walls[name]],
                "runs_cpu_us_per_event": [round(value, 3) for value in cpus[name]],
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="chunks per run")
    parser.add_argument("--batch", type=int, default=STEP_EVERY, help="chunks per loop callback")
    parser.add_argument("--repeat", type=int, default=5, help="runs per row (best is shown)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave the pre-built input chunks to the garbage collector (see module docstring)",
    )
    args = parser.parse_args(argv)
    n: int = args.events

    chunks = build_chunks(n)
    expected = plain_usage(chunks)
    if not args.no_freeze:
        gc.collect()
        gc.freeze()
    to_async_iterable = adapters_bridge()
    loop = asyncio.new_event_loop()
    paths: list[tuple[str, Callable[[], tuple[Elapsed, int, Usage]]]] = [
        (
            "baseline: async generators",
            lambda: loop.run_until_complete(run_baseline(chunks, args.batch)),
        )
    ]
    if to_async_iterable is not None:
        bridge = to_async_iterable
        paths.append(
            (
                "rx → async for (adapters)",
                lambda: loop.run_until_complete(run_rx_async(chunks, args.batch, bridge)),
            )
        )
    burst = (
        to_async_iterable if to_async_iterable is not None else local_bridge
    )  # every chunk from one loop callback: they all wait in the bridge's buffer

    def burst_rx(stages: str, rx_tap: bool) -> tuple[Elapsed, int, Usage]:
        return loop.run_until_complete(run_rx_async(chunks, n, burst, stages, rx_tap=rx_tap))

    paths += [
        (
            "burst: baseline async generators",
            lambda: loop.run_until_complete(run_baseline(chunks, n)),
        ),
        (
            "burst: baseline, tuple wrappers",
            lambda: loop.run_until_complete(run_baseline(chunks, n, wrapper="tuple")),
        ),
        ("burst: prefix → filter → async for", lambda: burst_rx("prefix+filter", False)),
        ("burst: prefix_events → async for", lambda: burst_rx("prefix", False)),
        ("burst: no operator → async for", lambda: burst_rx("none", False)),
        ("burst+tap: rx → async for", lambda: burst_rx("prefix+filter", True)),
        ("burst+tap: prefix_events → tap", lambda: burst_rx("prefix", True)),
        ("burst+tap: no operator → tap", lambda: burst_rx("none", True)),
    ]
    paths += [
        (
            "rx → async for (local bridge)",
            lambda: loop.run_until_complete(run_rx_async(chunks, args.batch, local_bridge)),
        ),
        ("rx operators only (sync)", lambda: run_rx_sync(chunks)),
        ("rx reduce_usage (sync)", lambda: run_reduce_sync(chunks)),
        ("sync: prefix_events → sink", lambda: run_prefix_sync(chunks, "prefix")),
        ("sync: no operator → sink", lambda: run_prefix_sync(chunks, "none")),
    ]
    try:
        rows = measure(paths, args.repeat, expected, n)
    finally:
        loop.close()

    by_name = {row["name"]: row for row in rows}
    burst_base = by_name["burst: baseline async generators"]
    for row in rows:
        base = burst_base if row["name"].startswith("burst") else rows[0]
        row["ratio_vs_baseline"] = round(row["us_per_event"] / base["us_per_event"], 3)
        row["cpu_ratio_vs_baseline"] = round(row["cpu_us_per_event"] / base["cpu_us_per_event"], 3)

    def share(with_: str, without: str) -> dict[str, float]:
        return {
            key: round(by_name[with_][key] - by_name[without][key], 3)
            for key in ("us_per_event", "cpu_us_per_event")
        }

    prefix_share = share("burst: prefix_events → async for", "burst: no operator → async for")
    prefix_share_tap = share("burst+tap: prefix_events → tap", "burst+tap: no operator → tap")
    prefix_share_sync = share("sync: prefix_events → sink", "sync: no operator → sink")
    lightest = by_name["burst: baseline, tuple wrappers"]
    pipeline = by_name["burst: prefix → filter → async for"]

    print(
        f"{n:,} chunks ({n // STEP_EVERY:,} step-finish), {args.batch} per loop callback, "
        f"best of {args.repeat}; usage {expected!r}"
    )
    print(
        f"{'path':<34} {'µs/event':>9} {'median':>9} {'cpu µs':>8} {'events/s':>12} "
        f"{'vs baseline (cpu)':>18}"
    )
    for row in rows:
        print(
            f"{row['name']:<34} {row['us_per_event']:>9.3f} {row['median_us_per_event']:>9.3f} "
            f"{row['cpu_us_per_event']:>8.3f} {row['events_per_s']:>12,} "
            f"{row['ratio_vs_baseline']:>9.2f}x ({row['cpu_ratio_vs_baseline']:.2f}x)"
        )
    print(
        f"prefix_events in the burst: {prefix_share['us_per_event']:.3f} µs/chunk "
        f"({prefix_share['cpu_us_per_event']:.3f} cpu); with a reactivex tap after it, "
        f"{prefix_share_tap['us_per_event']:.3f} ({prefix_share_tap['cpu_us_per_event']:.3f} cpu); "
        f"synchronous, no buffer: {prefix_share_sync['us_per_event']:.3f} "
        f"({prefix_share_sync['cpu_us_per_event']:.3f} cpu)"
    )
    print(
        "burst: prefix → filter → async for vs the tuple-wrapper chain: "
        f"{pipeline['us_per_event'] / lightest['us_per_event']:.2f}x "
        f"({pipeline['cpu_us_per_event'] / lightest['cpu_us_per_event']:.2f}x cpu); "
        "burst rows compare with the burst baseline"
    )

    report = {
        "benchmark": "operators",
        "events": n,
        "batch": args.batch,
        "repeat": args.repeat,
        "step_every": STEP_EVERY,
        "gc_frozen_input": not args.no_freeze,
        "usage": expected.model_dump(by_alias=True),
        "bridge": "rxagents.adapters.to_async_iterable" if to_async_iterable else "local",
        "python": sys.version.split()[0],
        "reactivex": reactivex.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "rows": rows,
        "burst_prefix_events_us_per_event": prefix_share,
        "burst_tap_prefix_events_us_per_event": prefix_share_tap,
        "sync_prefix_events_us_per_event": prefix_share_sync,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
