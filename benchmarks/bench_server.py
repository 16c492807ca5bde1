"""Server + client throughput on loopback: events/s, gaps between events, memory per stream.

Run: ``python benchmarks/bench_server.py [--events N] [--streams N] [--json PATH]``.

The server runs in a subprocess (this script with ``--serve``) and the client in this process,
so each side has its own core. Every figure is measured at the client, reading typed chunks
with ``RemoteAgent.observe`` (SSE decoded, each chunk validated by pydantic-core).

- one stream: an agent whose model streams N text deltas, in bursts of 100 per event-loop
  callback (as a provider delivers several tokens per read), through ``create_app`` and
  ``RemoteAgent.observe``; events/s = chunks received / time from subscribe to completion.
- server CPU per event: the server process's CPU time (user + system) over the one-stream run,
  divided by its events, for our server and for the baseline.
- baseline: a raw aiohttp handler writing the same stream's SSE lines, pre-made, in the same
  bursts; read by the same client. The difference is the server's own cost.
- 200 streams: as many concurrent agent streams (N / 200 deltas each, bursts of 10): total
  events/s, the p50/p99 time from subscribing to a stream's first event, and the p50/p99 gap
  between two consecutive events of one stream.
- memory per open stream: 200 streams whose model waits after its first delta, on a fresh
  server that traces its Python heap (tracemalloc): heap growth of the server and of the client,
  divided by the number of streams (RSS growth too, which allocator reuse makes coarse).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from rxagents.adapters.client import RemoteAgent
from rxagents.adapters.server import create_app
from rxagents.agent import Agent
from rxagents.models import FunctionModel, ModelCall, ModelPart, parse_part

TARGET = 100_000
CPUS = sorted(os.sched_getaffinity(0))


# --- the server process ---------------------------------------------------------------------


@dataclass
class Runtime:
    agents: dict[str, Any] = field(default_factory=dict)
    workflows: dict[str, Any] = field(default_factory=dict)
    storage: Any = None

    def get_agent(self, key: str) -> Any:
        return self.agents[key]

    def get_workflow(self, key: str) -> Any:
        return self.workflows[key]


def tokens_model(burst: int) -> FunctionModel:
    """Stream ``call.seed`` deltas (the seed is abused as the count), ``burst`` per loop callback.

    Parts are built once, as a provider's decoder builds them without re-validation.
    """
    start = parse_part({"type": "text-start", "id": "t"})
    delta = parse_part({"type": "text-delta", "id": "t", "delta": "tok "})
    end = parse_part({"type": "text-end", "id": "t"})

    async def stream(call: ModelCall) -> AsyncIterator[ModelPart | dict[str, Any]]:
        count = int(call.seed or 0)
        yield start
        for index in range(count):
            yield delta
            if index % burst == burst - 1:
                await asyncio.sleep(0)
        yield end
        yield {
            "type": "finish",
            "finishReason": "stop",
            "usage": {"inputTokens": 5, "outputTokens": count, "totalTokens": 5 + count},
        }

    return FunctionModel(stream)


def waiting_model() -> FunctionModel:
    async def stream(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        yield {"type": "text-start", "id": "t"}
        yield {"type": "text-delta", "id": "t", "delta": "hold"}
        await asyncio.Event().wait()

    return FunctionModel(stream)


def premade_lines(count: int) -> list[bytes]:
    """The SSE lines our server sends for a ``count``-delta run, made once, up front."""

    async def make() -> list[bytes]:
        agent = Agent("fast", model=tokens_model(100))
        lines: list[bytes] = []
        async for chunk in await agent.stream("go", seed=count):
            data = type(chunk).__pydantic_serializer__.to_json(chunk, by_alias=True)
            lines.append(b"data: " + data + b"\n\n")
        return lines

    return asyncio.run(make())


def serve(port: int, raw_events: int, trace_memory: bool) -> None:
    lines = premade_lines(raw_events) if not trace_memory else []
    if trace_memory:
        tracemalloc.start()

    async def raw(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for start in range(0, len(lines), 100):
            await response.write(b"".join(lines[start : start + 100]))
            await asyncio.sleep(0)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    runtime = Runtime(
        agents={
            "fast": Agent("fast", model=tokens_model(100)),
            "fair": Agent("fair", model=tokens_model(10)),
            "hold": Agent("hold", model=waiting_model()),
        }
    )
    app = create_app(runtime)
    app.router.add_post("/api/agents/raw/stream", raw)

    async def rss(request: web.Request) -> web.StreamResponse:
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
        return web.json_response({"rss": rss_bytes(), "traced": traced})

    async def cpu(request: web.Request) -> web.StreamResponse:
        return web.json_response({"cpu": time.process_time()})

    app.router.add_get("/rss", rss)
    app.router.add_get("/cpu", cpu)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the client -----------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def one_stream(agent: RemoteAgent, events: int) -> tuple[int, float]:
    done = asyncio.get_running_loop().create_future()
    count = 0

    def on_next(chunk: Any) -> None:
        nonlocal count
        count += 1

    start = time.perf_counter()
    agent.observe("go", seed=events).subscribe(
        on_next, done.set_exception, lambda: done.set_result(None)
    )
    await done
    return count, time.perf_counter() - start


async def timed_stream(
    agent: RemoteAgent, events: int, gaps: list[float], firsts: list[float]
) -> int:
    done = asyncio.get_running_loop().create_future()
    count = 0
    last = started = time.perf_counter()

    def on_next(chunk: Any) -> None:
        nonlocal count, last
        now = time.perf_counter()
        if count:
            gaps.append(now - last)
        else:
            firsts.append(now - started)  # subscribe → first event of this stream
        last = now
        count += 1

    agent.observe("go", seed=events).subscribe(
        on_next, done.set_exception, lambda: done.set_result(None)
    )
    await done
    return count


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(base: str, events: int, streams: int, repeats: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        fast = RemoteAgent(base, "fast", session=session)
        raw = RemoteAgent(base, "raw", session=session)
        fair = RemoteAgent(base, "fair", session=session)
        await one_stream(fast, 2_000)  # warm up both paths
        await one_stream(raw, 2_000)

        async def server_cpu() -> float:
            async with session.get(f"{base}/cpu") as response:
                return float((await response.json())["cpu"])

        ours: list[float] = []
        baseline: list[float] = []
        ours_cpu: list[float] = []
        baseline_cpu: list[float] = []
        received = 0
        for _ in range(repeats):
            gc.collect()
            cpu = await server_cpu()
            received, seconds = await one_stream(fast, events)
            ours_cpu.append((await server_cpu() - cpu) / received)
            ours.append(received / seconds)
            gc.collect()
            cpu = await server_cpu()
            raw_count, raw_seconds = await one_stream(raw, events)
            baseline_cpu.append((await server_cpu() - cpu) / raw_count)
            baseline.append(raw_count / raw_seconds)

        per_stream = max(1, events // streams)
        gaps: list[float] = []
        firsts: list[float] = []
        gc.collect()
        start = time.perf_counter()
        counts = await asyncio.gather(
            *(timed_stream(fair, per_stream, gaps, firsts) for _ in range(streams))
        )
        concurrent_seconds = time.perf_counter() - start

    return {
        "events_one_stream": received,
        "repeats": repeats,
        "one_stream_events_per_s": statistics.median(ours),
        "one_stream_events_per_s_best": max(ours),
        "raw_aiohttp_events_per_s": statistics.median(baseline),
        "raw_aiohttp_events_per_s_best": max(baseline),
        "server_cpu_us_per_event": statistics.median(ours_cpu) * 1e6,
        "raw_aiohttp_server_cpu_us_per_event": statistics.median(baseline_cpu) * 1e6,
        "streams": streams,
        "events_per_concurrent_stream": per_stream,
        "concurrent_events_total": sum(counts),
        "concurrent_events_per_s": sum(counts) / concurrent_seconds,
        "concurrent_gap_p50_ms": percentile(gaps, 0.50) * 1e3,
        "concurrent_gap_p99_ms": percentile(gaps, 0.99) * 1e3,
        "concurrent_gap_max_ms": max(gaps) * 1e3,
        "concurrent_first_event_p50_ms": percentile(firsts, 0.50) * 1e3,
        "concurrent_first_event_p99_ms": percentile(firsts, 0.99) * 1e3,
        "target_events_per_s": TARGET,
    }


async def measure_memory(base: str, streams: int) -> dict[str, Any]:
    """Open ``streams`` silent streams; Python heap growth on both sides, per stream."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        hold = RemoteAgent(base, "hold", session=session)
        await one_stream(RemoteAgent(base, "fast", session=session), 100)  # warm up
        async with session.get(f"{base}/rss") as response:
            server_before = await response.json()
        gc.collect()
        tracemalloc.start()
        client_before = tracemalloc.get_traced_memory()[0]
        client_rss_before = rss_bytes()
        opened = 0
        all_open = asyncio.get_running_loop().create_future()

        def on_next(chunk: Any) -> None:
            nonlocal opened
            if chunk.type == "text-delta":
                opened += 1
                if opened == streams and not all_open.done():
                    all_open.set_result(None)

        subscriptions = [hold.observe("go").subscribe(on_next) for _ in range(streams)]
        await all_open
        gc.collect()
        client_after = tracemalloc.get_traced_memory()[0]
        client_rss_after = rss_bytes()
        tracemalloc.stop()
        async with session.get(f"{base}/rss") as response:
            server_after = await response.json()
        for subscription in subscriptions:
            subscription.dispose()
    return {
        "open_streams": streams,
        "server_heap_bytes_per_open_stream": (server_after["traced"] - server_before["traced"])
        / streams,
        "server_rss_bytes_per_open_stream": (server_after["rss"] - server_before["rss"]) / streams,
        "client_heap_bytes_per_open_stream": (client_after - client_before) / streams,
        "client_rss_bytes_per_open_stream": (client_rss_after - client_rss_before) / streams,
    }


def report(result: dict[str, Any]) -> None:
    rows = [
        ("one stream, rxagents server", f"{result['one_stream_events_per_s']:,.0f} events/s"),
        (
            "one stream, raw aiohttp (baseline)",
            f"{result['raw_aiohttp_events_per_s']:,.0f} events/s",
        ),
        (
            "  server CPU per event",
            f"ours {result['server_cpu_us_per_event']:.2f} µs, "
            f"raw aiohttp {result['raw_aiohttp_server_cpu_us_per_event']:.2f} µs",
        ),
        (
            f"{result['streams']} concurrent streams",
            f"{result['concurrent_events_per_s']:,.0f} events/s in all",
        ),
        (
            "  gap between events of a stream",
            f"p50 {result['concurrent_gap_p50_ms']:.2f} ms, "
            f"p99 {result['concurrent_gap_p99_ms']:.2f} ms",
        ),
        (
            "  first event of a stream (from subscribe)",
            f"p50 {result['concurrent_first_event_p50_ms']:.1f} ms, "
            f"p99 {result['concurrent_first_event_p99_ms']:.1f} ms",
        ),
        (
            "memory per open stream (Python heap)",
            f"server {result['server_heap_bytes_per_open_stream'] / 1024:.1f} KiB, "
            f"client {result['client_heap_bytes_per_open_stream'] / 1024:.1f} KiB",
        ),
        (
            "memory per open stream (RSS)",
            f"server {result['server_rss_bytes_per_open_stream'] / 1024:.1f} KiB, "
            f"client {result['client_rss_bytes_per_open_stream'] / 1024:.1f} KiB",
        ),
    ]
    width = max(len(name) for name, _ in rows) + 2
    print(f"{'measure':<{width}}value")
    for name, value in rows:
        print(f"{name:<{width}}{value}")
    verdict = "met" if result["one_stream_events_per_s"] >= TARGET else "NOT met"
    print(f"target ≥ {TARGET:,} events/s for one stream: {verdict}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_up(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"{base}/api/agents") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the benchmark server did not start")


def start_server(
    events: int, *, trace_memory: bool = False, pin_cpus: bool = True
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cpus = CPUS
    pin = ["--cpu", str(cpus[-1])] if len(cpus) >= 2 and pin_cpus else []
    command = [sys.executable, __file__, "--serve", str(port), "--events", str(events), *pin]
    if trace_memory:
        command.append("--trace-memory")
    server = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if pin:  # one core each: otherwise the kernel often runs both sides on one core in turn
        os.sched_setaffinity(0, {cpus[0]})
    return server, f"http://127.0.0.1:{port}"


async def run(events: int, streams: int, repeats: int, pin_cpus: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"pinned_cpus": pin_cpus and len(CPUS) >= 2}
    for trace_memory in (True, False):
        server, base = start_server(events, trace_memory=trace_memory, pin_cpus=pin_cpus)
        try:
            await wait_until_up(base)
            if trace_memory:
                result.update(await measure_memory(base, streams))
            else:
                result.update(await measure(base, events, streams, repeats))
        finally:
            server.terminate()
            server.wait(10)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--no-pin", action="store_true", help="do not give server and client a core each"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace-memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", default="benchmarks/results/bench_server.json")
    args = parser.parse_args()
    if args.serve:
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        serve(args.serve, args.events, args.trace_memory)
        sys.exit(0)
    outcome = asyncio.run(run(args.events, args.streams, args.repeats, not args.no_pin))
    report(outcome)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome, indent=2))
