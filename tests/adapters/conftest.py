"""The fixture every adapter test serves its apps with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

Serve = Callable[[web.Application], Awaitable[str]]
"""Start an app on a free 127.0.0.1 port; returns its base URL."""


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start apps as ``web.run_app`` does: handlers are NOT cancelled when a client leaves.

    (aiohttp's ``TestServer`` cancels them, which would hide the server's own disconnect check.)
    Every app started is cleaned up at the end of the test.
    """
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()
