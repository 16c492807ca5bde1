"""Agent streaming cost: µs per token, fixed µs per run, and what a finished run retains.

Run: ``python benchmarks/bench_agent.py [--tokens N ...] [--runs N] [--rounds R] [--json PATH]``
(from the repository root, with ``PYTHONPATH=.`` so that this checkout's ``rxagents`` is used).

The garbage collector stays on, as users run it; the machine may be shared, so every row is
measured ``R`` times, the rows taking turns, and the table shows the best round by process CPU
time (steadier than the wall clock when other processes compete for the cores) with the wall
clock beside it. Compare rows with each other, within one run.

- per token: a ScriptedModel streams N text deltas in one step, all from one loop callback
  (one burst, so the reader lags the whole step behind); the agent stream is consumed with
  ``async for``; (best N-token run - median 1-token run) / (N - 1). 1,000 tokens is a typical
  long reply, 20,000 and 100,000 very long ones: flat means the 100,000-token row costs no
  more per token than the 1,000-token one.
- per run: a 1-token reply, from ``await agent.stream()`` to the last chunk (building the agent
  and model not counted), median of consecutive warm runs; also with ``await stream.text``
  after the last chunk (the results are folded from the chunks when first asked for).
- baseline: an async generator yielding the same number of dict events through one
  ``async for``, in the same run.
- retained: one N-token run from a model that builds its parts as it streams (so that nothing
  but the run keeps them), read to the end; then, with the stream still referenced, the bytes
  tracemalloc sees still allocated since the run started, and the objects the garbage
  collector tracks, per retained chunk: counted in the replay buffer (each stored item and the
  tracked objects it reaches through chunk fields and payloads), and over the whole process
  (``gc.get_objects()`` after a collection, minus the count before the run).
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
import tracemalloc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents._core.wire import trusted_builder
from rxagents.agent import Agent
from rxagents.models import (
    FinishPart,
    ModelCall,
    ModelPart,
    ScriptedModel,
    TextDeltaPart,
    TextEndPart,
    TextStartPart,
)
from rxagents.usage import Usage

Elapsed = tuple[float, float]
"""Wall-clock and CPU seconds."""


def script(tokens: int) -> list[list[dict[str, Any]]]:
    return [
        [
            {"type": "text-start", "id": "t"},
            *({"type": "text-delta", "id": "t", "delta": "tok "} for _ in range(tokens)),
            {"type": "text-end", "id": "t"},
            {
                "type": "finish",
                "finishReason": "stop",
                "usage": {"inputTokens": 5, "outputTokens": tokens, "totalTokens": 5 + tokens},
            },
        ]
    ]


_text_delta_part = trusted_builder(TextDeltaPart, "id", "delta")


class GeneratingModel:
    """A v2 model building ``tokens`` fresh text-delta parts per call, in one loop callback."""

    specification_version = "v2"
    provider = "bench"
    model_id = "generating"

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens

    def do_stream(self, call: ModelCall) -> Observable[ModelPart]:
        def subscribe(
            observer: abc.ObserverBase[ModelPart], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            disposed = False

            def emit() -> None:
                observer.on_next(TextStartPart(id="t"))
                for index in range(self.tokens):
                    if disposed:
                        return
                    observer.on_next(_text_delta_part("t", f"w{index} "))
                observer.on_next(TextEndPart(id="t"))
                usage = Usage(input_tokens=5, output_tokens=self.tokens)
                observer.on_next(FinishPart(finish_reason="stop", usage=usage))
                observer.on_completed()

            def dispose() -> None:
                nonlocal disposed
                disposed = True

            handle = asyncio.get_running_loop().call_soon(emit)
            return Disposable(lambda: (dispose(), handle.cancel()))

        return Observable(subscribe)


async def agent_run(agent: Agent, *, awaited: bool = False) -> Elapsed:
    model = agent.model
    if isinstance(model, ScriptedModel):
        model.calls.clear()  # a cycling model records every call: keep the heap flat
    wall, cpu = time.perf_counter(), time.process_time()
    stream = await agent.stream("go")
    async for _ in stream:
        pass
    if awaited:  # the results are folded from the chunks when first asked for
        await stream.text
    return time.perf_counter() - wall, time.process_time() - cpu


async def baseline_run(tokens: int) -> Elapsed:
    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "start"}
        for _ in range(tokens):
            yield {"type": "text-delta", "payload": {"id": "t", "text": "tok "}}
        yield {"type": "finish"}

    wall, cpu = time.perf_counter(), time.process_time()
    async for _ in events():
        pass
    return time.perf_counter() - wall, time.process_time() - cpu


async def median_of(make: Callable[[], Any], repeats: int) -> Elapsed:
    """Median wall and CPU time of consecutive warm runs (no forced collection between them: a
    forced ``gc.collect()`` empties the interpreter's free lists and makes the next run slow)."""
    runs = [await make() for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _tracked_in(item: Any) -> int:
    """Objects the collector tracks that a stored buffer item holds (itself included)."""
    count = 0
    pending = [item]
    while pending:
        obj = pending.pop()
        if gc.is_tracked(obj):
            count += 1
        if isinstance(obj, tuple):
            pending.extend(obj)
        elif isinstance(obj, BaseModel):
            fields = obj.__dict__
            count += gc.is_tracked(fields)
            pending.extend(value for value in fields.values() if isinstance(value, BaseModel))
    return count


async def retention(tokens: int) -> dict[str, float]:
    """What a finished ``tokens``-token run keeps, per retained chunk (see module docstring)."""
    agent = Agent("bench", model=GeneratingModel(tokens))
    stream = await agent.stream("warm up")
    async for _ in stream:
        pass
    del stream
    gc.collect()
    objects_before = len(gc.get_objects())
    tracemalloc.start()
    stream = await agent.stream("go")
    async for _ in stream:
        pass
    await stream.text
    gc.collect()
    retained, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    objects_after = len(gc.get_objects())
    chunks = len(stream.chunks)
    items = getattr(stream.chunks, "raw", stream.chunks)  # stored items, compact or not
    in_buffer = sum(_tracked_in(item) for item in items)
    result = {
        "tokens": tokens,
        "chunks": chunks,
        "bytes_per_token": retained / tokens,
        "tracked_per_chunk_buffer": in_buffer / chunks,
        "tracked_per_chunk_process": (objects_after - objects_before) / chunks,
    }
    del stream
    return result


async def main(token_counts: list[int], runs: int, rounds: int) -> dict[str, Any]:
    small = Agent("bench", model=ScriptedModel(script(1), cycle=True))
    for _ in range(50):  # warm up
        await agent_run(small)
    bigs = {n: Agent("bench", model=ScriptedModel(script(n), cycle=True)) for n in token_counts}
    for agent in bigs.values():
        await agent_run(agent)
    samples: dict[str, list[Elapsed]] = {}

    def record(name: str, value: Elapsed) -> None:
        samples.setdefault(name, []).append(value)

    for _ in range(rounds):
        record("run", await median_of(lambda: agent_run(small), runs))
        record("run_text", await median_of(lambda: agent_run(small, awaited=True), runs))
        record("base_run", await median_of(lambda: baseline_run(1), runs))
        for tokens, agent in bigs.items():
            repeats = max(1, 20_000 // tokens)
            record(f"agent{tokens}", min([await agent_run(agent) for _ in range(repeats)]))
            record(f"base{tokens}", min([await baseline_run(tokens) for _ in range(repeats)]))

    def best(name: str) -> Elapsed:
        values = samples[name]
        return min(v[0] for v in values), min(v[1] for v in values)

    run_wall, run_cpu = best("run")
    text_wall, text_cpu = best("run_text")
    base_wall, base_cpu = best("base_run")
    rows = []
    for tokens in token_counts:
        wall, cpu = best(f"agent{tokens}")
        bwall, bcpu = best(f"base{tokens}")
        rows.append(
            {
                "tokens": tokens,
                "agent_us_per_token": (wall - run_wall) / (tokens - 1) * 1e6,
                "agent_cpu_us_per_token": (cpu - run_cpu) / (tokens - 1) * 1e6,
                "baseline_us_per_token": (bwall - base_wall) / (tokens - 1) * 1e6,
                "baseline_cpu_us_per_token": (bcpu - base_cpu) / (tokens - 1) * 1e6,
            }
        )
    kept = [await retention(tokens) for tokens in token_counts]
    return {
        "runs": runs,
        "rounds": rounds,
        "gc_enabled": gc.isenabled(),
        "agent_us_per_run": run_wall * 1e6,
        "agent_cpu_us_per_run": run_cpu * 1e6,
        "agent_us_per_run_text_awaited": text_wall * 1e6,
        "agent_cpu_us_per_run_text_awaited": text_cpu * 1e6,
        "baseline_us_per_run": base_wall * 1e6,
        "per_token": rows,
        "retained": kept,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def report(result: dict[str, Any]) -> None:
    print(f"best of {result['rounds']} rounds, gc enabled: {result['gc_enabled']}")
    print(f"{'measure':<32}{'cpu µs':>9}{'wall µs':>9}{'raw asyncio':>13}{'vs 1,000':>10}")
    run, cpu, base = (
        result["agent_us_per_run"],
        result["agent_cpu_us_per_run"],
        result["baseline_us_per_run"],
    )
    print(f"{'per run (1-token reply)':<32}{cpu:>9.1f}{run:>9.1f}{base:>13.1f}")
    text, text_cpu = (
        result["agent_us_per_run_text_awaited"],
        result["agent_cpu_us_per_run_text_awaited"],
    )
    print(f"{'  the same, text awaited':<32}{text_cpu:>9.1f}{text:>9.1f}")
    first = result["per_token"][0]["agent_cpu_us_per_token"]
    for row in result["per_token"]:
        label = f"per token ({row['tokens']:,} tokens)"
        agent, wall, raw = (
            row["agent_cpu_us_per_token"],
            row["agent_us_per_token"],
            row["baseline_cpu_us_per_token"],
        )
        print(f"{label:<32}{agent:>9.2f}{wall:>9.2f}{raw:>13.2f}{agent / first:>9.2f}x")
    print()
    print(f"{'retained by a finished run':<32}{'B/token':>9}{'tracked/chunk':>15}{'(process)':>11}")
    for row in result["retained"]:
        label = f"{row['tokens']:,} tokens ({row['chunks']:,} chunks)"
        print(
            f"{label:<32}{row['bytes_per_token']:>9.0f}{row['tracked_per_chunk_buffer']:>15.3f}"
            f"{row['tracked_per_chunk_process']:>11.3f}"
        )
    print("targets: 100,000 ≤ 1.3 x 1,000 per token; ≤ 3 µs/token at 20,000; ≤ 75 µs/run;")
    print("         ≤ 300 B and ≤ 1 tracked object per retained chunk")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, nargs="+", default=[1_000, 20_000, 100_000])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default="benchmarks/results/bench_agent.json")
    args = parser.parse_args()
    outcome = asyncio.run(main(args.tokens, args.runs, args.rounds))
    report(outcome)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome, indent=2))
