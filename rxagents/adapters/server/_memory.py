"""Memory threads at the edge: who the caller is, and their thread, settled before streaming.

The server trusts the caller it authenticated (the bearer token, or whatever runs in front of
it) to name the right ``resource`` (the end user) in ``memory``; with ``create_app(...,
resource_of=...)`` it derives the resource from the request instead (a verified header, a
session) and refuses a body naming another. The thread is then opened (created for that
resource if new, atomically) before the response starts, so a thread of another resource is
refused with 403 JSON on ``/stream``, ``/chat`` and ``/network`` alike, never in-band.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from rxagents.adapters.server._config import CONFIG
from rxagents.adapters.server._http import ApiError
from rxagents.errors import InvalidInputError, ThreadOwnershipError
from rxagents.memory import memory_ref

__all__ = ("open_memory_thread",)


async def open_memory_thread(request: web.Request, memory: Any, options: dict[str, Any]) -> None:
    """Settle ``options["memory"]``'s resource and open its thread on ``memory``.

    Raises:
        ApiError: 403 when the thread belongs to another resource (or the body names a
            resource other than the request's); 400 for a bad memory option.
    """
    value = options.get("memory")
    hook = request.app[CONFIG].resource_of
    if hook is not None:
        derived = hook(request)
        resource = await derived if inspect.isawaitable(derived) else derived
        if isinstance(value, Mapping):
            asked = value.get("resource")
            if asked is not None and asked != resource:
                raise ApiError(403, "the memory resource does not match the caller")
            settled = {key: item for key, item in value.items() if key != "resource"}
            if resource is not None:
                settled["resource"] = resource
            options["memory"] = value = settled
    if value is None or memory is None:
        return
    open_thread = getattr(memory, "open_thread", None)
    if not callable(open_thread):
        return
    try:
        await open_thread(memory_ref(value))
    except ThreadOwnershipError as err:
        raise ApiError(403, str(err)) from None
    except InvalidInputError as err:
        raise ApiError(400, str(err)) from None
