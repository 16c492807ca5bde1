"""Cost per workflow step: a 1,000-step sequence and a 200-way parallel block of trivial steps.

Each scenario runs the same step functions twice in the same process: through a workflow run
(``run.stream()`` read to the end: every chunk built, replayed and counted, the snapshot
written to in-memory storage) and through a plain-asyncio baseline doing the same calls
(validate the input, ``await execute(ctx)``, validate the output; ``asyncio.gather`` for the
parallel block). The table shows microseconds per step (median and best of the repeats), the
framework's overhead over the baseline and the ratio of the medians. Targets: at most 50 us per
step, and at most 4 times the baseline of the same run.

Run: ``.venv/bin/python benchmarks/bench_workflow.py [--repeat 25] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rxagents.workflow import Step, StepContext, StepWriter, Workflow

TARGET_US = 50.0
TARGET_RATIO = 4.0
RESULTS = Path(__file__).parent / "results" / "bench_workflow.json"


class Value(BaseModel):
    n: int


async def increment(ctx: StepContext[Value]) -> dict[str, int]:
    return {"n": ctx.input_data.n + 1}


def steps(count: int) -> list[Step]:
    return [Step(f"step-{i}", Value, Value, increment) for i in range(count)]


def sequential(count: int) -> Workflow:
    workflow = Workflow("sequential", Value, Value)
    for step in steps(count):
        workflow.then(step)
    return workflow.commit()


def parallel(count: int) -> Workflow:
    return Workflow("parallel", Value).parallel(steps(count)).commit()


async def through_workflow(workflow: Workflow) -> int:
    run = await workflow.create_run()
    stream = await run.stream(input_data={"n": 0})
    count = 0
    async for _ in stream:
        count += 1
    result = await stream.result
    assert result.status == "success", result.error
    return count


class _Host:
    """The minimum a context needs, for the baseline."""

    init_data = None

    def suspend(self, payload: Any) -> None:
        raise RuntimeError


def _discard(value: Any) -> None:
    pass


_WRITER = StepWriter(_discard)


async def call(step: Step, value: Any) -> Any:
    ctx: StepContext[Any] = StepContext(
        _Host(),  # type: ignore[arg-type]
        step.validate_input(value),
        run_id="baseline",
        workflow_id="baseline",
        state={},
        writer=_WRITER,
    )
    return step.dump_output(await step.execute(ctx))


async def baseline_sequential(chain: list[Step]) -> int:
    value: Any = {"n": 0}
    for step in chain:
        value = await call(step, value)
    assert value == {"n": len(chain)}
    return len(chain)


async def baseline_parallel(block: list[Step]) -> int:
    outputs = await asyncio.gather(*(call(step, {"n": 0}) for step in block))
    return len(outputs)


async def measure(action: Callable[[], Awaitable[int]], repeat: int, per: int) -> list[float]:
    await action()  # warm up
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        await action()
        times.append((time.perf_counter() - start) / per * 1e6)
    return times


async def main(repeat: int) -> dict[str, Any]:
    seq_steps, par_steps = 1000, 200
    seq = sequential(seq_steps)
    par = parallel(par_steps)
    chain = steps(seq_steps)
    block = steps(par_steps)
    rows: dict[str, Any] = {}
    for name, count, framework, baseline in (
        (
            "sequential 1000",
            seq_steps,
            lambda: through_workflow(seq),
            lambda: baseline_sequential(chain),
        ),
        (
            "parallel 200",
            par_steps,
            lambda: through_workflow(par),
            lambda: baseline_parallel(block),
        ),
    ):
        # Interleave the two so machine load hits both alike.
        wf_times: list[float] = []
        base_times: list[float] = []
        for _ in range(repeat):
            wf_times += await measure(framework, 1, count)
            base_times += await measure(baseline, 1, count)
        wf_median = statistics.median(wf_times)
        base_median = statistics.median(base_times)
        rows[name] = {
            "steps": count,
            "workflow_us_per_step": {"median": wf_median, "best": min(wf_times)},
            "asyncio_us_per_step": {"median": base_median, "best": min(base_times)},
            "overhead_us_per_step": {
                "median": wf_median - base_median,
                "best": min(wf_times) - min(base_times),
            },
            "ratio_to_asyncio": wf_median / base_median,
            "target_us_per_step": TARGET_US,
            "meets_target": wf_median <= TARGET_US,
            "target_ratio": TARGET_RATIO,
            "meets_target_ratio": wf_median / base_median <= TARGET_RATIO,
        }
    return rows


def table(rows: dict[str, Any]) -> str:
    lines = [
        f"{'scenario':<17} {'workflow us/step':>20} {'asyncio us/step':>18} "
        f"{'overhead':>10} {'ratio':>6} {'target':>7}",
        f"{'':<17} {'median (best)':>20} {'median (best)':>18} {'(best)':>10} {'(med)':>6}",
    ]
    for name, row in rows.items():
        wf = row["workflow_us_per_step"]
        base = row["asyncio_us_per_step"]
        lines.append(
            f"{name:<17} {wf['median']:>11.1f} ({wf['best']:>5.1f}) "
            f"{base['median']:>9.1f} ({base['best']:>5.1f}) "
            f"{row['overhead_us_per_step']['best']:>10.1f} "
            f"{row['ratio_to_asyncio']:>5.1f}x "
            f"{'ok' if row['meets_target'] and row['meets_target_ratio'] else 'MISS':>7}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = asyncio.run(main(args.repeat))
    print(table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "bench_workflow",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "repeat": args.repeat,
        "scenarios": rows,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
