"""rxagents next to its peers: the same scripted agent runs, every event read, in one process.

Run: ``pip install -e '.[bench]'`` (the peers; an optional extra) then
``python benchmarks/bench_peers.py [--tokens 1000 20000] [--reps 9] [--json PATH]``.

Peers (``benchmarks/peers/``, one module each; a peer that is not installed is left out):

- ``rxagents``: ``await agent.stream(prompt)``, ``async for`` over every chunk.
- ``pydantic-ai``: ``agent.run_stream_events(prompt)``, every event, tool events included.
- ``openai-agents``: ``Runner.run_streamed(agent, prompt).stream_events()``.
- ``langchain (chat model)``: a chat model with the tool bound, ``astream_events`` (v2); text
  scenarios only.
- ``langchain (create_agent)``: the LangGraph agent of ``langchain.agents.create_agent``,
  ``astream_events`` (v2).
- ``async generator (floor)``: a plain async generator of small dicts, no framework.
- Mastra itself, optionally: ``benchmarks/mastra/bench_mastra.mjs`` runs the same scenarios on
  ``@mastra/core`` in Node (its header says how to install it in a scratch directory); pass its
  JSON with ``--mastra-json PATH`` to add its row. It runs in its own process, before this one,
  so it is not rotated with the others and its ratio is less sure.

Each peer gets its own fake model that streams the scripted reply as the framework expects
from a provider integration: rxagents' ``ScriptedModel`` (parts validated once, replayed),
pydantic-ai's ``FunctionModel`` with a stream function yielding the token strings, a
``Model`` subclass replaying pre-built Responses API events for the Agents SDK, and a
``BaseChatModel`` subclass whose ``_astream`` builds one chunk per token for LangChain.

Scenarios, each read to the last event with ``async for``:

- a 1-token reply: the fixed cost of a run (µs per run, median of every run);
- ``N`` text tokens in one model call (N = 1,000 and 20,000): µs per token =
  (median N-token run - median 1-token run) / (N - 1);
- a tool loop: model → ``weather(city="Paris")`` → model streaming 50 tokens (µs per run).

Repetitions: every repetition runs every scenario for every peer, the peers' order rotated from
one repetition to the next so that the machine's load drifts onto all alike; figures are medians
of all the runs and the ratio to rxagents is taken within the run. Two clocks: the process's CPU
time (``time.process_time``: every thread, so tools run in worker threads count; it leaves out
the time other programs on a shared machine take from us) and the wall clock. Every run here is
CPU-bound, so on a quiet machine the two agree. The garbage collector stays enabled (as users
run it) and no collection is forced between runs.

Work per event is not the same everywhere; read the ratios with this in mind:

- rxagents: one event per token (a frozen pydantic ``text-delta`` chunk with Mastra's wire
  shape), kept in the run's replay buffer (so late readers replay it); the run accumulates the
  step's text and usage. The model's parts are pre-built.
- pydantic-ai: one ``PartDeltaEvent`` (with a ``TextPartDelta``) per token, the first token in
  the ``PartStartEvent``; the text is accumulated into the response's ``TextPart``, the
  ``FunctionModel`` estimates usage per token, and events reach the consumer from a
  background task through an anyio memory stream. Its model layer alone
  (``pydantic_ai.direct.model_request_stream`` on the same ``FunctionModel``) is roughly a
  third of its cost per token.
- openai-agents: one ``RawResponsesStreamEvent`` per token wrapping the provider's
  ``ResponseTextDeltaEvent`` (pre-built here, as a provider client would parse it); nothing is
  accumulated per token (the final message comes whole in ``response.completed``); events
  go through an ``asyncio.Queue``. Tracing is disabled. Lighter per token than the others.
- langchain: one ``on_chat_model_stream`` event dict per token (run id, parent ids, tags,
  metadata) around an ``AIMessageChunk`` the model builds and validates per token; the
  callback system reports each token and the chunks are summed into the final message. The
  ``create_agent`` runs add LangGraph's node and graph events.
- mastra: one chunk per token with the same wire shape as ours, through the Web Streams of
  its agent loop; the AI SDK's ``MockLanguageModelV2`` streams pre-built v2 parts. Another
  runtime (V8), so its figures say as much about Node as about Mastra.
- floor: one small dict per event, nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from peers import Run, Scenario

RESULTS = Path(__file__).parent / "results" / "bench_peers.json"
TOOL_TOKENS = 50
PEER_MODULES = (
    ("peers.floor", None),
    ("peers.rxagents_peer", None),
    ("peers.pydantic_ai_peer", None),
    ("peers.openai_agents_peer", None),
    ("peers.langchain_peer", "ChatModel"),
    ("peers.langchain_peer", "CreateAgent"),
)
REFERENCE = "rxagents"


@dataclass
class Peer:
    name: str
    distributions: tuple[str, ...]
    make: Any
    runs: dict[Scenario, Run | None] = field(default_factory=dict)
    cpu: dict[Scenario, list[float]] = field(default_factory=dict)
    wall: dict[Scenario, list[float]] = field(default_factory=dict)
    events: dict[Scenario, int] = field(default_factory=dict)


def load_peers() -> tuple[list[Peer], dict[str, str]]:
    """Import every peer module; a missing package leaves that peer out (with the reason)."""
    peers: list[Peer] = []
    missing: dict[str, str] = {}
    for module_name, attribute in PEER_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            missing[module_name.removeprefix("peers.").removesuffix("_peer")] = str(error)
            continue
        source = getattr(module, attribute) if attribute else module
        peers.append(Peer(source.NAME, tuple(source.DISTRIBUTIONS), source.runner))
    return peers, missing


def versions(peers: list[Peer]) -> dict[str, str]:
    found: dict[str, str] = {}
    for peer in peers:
        for dist in peer.distributions:
            try:
                found[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                found[dist] = "?"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
        found["rxagents"] += f" ({commit})"
    except (OSError, subprocess.CalledProcessError, KeyError):
        pass
    return found


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


async def timed(run: Run) -> tuple[float, float, int]:
    """One run: (CPU seconds of the whole process, wall seconds, events read)."""
    cpu, wall = time.process_time(), time.perf_counter()
    count = await run()
    return time.process_time() - cpu, time.perf_counter() - wall, count


def batch_size(scenario: Scenario) -> int:
    """Runs per peer per round: many short runs, one very long one."""
    if scenario.kind == "tool":
        return 10
    if scenario.tokens == 1:
        return 30
    return max(1, 3_000 // scenario.tokens)


async def measure(peers: list[Peer], scenarios: list[Scenario], reps: int) -> None:
    for peer in peers:
        for scenario in scenarios:
            run = peer.make(scenario)
            peer.runs[scenario] = run
            peer.cpu[scenario], peer.wall[scenario] = [], []
            if run is not None:  # warm up: imports, caches, first-call validation
                for _ in range(3 if scenario.tokens > 1_000 else 20):
                    *_, peer.events[scenario] = await timed(run)
    for round_index in range(reps):
        shift = round_index % len(peers)
        order = peers[shift:] + peers[:shift]
        for scenario in scenarios:
            for peer in order:
                run = peer.runs[scenario]
                if run is None:
                    continue
                for _ in range(batch_size(scenario)):
                    cpu, wall, _ = await timed(run)
                    peer.cpu[scenario].append(cpu)
                    peer.wall[scenario].append(wall)
        print(f"repetition {round_index + 1}/{reps} done", file=sys.stderr)


def summarise(
    peers: list[Peer], one: Scenario, long: list[Scenario], tool: Scenario, clock: str
) -> list[dict[str, Any]]:
    rows = []
    for peer in peers:
        samples = peer.cpu if clock == "cpu" else peer.wall
        row: dict[str, Any] = {"peer": peer.name, "events_per_run": {}}
        run_s = statistics.median(samples[one])
        row["us_per_run"] = run_s * 1e6
        row["events_per_run"]["1"] = peer.events[one]
        row["us_per_token"] = {}
        for scenario in long:
            long_s = statistics.median(samples[scenario])
            row["us_per_token"][str(scenario.tokens)] = (
                (long_s - run_s) / (scenario.tokens - 1) * 1e6
            )
            row["events_per_run"][str(scenario.tokens)] = peer.events[scenario]
        if samples[tool]:
            row["tool_loop_us_per_run"] = statistics.median(samples[tool]) * 1e6
            row["events_per_run"]["tool"] = peer.events[tool]
        else:
            row["tool_loop_us_per_run"] = None
        row["samples"] = {
            f"{scenario.kind}-{scenario.tokens}": len(samples[scenario])
            for scenario in (one, *long, tool)
        }
        rows.append(row)
    reference = next((row for row in rows if row["peer"] == REFERENCE), None)
    for row in rows:
        row["ratio"] = ratios(row, reference) if reference else {}
    return rows


def ratios(row: dict[str, Any], reference: dict[str, Any]) -> dict[str, float | None]:
    def over(value: float | None, base: float | None) -> float | None:
        return value / base if value is not None and base else None

    result = {"per_run": over(row["us_per_run"], reference["us_per_run"])}
    for tokens, value in row["us_per_token"].items():
        result[f"per_token_{tokens}"] = over(value, reference["us_per_token"][tokens])
    result["tool_loop"] = over(row["tool_loop_us_per_run"], reference["tool_loop_us_per_run"])
    return result


def cell(value: float | None, ratio: float | None, digits: int) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if ratio is None:
        return text
    return f"{text} ({ratio:.0f}x)" if ratio >= 10 else f"{text} ({ratio:.2g}x)"


CLOCKS = {
    "cpu": "CPU time of the process (time.process_time)",
    "wall": "wall clock (time.perf_counter)",
}


def report(result: dict[str, Any]) -> None:
    info = result["machine"]
    print(
        f"machine: {info['cores']} cores, {info['implementation']} {info['python']}, "
        f"{info['platform']}"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()))
    for name, reason in result["not_run"].items():
        print(f"not run: {name} ({reason})")
    tokens = result["tokens"]
    for clock, title in CLOCKS.items():
        reps = result["reps"]
        print(f"\n{title}; x: ratio to {REFERENCE} in this run, medians of {reps} repetitions")
        head = ["peer", "µs per 1-token run"]
        head += [f"µs per token, {n:,} tokens" for n in tokens]
        head += [f"µs per tool loop ({TOOL_TOKENS} tokens)", "events read (1 / N… / tool)"]
        print("| " + " | ".join(head) + " |")
        print("|---|" + "---:|" * (len(head) - 1))
        for row in result[clock]:
            ratio = row["ratio"]
            cells = [row["peer"], cell(row["us_per_run"], ratio.get("per_run"), 0)]
            cells += [
                cell(row["us_per_token"][str(n)], ratio.get(f"per_token_{n}"), 2) for n in tokens
            ]
            cells.append(cell(row["tool_loop_us_per_run"], ratio.get("tool_loop"), 0))
            cells.append(" / ".join(f"{v:,}" for v in row["events_per_run"].values()))
            print("| " + " | ".join(cells) + " |")
    if "mastra" in result:
        print("(mastra: measured in its own Node process just before, not rotated)")


def mastra_row(data: dict[str, Any], clock: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The row of ``benchmarks/mastra/bench_mastra.mjs``'s JSON (a separate Node process)."""
    row: dict[str, Any] = {
        "peer": f"mastra (Node {data['versions']['node']}, own process)",
        **data[clock],
        "events_per_run": {
            key.split("-")[-1] if key.startswith("text") else "tool": value
            for key, value in data["events_per_run"].items()
        },
    }
    reference = next((r for r in rows if r["peer"] == REFERENCE), None)
    row["ratio"] = ratios(row, reference) if reference else {}
    return row


async def main(token_counts: list[int], reps: int, mastra: dict[str, Any] | None) -> dict[str, Any]:
    peers, missing = load_peers()
    one = Scenario("text", 1)
    long = [Scenario("text", n) for n in token_counts]
    tool = Scenario("tool", TOOL_TOKENS)
    await measure(peers, [one, *long, tool], reps)
    result: dict[str, Any] = {
        "machine": machine(),
        "versions": versions(peers),
        "not_run": missing,
        "reps": reps,
        "tokens": token_counts,
    }
    for clock in CLOCKS:
        result[clock] = summarise(peers, one, long, tool, clock)
    if mastra is not None:
        result["mastra"] = mastra
        result["versions"].update(
            {"@mastra/core": mastra["versions"]["@mastra/core"], "ai": mastra["versions"]["ai"]}
        )
        for clock in CLOCKS:
            result[clock].append(mastra_row(mastra, clock, result[clock]))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, nargs="+", default=[1_000, 20_000])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument(
        "--mastra-json",
        type=Path,
        help="add the row of benchmarks/mastra/bench_mastra.mjs's output (run just before)",
    )
    args = parser.parse_args()
    mastra = json.loads(args.mastra_json.read_text()) if args.mastra_json else None
    outcome = asyncio.run(main(args.tokens, args.reps, mastra))
    report(outcome)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(outcome, indent=2))
