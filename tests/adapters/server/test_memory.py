"""Memory threads over HTTP: owned by a resource, refused with 403 JSON before any stream.

Every route that takes ``memory`` (``/stream``, ``/chat``, ``/network``, ``/network/chat``)
opens the thread before the response starts; the refusal never names the owner.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from rxagents.adapters.server import create_app

from .test_server import CHAT_BODY, network_runtime, post, refusal

AGENT = "/api/agents/network-agent"
ROUTES = ["/stream", "/chat", "/network", "/network/chat"]


def body(route: str, memory: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = dict(CHAT_BODY) if route.endswith("chat") else {"messages": "x"}
    return {**base, "memory": memory}


@pytest.mark.parametrize("route", ROUTES)
async def test_a_thread_of_another_resource_is_refused_before_streaming(
    aiohttp_client: AiohttpClient, route: str
) -> None:
    client = await aiohttp_client(create_app(network_runtime()))
    mine = await post(client, AGENT + route, body(route, {"thread": "t1", "resource": "alice"}))
    assert mine.status == 200
    await mine.read()
    theirs = body(route, {"thread": "t1", "resource": "mallory"})
    data = await refusal(await post(client, AGENT + route, theirs), 403)
    assert "another resource" in data["error"]
    assert "alice" not in data["error"]
    anonymous = body(route, {"thread": "t1"})
    assert (
        "alice" not in (await refusal(await post(client, AGENT + route, anonymous), 403))["error"]
    )


@pytest.mark.parametrize("route", ["/stream", "/network"])
async def test_a_thread_without_owner_is_reached_only_without_resource(
    aiohttp_client: AiohttpClient, route: str
) -> None:
    client = await aiohttp_client(create_app(network_runtime()))
    for _ in range(2):
        response = await post(client, AGENT + route, body(route, {"thread": "open"}))
        assert response.status == 200
        await response.read()
    claimed = body(route, {"thread": "open", "resource": "alice"})
    await refusal(await post(client, AGENT + route, claimed), 403)


async def test_of_concurrent_creators_of_one_thread_exactly_one_resource_wins(
    aiohttp_client: AiohttpClient,
) -> None:
    client = await aiohttp_client(create_app(network_runtime()))

    async def attempt(index: int) -> tuple[str, int]:
        resource = f"user-{index % 5}"
        payload = body("/stream", {"thread": "race", "resource": resource})
        response = await post(client, AGENT + "/stream", payload)
        await response.read()
        return resource, response.status

    outcomes = await asyncio.gather(*(attempt(i) for i in range(20)))
    winners = {resource for resource, status in outcomes if status == 200}
    assert len(winners) == 1
    assert all(status == 403 for resource, status in outcomes if resource not in winners)


async def test_resource_of_derives_the_resource_from_the_request(
    aiohttp_client: AiohttpClient,
) -> None:
    def from_header(request: web.Request) -> str | None:
        return request.headers.get("X-Verified-User")

    client = await aiohttp_client(create_app(network_runtime(), resource_of=from_header))
    alice = {"X-Verified-User": "alice"}
    first = await post(client, AGENT + "/stream", body("/stream", {"thread": "t"}), headers=alice)
    assert first.status == 200
    await first.read()
    again = await post(client, AGENT + "/network", body("/network", {"thread": "t"}), headers=alice)
    assert again.status == 200
    await again.read()
    other = {"X-Verified-User": "bob"}
    await refusal(
        await post(client, AGENT + "/stream", body("/stream", {"thread": "t"}), headers=other), 403
    )
    spoofed = body("/stream", {"thread": "t", "resource": "alice"})
    data = await refusal(await post(client, AGENT + "/stream", spoofed, headers=other), 403)
    assert "does not match" in data["error"]


async def test_resource_of_may_be_async(aiohttp_client: AiohttpClient) -> None:
    async def from_session(request: web.Request) -> str | None:
        await asyncio.sleep(0)
        return request.headers.get("X-Session-User")

    client = await aiohttp_client(create_app(network_runtime(), resource_of=from_session))
    response = await post(
        client, AGENT + "/stream", body("/stream", {"thread": "s"}), headers={"X-Session-User": "u"}
    )
    assert response.status == 200
    await response.read()
    await refusal(await post(client, AGENT + "/stream", body("/stream", {"thread": "s"})), 403)
