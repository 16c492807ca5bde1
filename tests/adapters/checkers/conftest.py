"""Run the two protocol checkers (real JavaScript clients) against a server started in the test.

``install.sh`` (beside this file) copies ``../shared/mastra-client-check`` and
``../shared/aisdk-check`` into a writable cache and runs their ``setup.sh`` (``npm ci``). The
session fixture runs it once; it is quick when everything is installed. Nothing is skipped: a
machine without Node or npm fails these tests with a message saying what to install.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

HERE = Path(__file__).resolve().parent
INSTALL = HERE / "install.sh"
CHECK_TIMEOUT = 120.0


@dataclass(frozen=True)
class Checkers:
    """Where the installed checkers live."""

    root: Path

    @property
    def mastra(self) -> Path:
        return self.root / "mastra-client-check" / "check.mjs"

    @property
    def aisdk(self) -> Path:
        return self.root / "aisdk-check" / "check.mjs"


@pytest.fixture(scope="session")
def checkers() -> Checkers:
    """Install (or refresh) both checkers once per session; fail loudly when that is impossible."""
    missing = [tool for tool in ("node", "npm", "bash") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"the protocol checkers need {', '.join(missing)} on PATH: install Node.js 20+ "
            "(with npm); see ../shared/mastra-client-check/README.md",
            pytrace=False,
        )
    result = subprocess.run(
        ["bash", str(INSTALL)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"installing the checkers failed ({INSTALL}):\n{result.stderr[-4000:]}", pytrace=False
        )
    root = Path(result.stdout.strip().splitlines()[-1])
    found = Checkers(root)
    for script in (found.mastra, found.aisdk):
        if not script.is_file():
            pytest.fail(f"{script} is missing after install.sh", pytrace=False)
    return found


Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an app on a free 127.0.0.1 port as ``web.run_app`` does; return its base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def run_node(script: Path, *args: str) -> tuple[int, str, str]:
    """Run ``node script args`` without blocking the loop that serves the checker."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), CHECK_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


Check = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def mastra_check(checkers: Checkers) -> Check:
    """``await mastra_check(base_url, *args)``: run mastra-client-check, return its summary."""

    async def check(base: str, *args: str) -> dict[str, Any]:
        code, out, err = await run_node(checkers.mastra, "--base", base, *args)
        assert code == 0, f"mastra-client-check failed ({code}):\n{err}"
        summary: dict[str, Any] = json.loads(out)
        assert summary["ok"] is True
        return summary

    return check


@pytest.fixture
def aisdk_check(checkers: Checkers) -> Check:
    """``await aisdk_check(url, *args)``: run aisdk-check (strict), return the UIMessage."""

    async def check(url: str, *args: str) -> dict[str, Any]:
        code, out, err = await run_node(checkers.aisdk, "--url", url, *args)
        assert code == 0, f"aisdk-check failed ({code}):\n{err}"
        message: dict[str, Any] = json.loads(out)
        return message

    return check
