"""Real ``python -m rxagents serve`` processes sharing one Redis: re-attach, cancel, failures.

The served agents are paced through Redis lists (see ``served_app.py``), never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.conftest import RedisServer

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
DELTAS = "".join(f"w{i} " for i in range(10))


class Served:
    """One server process."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"


Start = Callable[..., Awaitable[Served]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    processes: list[asyncio.subprocess.Process] = []

    async def launch(
        redis_url: str, prefix: str, *, grace: float = 30.0, lease: float = 1.0, workers: int = 1
    ) -> Served:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE}",
            "SERVED_REDIS": redis_url,
            "SERVED_PREFIX": prefix,
            "SERVED_LEASE": str(lease),
        }
        with (tmp_path / f"serve-{port}.log").open("wb") as errors:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "rxagents",
                "serve",
                "served_app:make_runtime",
                "--port",
                str(port),
                "--orphan-grace",
                str(grace),
                "--workers",
                str(workers),
                "--log-level",
                "WARNING",
                cwd=tmp_path,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
            )
        processes.append(process)
        assert process.stdout is not None
        for _ in range(workers):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert b"rxagents serving" in line, line
        return Served(process, port)

    yield launch
    for process in processes:
        if process.returncode is None:
            with_signal = signal.SIGCONT
            os.kill(process.pid, with_signal)
            process.terminate()
            await process.wait()


def frames(body: bytes) -> list[tuple[int | None, dict[str, Any]]]:
    """``(id or None, chunk)`` of every whole SSE block (the tail after the last one is cut)."""
    text = body.decode()
    text = text[: text.rindex("\n\n") + 2] if "\n\n" in text else ""
    result: list[tuple[int | None, dict[str, Any]]] = []
    for block in text.split("\n\n")[:-1]:
        if block.startswith(":") or block == "data: [DONE]":
            continue
        lines = block.split("\n")
        position = int(lines.pop(0)[4:]) if lines[0].startswith("id: ") else None
        assert len(lines) == 1
        assert lines[0].startswith("data: ")
        result.append((position, json.loads(lines[0][6:])))
    return result


async def read_until(response: aiohttp.ClientResponse, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        more = await response.content.readany()
        assert more, seen
        seen += more
    return seen


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["payload"]["text"] for c in chunks if c["type"] == "text-delta")


IDS = {"X-Event-Ids": "1"}


async def observe(
    session: aiohttp.ClientSession, served: Served, run_id: str, **body: Any
) -> list[tuple[int | None, dict[str, Any]]]:
    headers = body.pop("headers", IDS)
    async with session.post(
        f"{served.url}/api/agents/paced/observe", json={"runId": run_id, **body}, headers=headers
    ) as response:
        assert response.status == 200, await response.text()
        data = await asyncio.wait_for(response.read(), 30)
    assert data.endswith(b"data: [DONE]\n\n")
    return frames(data)


@pytest.fixture
def prefix() -> str:
    return f"served-{uuid.uuid4().hex[:8]}"


async def test_three_processes_re_attach_every_chunk_once_and_cancel_across(
    redis_server: RedisServer, start: Start, prefix: str
) -> None:
    a, b, c = [await start(redis_server.url, prefix) for _ in range(3)]
    gates = aioredis.Redis.from_url(redis_server.url, socket_timeout=None)
    async with aiohttp.ClientSession() as session:
        first = await session.post(
            f"{a.url}/api/agents/paced/stream",
            json={"messages": "g1", "runId": "r1"},
            headers=IDS,
        )
        head = frames(await read_until(first, b"w3"))
        first.close()  # the connection to A drops
        await gates.rpush(f"{prefix}:gate:g1", "go")
        tail = await observe(session, b, "r1", offset=head[-1][0] + 1)  # type: ignore[operator]
        by_id = await observe(session, c, "r1", headers={"Last-Event-ID": str(head[1][0])})
        whole = await observe(session, c, "r1", headers={})
        everything = [chunk for _, chunk in whole]
        assert [chunk for _, chunk in head + tail] == everything
        assert [p for p, _ in head + tail] == list(range(len(everything)))
        assert [chunk for _, chunk in by_id] == everything[2:]
        assert all(p is None for p, _ in whole)
        assert text_of(everything) == DELTAS
        assert everything[-1]["type"] == "finish"

        # cancel through C stops a run A owns, its tool included
        running = await session.post(
            f"{a.url}/api/agents/holding/stream", json={"messages": "g2", "runId": "r2"}
        )
        await gates.blpop([f"{prefix}:started:g2"], timeout=30)
        async with session.post(f"{c.url}/api/agents/holding/runs/r2/cancel") as cancel:
            assert await cancel.json() == {"message": "Agent run cancelled", "cancelled": True}
        assert await gates.blpop([f"{prefix}:cancelled:g2"], timeout=30) is not None
        chunks = frames(await asyncio.wait_for(running.read(), 30))
        assert chunks[-1][1]["type"] == "abort"
    await gates.aclose()


@pytest.mark.parametrize("reattach", [True, False])
async def test_orphan_grace_across_processes(
    redis_server: RedisServer, start: Start, prefix: str, reattach: bool
) -> None:
    grace = 0.3
    a, b = [await start(redis_server.url, prefix, grace=grace) for _ in range(2)]
    gates = aioredis.Redis.from_url(redis_server.url, socket_timeout=None)
    async with aiohttp.ClientSession() as session:
        first = await session.post(
            f"{a.url}/api/agents/paced/stream", json={"messages": "g", "runId": "r"}
        )
        await read_until(first, b"w3")
        first.close()
        if reattach:
            async with session.post(
                f"{b.url}/api/agents/paced/observe", json={"runId": "r"}
            ) as again:
                await read_until(again, b"w3")
                await asyncio.sleep(grace * 5)  # several graces pass while B reads
                await gates.rpush(f"{prefix}:gate:g", "go")
                chunks = frames(await asyncio.wait_for(again.read(), 30))
            assert chunks[-1][1]["type"] == "finish"
            assert await gates.llen(f"{prefix}:cancelled:g") == 0
        else:
            assert await gates.blpop([f"{prefix}:cancelled:g"], timeout=30) is not None
            chunks = await observe(session, b, "r")
            assert chunks[-1][1]["type"] == "abort"
    await gates.aclose()


async def test_a_killed_owner_ends_its_readers_with_the_error_chunk(
    redis_server: RedisServer, start: Start, prefix: str
) -> None:
    a, b = [await start(redis_server.url, prefix) for _ in range(2)]
    async with aiohttp.ClientSession() as session:
        first = await session.post(
            f"{a.url}/api/agents/paced/stream", json={"messages": "k", "runId": "rk"}
        )
        await read_until(first, b"w3")
        async with session.post(f"{b.url}/api/agents/paced/observe", json={"runId": "rk"}) as seen:
            head = await read_until(seen, b"w3")
            a.process.kill()  # kill -9
            chunks = [c for _, c in frames(head + await asyncio.wait_for(seen.read(), 30))]
    assert [c["type"] for c in chunks[-2:]] == ["error", "finish"]
    assert chunks[-2]["payload"]["error"]["name"] == "RunLostError"
    assert "rk" in chunks[-2]["payload"]["error"]["message"]
    assert text_of(chunks) == "w0 w1 w2 w3 "


async def test_a_paused_owner_past_its_lease_writes_nothing_more(
    redis_server: RedisServer, start: Start, prefix: str
) -> None:
    a, b = [await start(redis_server.url, prefix) for _ in range(2)]
    gates = aioredis.Redis.from_url(redis_server.url, socket_timeout=None)
    async with aiohttp.ClientSession() as session:
        first = await session.post(
            f"{a.url}/api/agents/paced/stream", json={"messages": "s", "runId": "rs"}
        )
        await read_until(first, b"w3")
        os.kill(a.process.pid, signal.SIGSTOP)
        lost = await observe(session, b, "rs")  # ends once A's lease expired
        await gates.rpush(f"{prefix}:gate:s", "go")
        os.kill(a.process.pid, signal.SIGCONT)
        # A runs on to its model's end; its appends are fenced, its own reader ends as B's
        assert await gates.blpop([f"{prefix}:done:s"], timeout=30) is not None
        await asyncio.wait_for(first.read(), 30)
        after = await observe(session, b, "rs")
    assert after == lost
    assert [c["type"] for _, c in lost[-2:]] == ["error", "finish"]
    assert text_of([c for _, c in lost]) == "w0 w1 w2 w3 "
    await gates.aclose()


async def test_redis_restarting_mid_run_ends_readers_with_an_error_not_a_hang(
    own_redis_server: RedisServer, start: Start, prefix: str
) -> None:
    a, b = [await start(own_redis_server.url, prefix) for _ in range(2)]
    async with aiohttp.ClientSession() as session:
        first = await session.post(
            f"{a.url}/api/agents/paced/stream", json={"messages": "x", "runId": "rx"}
        )
        await read_until(first, b"w3")
        async with session.post(f"{b.url}/api/agents/paced/observe", json={"runId": "rx"}) as seen:
            head = await read_until(seen, b"w3")
            own_redis_server.restart()  # its data is gone
            gates = aioredis.Redis.from_url(own_redis_server.url, socket_timeout=None)
            await gates.rpush(f"{prefix}:gate:x", "go")
            body = head + await asyncio.wait_for(seen.read(), 30)
        for data in (body, head + await asyncio.wait_for(first.read(), 30)):
            chunks = [c for _, c in frames(data)]
            assert data.endswith(b"data: [DONE]\n\n")
            assert chunks[-1]["type"] in ("error", "finish")
            assert any(c["type"] == "error" for c in chunks)
            # no silent gap: the deltas that arrived are a prefix of the run's
            assert DELTAS.startswith(text_of(chunks))
        await gates.aclose()


async def test_workers_share_one_port_and_the_runs(
    redis_server: RedisServer, start: Start, prefix: str
) -> None:
    served = await start(redis_server.url, prefix, workers=2)
    gates = aioredis.Redis.from_url(redis_server.url, socket_timeout=None)
    async with aiohttp.ClientSession() as session:
        for n in range(4):  # new connections: the kernel spreads them over the workers
            run_id = f"w{n}"
            first = await session.post(
                f"{served.url}/api/agents/paced/stream",
                json={"messages": run_id, "runId": run_id},
                headers={"Connection": "close"},
            )
            await read_until(first, b"w3")
            first.close()
            await gates.rpush(f"{prefix}:gate:{run_id}", "go")
            chunks = await observe(session, served, run_id, headers={"Connection": "close"})
            assert text_of([c for _, c in chunks]) == DELTAS
    await gates.aclose()
