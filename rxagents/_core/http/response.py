"""Reading what a response says when it is not the stream that was asked for."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

__all__ = ("MAX_ERROR_BODY", "read_prefix")

MAX_ERROR_BODY = 64 * 1024
"""The most bytes of an error response's body read (the rest is not needed to explain it)."""


async def read_prefix(
    response: aiohttp.ClientResponse, *, limit: int = MAX_ERROR_BODY, seconds: float | None
) -> bytes:
    """Return up to ``limit`` bytes of the body; a drop or a timeout ends what is returned."""
    raw = b""
    with contextlib.suppress(aiohttp.ClientError, TimeoutError, ConnectionError):
        async with asyncio.timeout(seconds):
            while len(raw) < limit:
                chunk = await response.content.read(limit - len(raw))
                if not chunk:
                    break
                raw += chunk
    return raw
