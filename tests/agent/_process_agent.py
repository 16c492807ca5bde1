"""One process of the cross-process resume test: pause an agent run, or approve it.

Usage: ``python _process_agent.py pause|approve <sqlite file> <run id>``; prints the run's
chunks and results as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from rxagents import Agent
from rxagents.agent import tool
from rxagents.models import ScriptedModel
from rxagents.storage import SqliteStorage

_USAGE = {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}


@tool(require_approval=True)
def pay(amount: int) -> dict[str, Any]:
    """Pay an amount."""
    return {"paid": amount}


def build(path: str, steps: list[list[dict[str, Any]]]) -> Agent:
    """The agent both processes define the same way (only the model's script differs)."""
    return Agent("payer", model=ScriptedModel(steps), tools=[pay], storage=SqliteStorage(path))


async def main(action: str, path: str, run_id: str) -> None:
    if action == "pause":
        call = {"type": "tool-call", "toolCallId": "c1", "toolName": "pay", "input": '{"amount":5}'}
        agent = build(
            path, [[call, {"type": "finish", "finishReason": "tool-calls", "usage": _USAGE}]]
        )
        stream = await agent.stream("pay 5", run_id=run_id)
    else:
        text = [
            {"type": "text-start", "id": "t1"},
            {"type": "text-delta", "id": "t1", "delta": "Paid."},
            {"type": "text-end", "id": "t1"},
            {"type": "finish", "finishReason": "stop", "usage": _USAGE},
        ]
        agent = build(path, [text])
        stream = await agent.approve_tool_call(run_id, "c1")
    chunks = [chunk.model_dump(mode="json", by_alias=True) async for chunk in stream]
    out = {
        "chunks": chunks,
        "finish_reason": await stream.finish_reason,
        "text": await stream.text,
        "usage": (await stream.usage).total_tokens,
        "suspended": len(await agent.list_suspended_runs()),
    }
    await agent.storage.close()
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
