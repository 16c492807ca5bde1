"""Two real ``python -m rxagents serve`` processes on one storage (PostgreSQL, one SQLite file).

What several processes (or machines) sharing storage promise: of concurrent resumes of a
suspended run exactly one runs the step (the others get 409 JSON); a process killed right
after a ``workflow-step-suspended`` reached its client leaves a run the other resumes; of
concurrent creators of a memory thread exactly one resource owns it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import rxagents
from rxagents.storage import PostgresStorage, SqliteStorage, Storage

SHARED_APP = """
import os
import uuid

from pydantic import BaseModel

from rxagents import Agent, Memory, PostgresStorage, Runtime, SqliteStorage, Step, Workflow
from rxagents.models import ScriptedModel


class N(BaseModel):
    n: int


spec = os.environ["SHARED_STORAGE"]
kind, _, where = spec.partition(":")
storage = PostgresStorage(where) if kind == "postgres" else SqliteStorage(where)


def inc(ctx):
    return {"n": ctx.input_data.n + 1}


async def approve(ctx):
    if ctx.resume_data is None:
        await ctx.suspend({"why": "approval"})
        return None
    await storage.put("executions", f"{ctx.run_id}/{uuid.uuid4()}", os.getpid())
    return {"n": ctx.input_data.n * 10}


workflow = (
    Workflow("claim", N, N)
    .then(Step("inc", N, N, inc))
    .then(Step("approve", N, N, approve))
    .then(Step("inc2", N, N, inc))
    .commit()
)
reply = [
    {"type": "text-start", "id": "t"},
    {"type": "text-delta", "id": "t", "delta": "ok"},
    {"type": "text-end", "id": "t"},
    {"type": "finish", "finishReason": "stop"},
]
chat = Agent("chat", model=ScriptedModel([reply], cycle=True), memory=Memory(storage))
runtime = Runtime(agents={"chat": chat}, workflows={"claim": workflow}, storage=storage)
"""

WORKTREE = str(Path(rxagents.__file__).resolve().parent.parent)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """One ``python -m rxagents serve shared_app:runtime`` process."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture(params=["postgres", "sqlite"])
async def shared(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Callable[[], Any], Storage]]:
    """Starts servers on one storage; yields (start a server, the storage in this process)."""
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        spec, local = f"postgres:{dsn}", PostgresStorage(dsn)
        await local.migrate()  # ahead of time, as a deployment step would
    else:
        path = tmp_path / "shared.db"
        spec, local = f"sqlite:{path}", SqliteStorage(path)
    (tmp_path / "shared_app.py").write_text(SHARED_APP)
    started: list[Server] = []

    async def start() -> Server:
        port = _free_port()
        log = (tmp_path / f"server-{port}.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "rxagents", "serve", "shared_app:runtime", "--port", str(port),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env={**os.environ, "SHARED_STORAGE": spec, "PYTHONPATH": WORKTREE},
        )  # fmt: skip
        log.close()
        server = Server(process, port)
        started.append(server)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert b"rxagents serving" in line, (tmp_path / f"server-{port}.log").read_text()
        return server

    yield start, local
    for server in started:
        if server.process.returncode is None:
            server.process.terminate()
        try:  # what is checked here is the storage, not how long a server takes to stop
            await asyncio.wait_for(server.process.wait(), 20)
        except TimeoutError:
            server.process.kill()
            await server.process.wait()
    await local.close()


async def _post(session: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, bytes]:
    async with session.post(url, json=body) as response:
        return response.status, await response.read()


def _records(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(part) for part in data.split(b"\x1e") if part.strip()]


async def _suspended_run(session: aiohttp.ClientSession, server: Server, run_id: str) -> None:
    base = f"{server.url}/api/workflows/claim"
    status, _ = await _post(session, f"{base}/create-run?runId={run_id}", {})
    assert status == 200
    status, data = await _post(session, f"{base}/stream?runId={run_id}", {"inputData": {"n": 1}})
    assert status == 200
    assert _records(data)[-1]["payload"]["workflowStatus"] == "suspended"


async def test_of_concurrent_resumes_on_two_servers_exactly_one_runs(
    shared: tuple[Callable[[], Any], Storage],
) -> None:
    start, storage = shared
    first, second = await start(), await start()
    async with aiohttp.ClientSession() as session:
        await _suspended_run(session, first, "r1")
        body = {"step": "approve", "resumeData": {"ok": True}}
        outcomes = await asyncio.gather(
            *(
                _post(
                    session,
                    f"{server.url}/api/workflows/claim/resume-stream?runId=r1",
                    body,
                )
                for server in [first, second] * 5
            )
        )
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200] + [409] * 9
    for status, data in outcomes:
        if status == 409:
            assert "error" in json.loads(data)
        else:
            assert _records(data)[-1]["payload"]["workflowStatus"] == "success"
    assert len(await storage.list("executions", "r1/")) == 1


async def test_a_server_killed_after_the_suspension_leaves_a_run_the_other_resumes(
    shared: tuple[Callable[[], Any], Storage],
) -> None:
    start, _ = shared
    doomed, survivor = await start(), await start()
    async with aiohttp.ClientSession() as session:
        base = f"{doomed.url}/api/workflows/claim"
        assert (await _post(session, f"{base}/create-run?runId=k1", {}))[0] == 200
        async with session.post(f"{base}/stream?runId=k1", json={"inputData": {"n": 1}}) as resp:
            seen = b""
            async for piece in resp.content.iter_any():
                seen += piece
                if b"workflow-step-suspended" in seen:
                    doomed.process.kill()  # kill -9, right after the client saw the suspension
                    break
        await doomed.process.wait()
        url = f"{survivor.url}/api/workflows/claim/resume-stream?runId=k1"
        status, data = await _post(session, url, {"resumeData": {"ok": True}})
        assert status == 200, data
        finish = _records(data)[-1]["payload"]
        assert finish["workflowStatus"] == "success"
        assert finish["finalWorkflowResult"] == {"n": 21}


async def test_of_concurrent_creators_of_a_thread_on_two_servers_one_owns_it(
    shared: tuple[Callable[[], Any], Storage],
) -> None:
    start, _ = shared
    servers = [await start(), await start()]
    async with aiohttp.ClientSession() as session:

        async def attempt(index: int) -> tuple[str, int]:
            resource = f"user-{index % 4}"
            url = f"{servers[index % 2].url}/api/agents/chat/stream"
            body = {"messages": "hi", "memory": {"thread": "race", "resource": resource}}
            status, _ = await _post(session, url, body)
            return resource, status

        outcomes = await asyncio.gather(*(attempt(i) for i in range(16)))
    owners = {resource for resource, status in outcomes if status == 200}
    assert len(owners) == 1
    assert all(status == 403 for resource, status in outcomes if resource not in owners)
