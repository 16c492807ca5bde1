"""Storage costs per backend: snapshot writes, resumes, and per-step snapshots in a workflow.

Backends: in memory, SQLite (a temporary file; ``synchronous=FULL``, the default, and
``NORMAL``), and PostgreSQL over loopback (a throwaway server started with
``tests/_services.py``: ``initdb`` into a temporary directory, ``fsync=off``; skipped with a
note when PostgreSQL is not installed). Three measures:

- ``write``: one compare-and-set ``update`` of a 10-step run snapshot (median microseconds);
- ``resume``: ``create_run(run_id)`` + ``resume()`` of a suspended 3-step run to its end, in
  a process that did not run it (median milliseconds): read, claim, run, final write;
- ``100 steps``: a 100-step workflow whose steps each wait 1 ms (a step calling a fast
  service), with the per-step snapshots against the same run saving only at start and end
  (``+snapshots``), and with ``save_interval=0.01`` (``+interval``); then steps of 10 ms (a
  slower service) with the default. The target is < 10 % with SQLite's defaults.

Run: ``.venv/bin/python benchmarks/bench_storage.py [--repeat 5] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rxagents.storage import InMemoryStorage, PostgresStorage, SqliteStorage, Storage
from rxagents.workflow import Step, StepContext, Workflow
from rxagents.workflow._execution import Execution

RESULTS = Path(__file__).parent / "results" / "bench_storage.json"
TARGET_OVERHEAD = 0.10


class N(BaseModel):
    n: int


def wait_step(seconds: float) -> Callable[[StepContext[N]], Any]:
    async def execute(ctx: StepContext[N]) -> dict[str, int]:
        await asyncio.sleep(seconds)
        return {"n": ctx.input_data.n + 1}

    return execute


def long_flow(storage: Storage, step_s: float, save_interval: float) -> Workflow:
    workflow = Workflow("long", N, N, storage=storage, save_interval=save_interval)
    for index in range(100):
        workflow.then(Step(f"s{index}", N, N, wait_step(step_s)))
    return workflow.commit()


async def approve(ctx: StepContext[N]) -> N | None:
    if ctx.resume_data is None:
        await ctx.suspend({"why": "approval"})
        return None
    return N(n=ctx.input_data.n * 10)


def approval_flow(storage: Storage) -> Workflow:
    inc = Step("inc", N, N, lambda ctx: {"n": ctx.input_data.n + 1})
    ask = Step("approve", N, N, approve)
    return Workflow("approval", N, N, storage=storage).then(inc).then(ask).then(inc).commit()


def snapshot(steps: int = 10) -> dict[str, Any]:
    records = {
        f"step-{i}": {"status": "success", "payload": {"n": i}, "output": {"n": i + 1},
                      "startedAt": 1_700_000_000_000 + i, "endedAt": 1_700_000_000_001 + i}
        for i in range(steps)
    }  # fmt: skip
    return {"version": 1, "status": "running", "steps": records, "scope": {"records": records}}


async def write_latency(storage: Storage, count: int) -> float:
    data = snapshot()
    entry = await storage.create("bench", f"w-{time.perf_counter_ns()}", data, status="running")
    assert entry is not None
    key, version = entry.key, entry.version
    times = []
    for _ in range(count):
        start = time.perf_counter()
        written = await storage.update("bench", key, data, version=version, status="running")
        times.append(time.perf_counter() - start)
        assert written is not None
        version = written.version
    return statistics.median(times) * 1e6


async def resume_latency(storage: Storage, count: int) -> float:
    first = approval_flow(storage)
    ids = []
    for _ in range(count):
        run = await first.create_run()
        await run.start(input_data={"n": 1})
        ids.append(run.run_id)
    other = approval_flow(storage)  # a fresh object: nothing cached in process
    times = []
    for run_id in ids:
        start = time.perf_counter()
        result = await (await other.create_run(run_id=run_id)).resume(resume_data={"ok": True})
        times.append(time.perf_counter() - start)
        assert result.status == "success"
    return statistics.median(times) * 1e3


async def long_run(
    storage: Storage, *, per_step: bool, step_s: float = 0.001, save_interval: float = 0.0
) -> float:
    original = Execution.save_soon
    if not per_step:  # the baseline: no snapshot but the first and the last
        Execution.save_soon = lambda self, now=False: None  # type: ignore[method-assign]
    try:
        run = await long_flow(storage, step_s, save_interval).create_run()
        start = time.perf_counter()
        result = await run.start(input_data={"n": 0})
        elapsed = time.perf_counter() - start
    finally:
        Execution.save_soon = original  # type: ignore[method-assign]
    assert result.status == "success"
    return elapsed * 1e3


async def measure(name: str, storage: Storage, repeat: int) -> dict[str, Any]:
    write = await write_latency(storage, 300)
    resume = await resume_latency(storage, 50)
    without, with_steps, spaced = [], [], []
    for _ in range(repeat):  # interleaved, so drift hits all alike
        without.append(await long_run(storage, per_step=False))
        with_steps.append(await long_run(storage, per_step=True))
        spaced.append(await long_run(storage, per_step=True, save_interval=0.01))
    slow_without, slow_with = [], []
    for _ in range(max(repeat // 2, 1)):
        slow_without.append(await long_run(storage, per_step=False, step_s=0.01))
        slow_with.append(await long_run(storage, per_step=True, step_s=0.01))
    base = statistics.median(without)
    slow_base = statistics.median(slow_without)
    return {
        "backend": name,
        "write_us": round(write, 1),
        "resume_ms": round(resume, 2),
        "flow_1ms_without_ms": round(base, 1),
        "flow_1ms_with_ms": round(statistics.median(with_steps), 1),
        "overhead_1ms": round(statistics.median(with_steps) / base - 1, 4),
        "overhead_1ms_interval_10ms": round(statistics.median(spaced) / base - 1, 4),
        "flow_10ms_without_ms": round(slow_base, 1),
        "overhead_10ms": round(statistics.median(slow_with) / slow_base - 1, 4),
    }


def _services() -> Any:
    path = Path(__file__).parent.parent / "tests" / "_services.py"
    spec = importlib.util.spec_from_file_location("_services", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@asynccontextmanager
async def backends(folder: Path) -> AsyncIterator[list[tuple[str, Callable[[], Storage]]]]:
    chosen: list[tuple[str, Callable[[], Storage]]] = [
        ("memory", InMemoryStorage),
        ("sqlite (FULL, default)", lambda: SqliteStorage(folder / "full.db")),
        ("sqlite (NORMAL)", lambda: SqliteStorage(folder / "normal.db", synchronous="NORMAL")),
    ]
    server = None
    try:
        server = _services().PostgresServer()
        server.start()
    except Exception as error:  # no PostgreSQL here: say so, measure the rest
        sys.stderr.write(f"PostgreSQL skipped: {error}\n")
        server = None
    if server is not None:
        dsn = server.new_database()
        chosen.append(("postgres (loopback)", lambda: PostgresStorage(dsn)))
    try:
        yield chosen
    finally:
        if server is not None:
            server.stop()


async def main(repeat: int) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        async with backends(Path(folder)) as chosen:
            for name, make in chosen:
                storage = make()
                try:
                    rows.append(await measure(name, storage, repeat))
                finally:
                    await storage.close()
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeat": repeat,
        "target_overhead": TARGET_OVERHEAD,
        "results": rows,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{'backend':<24}{'write us':>9}{'resume ms':>10}{'100x1ms':>9}{'+snapshots':>11}"
        f"{'+interval':>10}{'100x10ms':>10}{'+snapshots':>11}"
    ]
    for row in report["results"]:
        lines.append(
            f"{row['backend']:<24}{row['write_us']:>9.1f}{row['resume_ms']:>10.2f}"
            f"{row['flow_1ms_without_ms']:>7.0f}ms{row['overhead_1ms'] * 100:>10.1f}%"
            f"{row['overhead_1ms_interval_10ms'] * 100:>9.1f}%"
            f"{row['flow_10ms_without_ms']:>8.0f}ms{row['overhead_10ms'] * 100:>10.1f}%"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    report = asyncio.run(main(args.repeat))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"wrote {args.json}")
