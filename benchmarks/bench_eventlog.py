"""Event logs: append cost in memory, Redis throughput, latency to another process, memory.

Run: ``python benchmarks/bench_eventlog.py [--url redis://...] [--json PATH]``. Without
``--url`` the benchmark starts its own ``redis-server`` (no persistence) on a free port.

- in-memory append: ``run_log.append(chunk)`` against ``chunks.append(chunk)`` on a plain list
  (the baseline, measured in the same run), best of 5 rounds of 1,000,000 appends of a
  ``text-delta``, no reader waiting (a waiting reader adds one wake-up per event-loop turn).
- Redis, one run: 200,000 text deltas appended in bursts of 100 per event-loop callback (as a
  provider delivers several tokens per read); chunks/s from the first append until
  ``flush()`` returned (everything stored).
- Redis, 100 runs at full speed: 100 concurrent runs, 2,000 chunks each, same bursts.
- Redis, 100 runs at 2,000 chunks/s in total: every 5 ms one chunk is appended to each of 10
  runs (round robin), for 10 s; a reader in another process follows all 100 runs
  (``read_json``) and measures append → read latency per chunk (the chunk carries its append
  time, ``CLOCK_MONOTONIC`` being shared by processes): p50, p99, max.
- Redis memory: ``MEMORY USAGE`` of a run of 10,000 text deltas (stream + meta hash), per
  chunk, next to the chunk's JSON size.
- Served: one agent run of 50,000 text deltas (a function model yielding them in bursts of
  100) through our server (``create_app``, on 127.0.0.1) into a ``RemoteAgent`` in the same
  process, with the in-memory log and with the Redis log: chunks/s the client received, best
  of 3; then the same with the server in its own process (this script with ``--server``), as
  it is deployed, the client in this one.
- Finished runs: the process's RSS after 1,000 agent runs served to the end (in-memory log,
  ``retention=0``: nothing kept once a run ended) and what the server still holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio
from aiohttp import web

from rxagents import Agent, Runtime
from rxagents.adapters.client import RemoteAgent
from rxagents.adapters.server import create_app
from rxagents.adapters.server._config import CONFIG
from rxagents.eventlog import EventLog, InMemoryEventLog, RedisEventLog, chunk_json
from rxagents.events import TextDelta, TextDeltaPayload
from rxagents.models import FunctionModel, ModelCall

RESULTS = Path(__file__).parent / "results" / "bench_eventlog.json"
BURST = 100


def delta(run_id: str, text: str) -> TextDelta:
    return TextDelta(run_id=run_id, payload=TextDeltaPayload(id="text-1", text=text))


# --- a redis-server of our own ----------------------------------------------------------------


def start_redis(directory: str) -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", directory, "--logfile", ""],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if "Ready to accept connections" in line:
            break
    return process, f"redis://127.0.0.1:{port}/0"


# --- in memory ----------------------------------------------------------------------------------


async def bench_memory(count: int = 1_000_000, rounds: int = 5) -> dict[str, float]:
    chunk = delta("r", "tok")
    baseline: list[float] = []
    logged: list[float] = []
    for i in range(rounds):
        plain: list[Any] = []
        start = time.perf_counter()
        for _ in range(count):
            plain.append(chunk)
        baseline.append(time.perf_counter() - start)
        log = InMemoryEventLog()
        run = log.open(f"r{i}", kind="agent")
        start = time.perf_counter()
        for _ in range(count):
            run.append(chunk)  # looked up per call, as callers must
        logged.append(time.perf_counter() - start)
        run.end()
        await log.aclose()
    list_ns = min(baseline) / count * 1e9
    log_ns = min(logged) / count * 1e9
    return {
        "list_append_ns": round(list_ns, 1),
        "run_log_append_ns": round(log_ns, 1),
        "extra_ns_per_chunk": round(log_ns - list_ns, 1),
    }


# --- Redis throughput ---------------------------------------------------------------------------


async def append_in_bursts(run: Any, run_id: str, count: int) -> None:
    chunk = delta(run_id, "tok")
    for done in range(0, count, BURST):
        for _ in range(min(BURST, count - done)):
            run.append(chunk)
        await asyncio.sleep(0)  # the next burst comes in a later callback
    run.end()
    await run.flush()


async def bench_redis_throughput(url: str, runs: int, per_run: int) -> dict[str, float]:
    log = RedisEventLog(url, prefix=f"bench-{uuid.uuid4().hex[:6]}")
    handles = [await log.create(f"run-{i}", kind="agent") for i in range(runs)]
    start = time.perf_counter()
    await asyncio.gather(
        *(append_in_bursts(run, f"run-{i}", per_run) for i, run in enumerate(handles))
    )
    elapsed = time.perf_counter() - start
    await log.aclose()
    return {"runs": runs, "chunks": runs * per_run, "chunks_per_s": round(runs * per_run / elapsed)}


# --- Redis latency to a reader in another process -----------------------------------------------


async def reader_process(url: str, prefix: str, runs: int) -> None:
    log = RedisEventLog(url, prefix=prefix)
    latencies: list[int] = []

    async def follow(run_id: str) -> None:
        async for _, raw in log.read_json(run_id):
            now = time.monotonic_ns()
            text = json.loads(raw)["payload"]["text"]
            latencies.append(now - int(text))

    tasks = [asyncio.create_task(follow(f"run-{i}")) for i in range(runs)]
    await asyncio.sleep(0.5)  # let every reader reach its blocking read
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.gather(*tasks)
    await log.aclose()
    sys.stdout.write(json.dumps(latencies) + "\n")
    sys.stdout.flush()


async def bench_redis_latency(
    url: str, runs: int = 100, rate: int = 2000, seconds: float = 10.0
) -> dict[str, float]:
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    log = RedisEventLog(url, prefix=prefix)
    handles = [await log.create(f"run-{i}", kind="agent") for i in range(runs)]
    reader = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--reader", url, prefix, str(runs),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert reader.stdout is not None
    assert (await reader.stdout.readline()).strip() == b"ready"
    tick = 0.005
    per_tick = round(rate * tick)
    total = round(rate * seconds)
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    index = 0
    while sent < total:
        for _ in range(per_tick):
            run_id = f"run-{index % runs}"
            handles[index % runs].append(delta(run_id, str(time.monotonic_ns())))
            index += 1
            sent += 1
        next_tick = start + (sent // per_tick) * tick
        await asyncio.sleep(max(0.0, next_tick - loop.time()))
    elapsed = loop.time() - start
    for run in handles:
        run.end()
    for run in handles:
        await run.flush()
    latencies = sorted(json.loads(await reader.stdout.read()))
    await reader.wait()
    await log.aclose()

    def ms(ns: float) -> float:
        return round(ns / 1e6, 3)

    return {
        "runs": runs,
        "chunks": len(latencies),
        "rate_chunks_per_s": round(sent / elapsed),
        "p50_ms": ms(statistics.median(latencies)),
        "p99_ms": ms(latencies[int(len(latencies) * 0.99) - 1]),
        "max_ms": ms(latencies[-1]),
    }


# --- Redis memory ------------------------------------------------------------------------------


async def bench_redis_memory(url: str, count: int = 10_000) -> dict[str, float]:
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    log = RedisEventLog(url, prefix=prefix)
    run = await log.create("mem", kind="agent")
    chunks = [delta("mem", f" word{i % 97}") for i in range(count)]
    for chunk in chunks:
        run.append(chunk)
    run.end()
    await run.flush()
    await log.aclose()
    raw = redis.asyncio.Redis.from_url(url)
    stream = await raw.memory_usage(f"{prefix}:{{mem}}:stream", samples=0)
    meta = await raw.memory_usage(f"{prefix}:{{mem}}:meta", samples=0)
    await raw.aclose()
    json_bytes = statistics.mean(len(chunk_json(c)) for c in chunks)
    return {
        "chunks": count,
        "bytes_per_chunk": round((stream + meta) / count, 1),
        "json_bytes_per_chunk": round(json_bytes, 1),
    }


# --- main ---------------------------------------------------------------------------------------


SERVED_CHUNKS = 50_000


async def _burst_model(call: ModelCall) -> Any:
    yield {"type": "text-start", "id": "t"}
    for i in range(SERVED_CHUNKS):
        yield {"type": "text-delta", "id": "t", "delta": "tok "}
        if i % 100 == 99:
            await asyncio.sleep(0)  # a provider's read delivers a burst of tokens
    yield {"type": "text-end", "id": "t"}
    yield {
        "type": "finish",
        "finishReason": "stop",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
    }


async def _serve(log: EventLog) -> tuple[web.AppRunner, str, web.Application]:
    agent = Agent("fast", model=FunctionModel(_burst_model))
    app = create_app(Runtime(agents={"fast": agent}, event_log=log))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}", app


async def _best_of(base: str, rounds: int) -> float:
    remote = RemoteAgent(base, "fast")
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        count = 0
        async for _chunk in await remote.stream("go"):
            count += 1
        best = max(best, count / (time.perf_counter() - started))
    return best


async def bench_served(log: EventLog, rounds: int = 3) -> dict[str, float]:
    runner, base, _ = await _serve(log)
    try:
        best = await _best_of(base, rounds)
    finally:
        await runner.cleanup()
        await log.aclose()
    return {"chunks": SERVED_CHUNKS, "chunks_per_s": round(best)}


async def server_process(kind: str, url: str) -> None:
    """The server of the own-process variant: prints its base URL, serves until killed."""
    log: EventLog = (
        InMemoryEventLog(retention=60.0)
        if kind == "memory"
        else RedisEventLog(url, prefix=f"bs-{uuid.uuid4().hex}")
    )
    _runner, base, _ = await _serve(log)
    print(base, flush=True)
    await asyncio.Event().wait()


async def bench_served_process(kind: str, url: str, rounds: int = 3) -> dict[str, float]:
    """As :func:`bench_served`, with the server in its own process (as it is deployed)."""
    server = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--server", kind, url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        base = (await server.stdout.readline()).decode().strip()
        best = await _best_of(base, rounds)
    finally:
        server.terminate()
        await server.wait()
    return {"chunks": SERVED_CHUNKS, "chunks_per_s": round(best)}


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def bench_finished_runs(runs: int = 1_000) -> dict[str, Any]:
    global SERVED_CHUNKS
    saved, SERVED_CHUNKS = SERVED_CHUNKS, 20
    log = InMemoryEventLog(retention=0.0)
    runner, base, app = await _serve(log)
    remote = RemoteAgent(base, "fast")
    try:
        before = _rss_kib()
        for _ in range(runs):
            await (await remote.stream("go")).text
        await asyncio.sleep(0.1)  # let the zero-retention expiries run
        after = _rss_kib()
        held = app[CONFIG].runs.owned
    finally:
        await runner.cleanup()
        await log.aclose()
        SERVED_CHUNKS = saved
    return {
        "runs": runs,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_growth_kib": after - before,
        "runs_held_by_server": held,
        "logs_kept": len(log._runs),
    }


async def run_all(url: str) -> dict[str, Any]:
    return {
        "served_memory_log": await bench_served(InMemoryEventLog(retention=60.0)),
        "served_redis_log": await bench_served(RedisEventLog(url, prefix=f"bs-{uuid.uuid4().hex}")),
        "served_process_memory_log": await bench_served_process("memory", url),
        "served_process_redis_log": await bench_served_process("redis", url),
        "finished_runs": await bench_finished_runs(),
        "memory_append": await bench_memory(),
        "redis_one_run": await bench_redis_throughput(url, 1, 200_000),
        "redis_100_runs": await bench_redis_throughput(url, 100, 2_000),
        "redis_latency_100_runs_2000_per_s": await bench_redis_latency(url),
        "redis_memory": await bench_redis_memory(url),
    }


def print_table(outcome: dict[str, Any]) -> None:
    memory = outcome["memory_append"]
    rows = [
        ("list.append (baseline)", f"{memory['list_append_ns']} ns/chunk"),
        ("InMemoryRunLog.append", f"{memory['run_log_append_ns']} ns/chunk"),
        ("  extra per chunk", f"{memory['extra_ns_per_chunk']} ns"),
        ("Redis, 1 run", f"{outcome['redis_one_run']['chunks_per_s']:,} chunks/s"),
        ("Redis, 100 runs", f"{outcome['redis_100_runs']['chunks_per_s']:,} chunks/s"),
    ]
    latency = outcome["redis_latency_100_runs_2000_per_s"]
    rows += [
        (
            f"append→reader, 100 runs @ {latency['rate_chunks_per_s']:,}/s",
            f"p50 {latency['p50_ms']} ms, p99 {latency['p99_ms']} ms, max {latency['max_ms']} ms",
        ),
        (
            "Redis memory per chunk",
            f"{outcome['redis_memory']['bytes_per_chunk']} B "
            f"(JSON {outcome['redis_memory']['json_bytes_per_chunk']} B)",
        ),
    ]
    finished = outcome["finished_runs"]
    rows += [
        (
            "server → RemoteAgent, in-memory log",
            f"{outcome['served_memory_log']['chunks_per_s']:,} chunks/s",
        ),
        (
            "server → RemoteAgent, Redis log",
            f"{outcome['served_redis_log']['chunks_per_s']:,} chunks/s",
        ),
        (
            "server process → RemoteAgent, in-memory log",
            f"{outcome['served_process_memory_log']['chunks_per_s']:,} chunks/s",
        ),
        (
            "server process → RemoteAgent, Redis log",
            f"{outcome['served_process_redis_log']['chunks_per_s']:,} chunks/s",
        ),
        (
            f"RSS after {finished['runs']:,} finished runs",
            f"+{finished['rss_growth_kib']:,} KiB ({finished['rss_after_kib']:,} KiB), "
            f"runs held {finished['runs_held_by_server']}, logs kept {finished['logs_kept']}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--reader":
        asyncio.run(reader_process(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--server":
        asyncio.run(server_process(sys.argv[2], sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an existing Redis (default: start one)")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write results")
    args = parser.parse_args()
    server = None
    with tempfile.TemporaryDirectory() as directory:
        url = args.url
        if url is None:
            server, url = start_redis(directory)
        try:
            outcome = asyncio.run(run_all(url))
        finally:
            if server is not None:
                server.terminate()
                server.wait()
    print_table(outcome)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(outcome, indent=2))


if __name__ == "__main__":
    main()
