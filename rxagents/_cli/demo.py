"""``python -m rxagents demo``: stream an agent (and, as they land, a workflow and a network).

Runs on the embedded ScriptedModel: no API key, no network. Text is printed as it streams; tool
calls and results are shown compactly; usage is printed at the end of each run.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from rxagents.agent import Agent, tool
from rxagents.models import LanguageModel, ScriptedModel, default_model

__all__ = ("demo_agent", "main")

_COLOR = sys.stdout.isatty()
DIM = "\033[2m" if _COLOR else ""
BOLD = "\033[1m" if _COLOR else ""
RESET = "\033[0m" if _COLOR else ""


@tool
def plan_day(tasks: list[str], start_hour: int = 9) -> list[str]:
    """Put tasks into hourly slots."""
    return [f"{start_hour + i:02d}:00 {task}" for i, task in enumerate(tasks)]


def _usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


def _words(block: str, text: str) -> list[dict[str, Any]]:
    return [
        {"type": "text-delta", "id": block, "delta": word}
        for word in text.replace(" ", " \0").split("\0")
    ]


def demo_agent(part_delay: float = 0.02) -> Agent:
    """Build the demo agent: a planner with one tool.

    It runs on a real provider when ``RXAGENTS_MODEL`` (e.g. ``openai/gpt-4o-mini``) and its API
    key are set, and on the embedded scripted model otherwise.
    """
    args = json.dumps({"tasks": ["write report", "team sync", "review PRs"], "start_hour": 9})
    model: LanguageModel = default_model() or ScriptedModel(
        [
            [
                {"type": "text-start", "id": "t1"},
                *_words("t1", "Let me put your tasks into time slots."),
                {"type": "text-end", "id": "t1"},
                {"type": "tool-input-start", "id": "call-1", "toolName": "plan_day"},
                {"type": "tool-input-delta", "id": "call-1", "delta": args[:20]},
                {"type": "tool-input-delta", "id": "call-1", "delta": args[20:]},
                {"type": "tool-input-end", "id": "call-1"},
                {
                    "type": "tool-call",
                    "toolCallId": "call-1",
                    "toolName": "plan_day",
                    "input": args,
                },
                {"type": "finish", "finishReason": "tool-calls", "usage": _usage(42, 31)},
            ],
            [
                {"type": "text-start", "id": "t2"},
                *_words(
                    "t2",
                    "Here is your day: 09:00 write report, 10:00 team sync, 11:00 review PRs. "
                    "Start with the report while you are fresh.",
                ),
                {"type": "text-end", "id": "t2"},
                {"type": "finish", "finishReason": "stop", "usage": _usage(97, 28)},
            ],
        ],
        part_delay=part_delay,
        cycle=True,
    )
    return Agent(
        "planner",
        instructions="You organise people's days. Be brief.",
        model=model,
        tools=[plan_day],
    )


async def run_agent(agent: Agent, prompt: str) -> None:
    """Stream one agent run to the terminal."""
    print(f"{BOLD}agent{RESET} {agent.id} ← {prompt!r}")
    stream = await agent.stream(prompt)
    async for chunk in stream:
        if chunk.type == "text-delta":
            print(chunk.payload.text, end="", flush=True)
        elif chunk.type == "text-end":
            print()
        elif chunk.type == "tool-call":
            print(f"{DIM}  → {chunk.payload.tool_name}({json.dumps(chunk.payload.args)}){RESET}")
        elif chunk.type == "tool-result":
            print(f"{DIM}  ← {json.dumps(chunk.payload.result)}{RESET}")
        elif chunk.type == "tool-error":
            print(f"{DIM}  ✗ {chunk.payload.error.message}{RESET}")
        elif chunk.type == "error":
            print(f"\n  error: {chunk.payload.error.message}")
    usage = await stream.usage
    print(
        f"{DIM}  usage: {usage.input_tokens} in / {usage.output_tokens} out "
        f"({usage.total_tokens} total), finish: {await stream.finish_reason}{RESET}\n"
    )


async def amain(fast: bool = False) -> None:
    """Run every demo section."""
    delay = 0.0 if fast else 0.02
    await run_agent(demo_agent(delay), "Help me organize my day")


def main(argv: list[str]) -> int:
    """Entry point of ``python -m rxagents demo [--fast]``."""
    try:
        asyncio.run(amain(fast="--fast" in argv))
    except BrokenPipeError:  # the output was piped into something that stopped reading
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
