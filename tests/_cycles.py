"""Checks that a finished run leaves no reference cycles (reference counting frees all of it)."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable

Drive = Callable[[], Awaitable[None]]
"""Runs something once, dropping every reference to it before returning."""


async def garbage_after(drive: Drive) -> int:
    """Return how many unreachable objects the collector finds after ``drive()`` ran.

    ``drive`` runs once to warm up (lazily built parts), then again with the collector off.
    """
    await drive()
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        await drive()
        return gc.collect()
    finally:
        if enabled:
            gc.enable()
