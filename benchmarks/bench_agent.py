"""Agent streaming cost: µs per token and fixed µs per run, against a raw-asyncio baseline.

Run: ``python benchmarks/bench_agent.py [--tokens N] [--runs N] [--json PATH]``.

- per token: a ScriptedModel streams N text deltas in one step; the agent stream is consumed
  with ``async for``; (total time - 1-token run time) / N.
- per run: a 1-token reply, from ``await agent.stream()`` to the last chunk (building the agent
  and model not counted).
- baseline: an async generator yielding N dict events through one ``async for``, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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


async def best_of(make: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        times.append(await make())
    return statistics.median(times)


async def main(tokens: int, runs: int) -> dict[str, Any]:
    big = Agent("bench", model=ScriptedModel(script(tokens), cycle=True))
    small = Agent("bench", model=ScriptedModel(script(1), cycle=True))
    for _ in range(20):  # warm up
        await agent_run(small)
    await agent_run(big)
    run_s = await best_of(lambda: agent_run(small), runs)
    big_s = await best_of(lambda: agent_run(big), 5)
    base_big = await best_of(lambda: baseline_run(tokens), 5)
    base_small = await best_of(lambda: baseline_run(1), runs)
    per_token = (big_s - run_s) / (tokens - 1) * 1e6
    base_token = (base_big - base_small) / (tokens - 1) * 1e6
    return {
        "tokens": tokens,
        "runs": runs,
        "agent_us_per_token": per_token,
        "agent_us_per_run": run_s * 1e6,
        "baseline_us_per_token": base_token,
        "baseline_us_per_run": base_small * 1e6,
        "ratio_per_token": per_token / base_token if base_token else None,
    }


def report(result: dict[str, Any]) -> None:
    rows = [
        ("agent stream", result["agent_us_per_token"], result["agent_us_per_run"]),
        ("raw asyncio generator", result["baseline_us_per_token"], result["baseline_us_per_run"]),
    ]
    print(f"{'path':<24}{'µs/token':>12}{'tokens/s':>14}{'µs/run (1 token)':>20}")
    for name, per_token, per_run in rows:
        print(f"{name:<24}{per_token:>12.2f}{1e6 / per_token:>14,.0f}{per_run:>20.1f}")
    print(f"ratio per token (agent / baseline): {result['ratio_per_token']:.1f}x")
    print("targets: ≤ 4 µs/token, ≤ 150 µs/run")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--json", default="benchmarks/results/bench_agent.json")
    args = parser.parse_args()
    outcome = asyncio.run(main(args.tokens, args.runs))
    report(outcome)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome, indent=2))
