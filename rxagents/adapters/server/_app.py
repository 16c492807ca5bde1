"""The aiohttp application: :func:`create_app` wires the routes of each role together."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from rxagents.adapters.server._agents import add_agent_routes
from rxagents.adapters.server._config import CONFIG, ResourceOf, ServedRuntime, ServerConfig
from rxagents.adapters.server._http import (
    MAX_REQUEST_LINE,
    CorsPolicy,
    ProtocolErrorLog,
    auth_middleware,
    error_middleware,
)
from rxagents.adapters.server._runs import ServedRuns
from rxagents.adapters.server._stream import StreamSettings
from rxagents.adapters.server._workflows import add_workflow_routes
from rxagents.agent import AgentLike
from rxagents.errors import ConfigurationError
from rxagents.eventlog import EventLog, InMemoryEventLog

__all__ = ("DEFAULT_MAX_BODY", "create_app")

_log = logging.getLogger(__name__)

DEFAULT_MAX_BODY: Final = 4_718_592
"""The default request body limit: 4.5 MiB, Mastra's documented limit."""


def create_app(
    runtime: ServedRuntime,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    token: str | None = None,
    cors: str | Iterable[str] | None = None,
    ping_interval: float = 15.0,
    disconnect_check: float = 0.25,
    headers: Mapping[str, str] | None = None,
    resource_of: ResourceOf | None = None,
    orphan_grace: float = 30.0,
    chat_sub_agents: bool = False,
) -> web.Application:
    """Build the aiohttp application serving ``runtime``'s agents and workflows.

    Args:
        runtime: The agents and workflows to serve (``rxagents.Runtime`` or any object with
            ``agents``, ``workflows``, ``storage``, ``get_agent`` and ``get_workflow``).
        max_body: The largest request body accepted, in bytes.
        token: When set, every request needs ``Authorization: Bearer <token>`` (compared in
            constant time; the token is never logged).
        cors: Origins allowed to call from a browser: ``"*"``, one origin, or a list; ``None``
            sends no CORS headers.
        ping_interval: Seconds of silence before an SSE stream sends ``: ping``.
        disconnect_check: How often a silent stream checks that its client is still there.
        headers: Extra headers for every streaming response.
        resource_of: Derives the memory resource (the end user) from the request, sync or
            async (e.g. from a header your proxy verified); it replaces the body's
            ``resource``, and a body naming another resource is refused with 403. Without
            it, the server trusts the resource the (authenticated) caller sends.
        orphan_grace: Seconds a run keeps going after its last reader left (a client that
            re-attaches within it finds the run still running); ``0`` cancels a run as soon as
            its last reader leaves.
        chat_sub_agents: Show nested runs (sub-agents, streams a tool pipes whole) in the
            ``/chat`` UI streams, as bounded ``data-tool-agent-*`` parts (see
            :func:`~rxagents.adapters.ai_sdk.to_ai_sdk_v5_stream`); off, they are dropped,
            as in Mastra.

    Raises:
        ConfigurationError: ``runtime`` is not a runtime (an agent, say: wrap it as
            ``Runtime(agents={"id": agent})``), a limit or interval is not positive, or the
            token is empty.
    """
    _check_runtime(runtime)
    if not _is_positive(max_body, int):
        raise ConfigurationError(f"max_body must be a positive int, got {max_body!r}")
    if token is not None and not _is_text(token):
        raise ConfigurationError("token must be a non-empty string (or None for no auth)")
    if isinstance(orphan_grace, bool) or not isinstance(orphan_grace, int | float):
        raise ConfigurationError(f"orphan_grace must be a number of seconds, got {orphan_grace!r}")
    if orphan_grace < 0:
        raise ConfigurationError(f"orphan_grace must be >= 0 seconds, got {orphan_grace!r}")
    for name, value in (("ping_interval", ping_interval), ("disconnect_check", disconnect_check)):
        if not _is_positive(value, int | float):
            raise ConfigurationError(f"{name} must be a positive number of seconds")
    if not hasattr(runtime, "agents") or not hasattr(runtime, "workflows"):
        raise ConfigurationError(
            "create_app() needs a runtime with agents and workflows (rxagents.Runtime)"
        )
    event_log: object = getattr(runtime, "event_log", None)
    if event_log is None:
        event_log = InMemoryEventLog()
    if not isinstance(event_log, EventLog):
        raise ConfigurationError(f"the runtime's event_log is not an EventLog: {event_log!r}")
    middlewares: list[Middleware] = [error_middleware]
    if token is not None:
        middlewares.append(auth_middleware(token))
    app = web.Application(
        middlewares=middlewares,
        client_max_size=max_body,
        handler_args={"max_line_size": MAX_REQUEST_LINE, "logger": ProtocolErrorLog()},
    )
    app[CONFIG] = ServerConfig(
        runtime=runtime,
        max_body=max_body,
        stream=StreamSettings(
            ping_interval=float(ping_interval),
            disconnect_check=float(disconnect_check),
            extra_headers=dict(headers or {}),
        ),
        runs=ServedRuns(event_log, orphan_grace=float(orphan_grace)),
        resource_of=resource_of,
        chat_sub_agents=bool(chat_sub_agents),
    )
    add_agent_routes(app)
    add_workflow_routes(app)
    if cors is not None:
        CorsPolicy(cors).install(app)
    return app


def _is_positive(value: object, kind: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, kind) and value > 0


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


_RUNTIME_MEMBERS = ("agents", "workflows", "storage", "get_agent", "get_workflow")


def _check_runtime(runtime: object) -> None:
    """Refuse what is not a runtime, before it could serve an empty API."""
    if isinstance(runtime, AgentLike):
        name = getattr(runtime, "id", "my-agent")
        raise ConfigurationError(
            f"create_app() needs a Runtime, got the agent {name!r}; serve it through one: "
            f'Runtime(agents={{"{name}": agent}})'
        )
    missing = [member for member in _RUNTIME_MEMBERS if not hasattr(runtime, member)]
    if missing:
        raise ConfigurationError(
            f"create_app() needs a runtime (rxagents.Runtime), got {type(runtime).__name__} "
            f"(it has no {', '.join(missing)}); e.g. Runtime(agents={{...}}, workflows={{...}})"
        )
