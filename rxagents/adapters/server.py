r"""An aiohttp server for a runtime, speaking Mastra's HTTP protocol (and the AI SDK's).

``@mastra/client-js`` works against it unchanged; ``useChat`` reads its ``/chat`` routes.

==============================================  ============================================
route                                           answer
==============================================  ============================================
``GET /api/agents``, ``GET /api/workflows``     JSON objects keyed by id
``GET /api/agents/{id}``, ``/workflows/{id}``   one description
``POST /api/agents/{id}/stream``                SSE chunks, then ``data: [DONE]``
``POST /api/agents/{id}/network``               SSE network chunks, then ``data: [DONE]``
``POST /api/agents/{id}/chat``                  AI SDK v5 UI message stream (``useChat``)
``POST /api/agents/{id}/network/chat``          a network as a UI message stream
``POST /api/workflows/{id}/create-run``         ``{"runId": ...}`` (``?runId=`` optional)
``POST /api/workflows/{id}/stream?runId=``      records: ``JSON + \x1e`` per chunk
``POST /api/workflows/{id}/resume-stream``      records (``?runId=``)
``POST /api/workflows/{id}/chat``               a workflow as a UI message stream
==============================================  ============================================

Stricter than Mastra: bad input is refused before any stream starts with a JSON error
``{"error": ..., "issues"?: [...]}`` — 400 (invalid body or input), 401 (bearer token missing or
wrong, when ``token`` is set), 404 (unknown agent, workflow or run), 409 (resuming a run that is
not suspended), 413 (body over ``max_body``, refused without reading it all). Once a stream
started, failures are in-band and never a 5xx (``@mastra/client-js`` retries 5xx, which would run
the agent and its tools again). A silent SSE stream gets ``: ping`` every ``ping_interval``
seconds; a client that leaves is noticed within ``disconnect_check`` seconds and its run is
cancelled.

Example:
    >>> app = create_app(runtime, token="s3cret", cors=["http://localhost:3000"])  # doctest: +SKIP
    >>> web.run_app(app, host="127.0.0.1", port=4111)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from rxagents.adapters._server_agents import add_agent_routes
from rxagents.adapters._server_config import CONFIG, ResourceOf, ServedRuntime, ServerConfig
from rxagents.adapters._server_http import CorsPolicy, auth_middleware, error_middleware
from rxagents.adapters._server_stream import StreamSettings
from rxagents.adapters._server_workflows import add_workflow_routes
from rxagents.errors import ConfigurationError

__all__ = ("DEFAULT_MAX_BODY", "ResourceOf", "ServedRuntime", "create_app")

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

    Raises:
        ConfigurationError: A limit or interval is not positive, or the token is empty.
    """
    if not _is_positive(max_body, int):
        raise ConfigurationError(f"max_body must be a positive int, got {max_body!r}")
    if token is not None and not _is_text(token):
        raise ConfigurationError("token must be a non-empty string (or None for no auth)")
    for name, value in (("ping_interval", ping_interval), ("disconnect_check", disconnect_check)):
        if not _is_positive(value, int | float):
            raise ConfigurationError(f"{name} must be a positive number of seconds")
    if not hasattr(runtime, "agents") or not hasattr(runtime, "workflows"):
        raise ConfigurationError(
            "create_app() needs a runtime with agents and workflows (rxagents.Runtime)"
        )
    middlewares: list[Middleware] = [error_middleware]
    if token is not None:
        middlewares.append(auth_middleware(token))
    app = web.Application(middlewares=middlewares, client_max_size=max_body)
    app[CONFIG] = ServerConfig(
        runtime=runtime,
        max_body=max_body,
        stream=StreamSettings(
            ping_interval=float(ping_interval),
            disconnect_check=float(disconnect_check),
            extra_headers=dict(headers or {}),
        ),
        resource_of=resource_of,
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
