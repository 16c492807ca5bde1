"""A runtime for the multi-process tests: ``python -m rxagents serve served_app:runtime``.

Its agents are paced through Redis lists, so the tests drive them from outside the process
without sleeping: the user message names a gate; ``paced`` streams four deltas, waits for an
item on ``<prefix>:gate:<name>``, then streams six more, and pushes to ``<prefix>:done:<name>``
when its model call is over, however it ended; ``holding`` calls a tool that pushes to
``<prefix>:started:<name>`` and waits for ever, pushing to ``<prefix>:cancelled:<name>`` when
cancelled. Settings come from ``SERVED_REDIS``, ``SERVED_PREFIX`` and ``SERVED_LEASE``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from rxagents import RedisEventLog, Runtime
from rxagents.agent import Agent, tool
from rxagents.models import FunctionModel, ModelCall

URL = os.environ["SERVED_REDIS"]
PREFIX = os.environ["SERVED_PREFIX"]
USAGE = {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}


def gate_of(call: ModelCall) -> str:
    return "".join(
        part.get("text", "")
        for message in call.prompt
        if message["role"] == "user"
        for part in message["content"]
    )


async def paced(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
    gate = gate_of(call)
    client = aioredis.Redis.from_url(URL, socket_timeout=None)
    try:
        yield {"type": "text-start", "id": "t1"}
        for i in range(10):
            yield {"type": "text-delta", "id": "t1", "delta": f"w{i} "}
            if i == 3:
                await client.blpop([f"{PREFIX}:gate:{gate}"], timeout=0)
        yield {"type": "text-end", "id": "t1"}
        yield {"type": "finish", "finishReason": "stop", "usage": USAGE}
    except asyncio.CancelledError:
        await client.rpush(f"{PREFIX}:cancelled:{gate}", "1")
        raise
    finally:
        await client.rpush(f"{PREFIX}:done:{gate}", "1")
        await client.aclose()


@tool
async def hold(gate: str) -> str:
    """Wait for ever."""
    client = aioredis.Redis.from_url(URL, socket_timeout=None)
    await client.rpush(f"{PREFIX}:started:{gate}", "1")
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        await client.rpush(f"{PREFIX}:cancelled:{gate}", "1")
        raise
    finally:
        await client.aclose()
    return gate


async def holding_model(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
    gate = gate_of(call)
    yield {
        "type": "tool-call",
        "toolCallId": "c1",
        "toolName": "hold",
        "input": f'{{"gate": "{gate}"}}',
    }
    yield {"type": "finish", "finishReason": "tool-calls", "usage": USAGE}


def make_runtime() -> Runtime:
    return Runtime(
        agents={
            "paced": Agent("paced", model=FunctionModel(paced)),
            "holding": Agent("holding", model=FunctionModel(holding_model), tools=[hold]),
        },
        event_log=RedisEventLog(URL, prefix=PREFIX, lease_ttl=float(os.environ["SERVED_LEASE"])),
    )
