"""Agent streaming cost: µs per token and fixed µs per run, against a raw-asyncio baseline.

Run: ``python benchmarks/bench_agent.py [--tokens N ...] [--runs N] [--json PATH]``.

- per token: a ScriptedModel streams N text deltas in one step; the agent stream is consumed
  with ``async for``; (median N-token run - median 1-token run) / (N - 1). Measured for a typical
  long reply (1,000 tokens) and a very long one (20,000): the replay buffer keeps every chunk, so
  the garbage collector's full collections grow with the stream (DESIGN section 4).
- per run: a 1-token reply, from ``await agent.stream()`` to the last chunk (building the agent
  and model not counted), median of consecutive warm runs.
- baseline: an async generator yielding the same number of dict events through one
  ``async for``, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from rxagents.agent import Agent
from rxagents.models import ScriptedModel


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


async def agent_run(agent: Agent) -> float:
    start = time.perf_counter()
    stream = await agent.stream("go")
    async for _ in stream:
        pass
    return time.perf_counter() - start


async def baseline_run(tokens: int) -> float:
    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "start"}
        for _ in range(tokens):
            yield {"type": "text-delta", "payload": {"id": "t", "text": "tok "}}
        yield {"type": "finish"}

    start = time.perf_counter()
    async for _ in events():
        pass
    return time.perf_counter() - start


async def median_of(make: Any, repeats: int) -> float:
    """Median of consecutive warm runs (no forced collection between them: a forced
    ``gc.collect()`` empties the interpreter's free lists and makes the next run look slow)."""
    return statistics.median([await make() for _ in range(repeats)])


async def main(token_counts: list[int], runs: int) -> dict[str, Any]:
    small = Agent("bench", model=ScriptedModel(script(1), cycle=True))
    for _ in range(50):  # warm up
        await agent_run(small)
    run_s = await median_of(lambda: agent_run(small), runs)
    base_small = await median_of(lambda: baseline_run(1), runs)
    rows = []
    for tokens in token_counts:
        big = Agent("bench", model=ScriptedModel(script(tokens), cycle=True))
        await agent_run(big)
        big_s = await median_of(lambda big=big: agent_run(big), 7)
        base_big = await median_of(lambda tokens=tokens: baseline_run(tokens), 7)
        per_token = (big_s - run_s) / (tokens - 1) * 1e6
        base_token = (base_big - base_small) / (tokens - 1) * 1e6
        rows.append(
            {
                "tokens": tokens,
                "agent_us_per_token": per_token,
                "baseline_us_per_token": base_token,
                "ratio_per_token": per_token / base_token if base_token else None,
            }
        )
    return {
        "runs": runs,
        "agent_us_per_run": run_s * 1e6,
        "baseline_us_per_run": base_small * 1e6,
        "per_token": rows,
    }


def report(result: dict[str, Any]) -> None:
    print(f"{'measure':<34}{'agent stream':>14}{'raw asyncio':>14}{'ratio':>8}")
    run, base = result["agent_us_per_run"], result["baseline_us_per_run"]
    print(f"{'µs per run (1-token reply)':<34}{run:>14.1f}{base:>14.1f}{run / base:>7.0f}x")
    for row in result["per_token"]:
        label = f"µs per token ({row['tokens']:,} tokens)"
        agent, raw = row["agent_us_per_token"], row["baseline_us_per_token"]
        print(f"{label:<34}{agent:>14.2f}{raw:>14.2f}{row['ratio_per_token']:>7.1f}x")
    print("targets: ≤ 4 µs/token, ≤ 150 µs/run")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, nargs="+", default=[1_000, 20_000])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--json", default="benchmarks/results/bench_agent.json")
    args = parser.parse_args()
    outcome = asyncio.run(main(args.tokens, args.runs))
    report(outcome)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome, indent=2))
