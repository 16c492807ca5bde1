"""The aiohttp session shared by providers and the remote client: one per event loop.

The shared session is created on first use and closed when its loop shuts down. Its connection
pool is bounded by :class:`ConnectionLimits` (by default 1,000 connections in all and 500 to one
host, sized for an agent server holding hundreds of model calls and remote streams at once;
aiohttp's own default of 100 would queue the 101st stream). Change them with
:func:`set_connection_limits` before the first request, or pass your own
``aiohttp.ClientSession`` as ``session=`` to a provider or ``RemoteAgent``: a caller's session
is used as it is and never closed by the library.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import final
from weakref import WeakKeyDictionary

import aiohttp

from rxagents.errors import ConfigurationError

__all__ = (
    "ConnectionLimits",
    "close_shared_session",
    "connection_limits",
    "set_connection_limits",
    "shared_session",
)


@final
@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections the shared session keeps open at once (0 means no limit).

    Requests beyond a limit wait for a connection, so the limits cap concurrency: to hold N
    model calls or remote streams in flight at once, both limits must be at least N. Each open
    connection is a file descriptor; a process serving many streams may need a higher
    ``ulimit -n``.

    Example:
        >>> set_connection_limits(ConnectionLimits(total=4000, per_host=2000))  # doctest: +SKIP
    """

    total: int = 1000
    """Connections open at once, to every host together (aiohttp's ``limit``)."""
    per_host: int = 500
    """Connections open at once to one host and port (aiohttp's ``limit_per_host``)."""

    def __post_init__(self) -> None:
        if self.total < 0 or self.per_host < 0:
            raise ConfigurationError("ConnectionLimits must not be negative (0 means no limit)")


_limits = ConnectionLimits()


def set_connection_limits(limits: ConnectionLimits) -> None:
    """Set the limits of shared sessions created from now on, on every event loop.

    A loop's shared session is created by its first request; to change the limits of one that
    exists, ``await close_shared_session()`` after this call (the next request makes a new one).
    """
    global _limits
    _limits = limits


def connection_limits() -> ConnectionLimits:
    """Return the limits new shared sessions get."""
    return _limits


@dataclass
class _LoopSession:
    session: aiohttp.ClientSession
    closer: AsyncGenerator[None, None]


_SESSIONS: WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = WeakKeyDictionary()


async def shared_session() -> aiohttp.ClientSession:
    """Return the ``aiohttp.ClientSession`` shared by models and clients on the running loop.

    The session is created on first use and closed automatically when the loop shuts down
    (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio and Jupyter all shut loops down
    properly), so nobody has to close it. A loop closed by hand without
    ``loop.shutdown_asyncgens()`` should ``await close_shared_session()`` first.
    """
    loop = asyncio.get_running_loop()
    entry = _SESSIONS.get(loop)
    if entry is not None and not entry.session.closed:
        return entry.session
    limits = _limits
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limits.total, limit_per_host=limits.per_host),
        timeout=aiohttp.ClientTimeout(total=None),
    )
    closer = _close_at_shutdown(loop, session)
    _SESSIONS[loop] = _LoopSession(session, closer)
    # The first step runs to the ``yield`` and registers the generator with the loop's
    # asyncgen hooks: ``loop.shutdown_asyncgens()`` will close it, and with it the session.
    await anext(closer)
    return session


async def _close_at_shutdown(
    loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        entry = _SESSIONS.get(loop)
        if entry is not None and entry.session is session:
            del _SESSIONS[loop]
        await session.close()


async def close_shared_session() -> None:
    """Close the running loop's shared session now (a new one is made on next use)."""
    entry = _SESSIONS.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry.closer.aclose()
        await entry.session.close()
