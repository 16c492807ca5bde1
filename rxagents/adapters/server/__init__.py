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

from rxagents.adapters.server._app import DEFAULT_MAX_BODY as DEFAULT_MAX_BODY
from rxagents.adapters.server._app import create_app as create_app
from rxagents.adapters.server._config import ResourceOf as ResourceOf
from rxagents.adapters.server._config import ServedRuntime as ServedRuntime

__all__ = ("DEFAULT_MAX_BODY", "ResourceOf", "ServedRuntime", "create_app")
