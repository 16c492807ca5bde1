"""The shared session's lifetime: one per event loop, closed when the loop shuts down."""

from __future__ import annotations

import asyncio
import gc

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from rxagents._core.http import (
    ConnectionLimits,
    close_shared_session,
    connection_limits,
    set_connection_limits,
    shared_session,
)
from rxagents.errors import ConfigurationError

# --- the shared session --------------------------------------------------------------------------


def test_shared_session_is_closed_when_the_loop_shuts_down() -> None:
    sessions: list[aiohttp.ClientSession] = []

    async def main() -> None:
        first = await shared_session()
        assert await shared_session() is first  # one per loop
        sessions.append(first)

    asyncio.run(main())
    asyncio.run(main())
    first, second = sessions
    assert first is not second
    assert first.closed
    assert second.closed
    sessions.clear()
    del first, second
    gc.collect()  # an unclosed session would warn here, and warnings are errors


async def test_close_shared_session_closes_now_and_a_new_one_follows() -> None:
    first = await shared_session()
    await close_shared_session()
    assert first.closed
    second = await shared_session()
    assert second is not first
    assert not second.closed


# --- connection limits ---------------------------------------------------------------------------

STREAMS = 150  # more than aiohttp's default pool of 100


async def test_150_streams_to_one_host_are_all_in_flight_at_once() -> None:
    in_flight = 0
    all_in = asyncio.Event()
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        in_flight += 1
        if in_flight == STREAMS:
            all_in.set()
        await release.wait()
        await response.write(b"data: done\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    async with TestServer(app, host="127.0.0.1") as server:
        session = await shared_session()
        url = server.make_url("/")

        async def stream() -> bytes:
            async with session.get(url) as response:
                return await response.read()

        tasks = [asyncio.create_task(stream()) for _ in range(STREAMS)]
        async with asyncio.timeout(30):  # fails here (not by the clock's figure) if some queue
            await all_in.wait()
        assert in_flight == STREAMS
        release.set()
        assert await asyncio.gather(*tasks) == [b"data: done\n\n"] * STREAMS


async def test_connection_limits_are_a_setting_with_server_sized_defaults() -> None:
    assert connection_limits() == ConnectionLimits(total=1000, per_host=500)
    await close_shared_session()
    set_connection_limits(ConnectionLimits(total=20, per_host=10))
    try:
        connector = (await shared_session()).connector
        assert connector is not None
        assert (connector.limit, connector.limit_per_host) == (20, 10)
    finally:
        set_connection_limits(ConnectionLimits())
        await close_shared_session()
    connector = (await shared_session()).connector
    assert connector is not None
    assert (connector.limit, connector.limit_per_host) == (1000, 500)
    with pytest.raises(ConfigurationError):
        ConnectionLimits(total=-1)
