"""Agent routes: list, describe, stream (SSE), chat (AI SDK v5), observe, cancel.

``/stream`` and ``/network`` stream SSE, ``/chat`` the AI SDK v5 UI stream, ``/observe``
re-attaches to a run, ``GET /chat/{runId}/stream`` re-attaches to a ``/chat`` response and
``/runs/{runId}/cancel`` stops a run.

Every run these routes start goes through the runtime's event log (see ``_served``): the
response reads the log, so a client leaving does not cancel the run at once, and any process
sharing the log can serve a re-attach. SSE frames carry ``id: <position>`` only for clients
that ask (a ``Last-Event-ID`` header, ``X-Event-Ids: 1`` or ``?eventIds=1``): Mastra's client
drops any block that is not one ``data:`` line.
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from reactivex import Observable

from rxagents._core.rx import lean, subscribe_direct
from rxagents.adapters.ai_sdk._stream import AiSdkSource
from rxagents.adapters.server._approvals import add_approval_routes, resume_source
from rxagents.adapters.server._config import CONFIG, ServerConfig, find_agent
from rxagents.adapters.server._http import ApiError, read_json
from rxagents.adapters.server._memory import open_memory_thread
from rxagents.adapters.server._requests import (
    AgentBody,
    ChatBody,
    agent_options,
    parse_body,
    prompt_messages,
    ui_prompt_messages,
)
from rxagents.adapters.server._runs import ServedRuns, SharedRun
from rxagents.adapters.server._served import (
    check_run,
    observe_offset,
    own,
    own_continuation,
    serve_frames,
    serve_ui,
    wants_ids,
)
from rxagents.adapters.server._stream import SSE_CHUNKS, sse_log_frames
from rxagents.agent import OpenBlocks
from rxagents.errors import ConfigurationError, InvalidInputError, RunNotFoundError
from rxagents.eventlog import RunKind
from rxagents.events import Abort

__all__ = (
    "add_agent_routes",
    "describe_agent",
    "has_memory",
    "observe_offset",
    "serve_run",
    "wants_ids",
)

_log = logging.getLogger("rxagents.adapters.server")


def add_agent_routes(app: web.Application) -> None:
    """Register the agent routes under ``/api/agents``."""
    app.router.add_get("/api/agents", list_agents)
    app.router.add_get("/api/agents/{agent_id}", get_agent)
    app.router.add_post("/api/agents/{agent_id}/stream", stream_agent)
    app.router.add_post("/api/agents/{agent_id}/network", stream_network)
    app.router.add_post("/api/agents/{agent_id}/chat", chat_agent)
    app.router.add_post("/api/agents/{agent_id}/network/chat", chat_network)
    app.router.add_post("/api/agents/{agent_id}/observe", observe_agent_run)
    app.router.add_get("/api/agents/{agent_id}/chat/{run_id}/stream", observe_chat)
    app.router.add_get("/api/agents/{agent_id}/network/chat/{run_id}/stream", observe_chat)
    app.router.add_post("/api/agents/{agent_id}/runs/{run_id}/cancel", cancel_agent_run)
    add_approval_routes(app)


# --- descriptions ---------------------------------------------------------------------------


def _extra(agent: object, name: str) -> Any:
    value = getattr(agent, name, None)
    if value is None:
        extra = getattr(agent, "extra", None)
        if isinstance(extra, Mapping):
            value = extra.get(name)
    return value


def has_memory(agent: object) -> bool:
    """Whether an agent keeps conversation threads (``memory`` set on it)."""
    return _extra(agent, "memory") is not None


def _tools(agent: object) -> dict[str, Any]:
    tools = getattr(agent, "tools", None)
    result: dict[str, Any] = {}
    if not isinstance(tools, Mapping):
        return result
    for name, tool in tools.items():
        entry: dict[str, Any] = {"id": name, "description": getattr(tool, "description", "")}
        spec = getattr(tool, "spec", None)
        if callable(spec):
            try:
                entry["inputSchema"] = json.dumps(spec(name).input_schema)
            except Exception as err:  # a tool whose schema cannot be built is still listed
                _log.debug("no input schema for tool %s: %s", name, err)
        result[name] = entry
    return result


def _members(agent: object, name: str) -> dict[str, Any]:
    members = _extra(agent, name)
    if isinstance(members, Mapping):
        items = list(members.items())
    elif isinstance(members, list | tuple):
        items = [(getattr(m, "id", str(i)), m) for i, m in enumerate(members)]
    else:
        return {}
    return {
        str(key): {"id": getattr(m, "id", key), "name": getattr(m, "name", key) or key}
        for key, m in items
    }


def describe_agent(key: str, agent: object) -> dict[str, Any]:
    """Describe an agent as Mastra's ``GET /api/agents`` does."""
    model = getattr(agent, "model", None)
    info: dict[str, Any] = {
        "id": getattr(agent, "id", key) or key,
        "name": getattr(agent, "name", None) or key,
        "description": getattr(agent, "description", "") or "",
        "instructions": getattr(agent, "instructions", "") or "",
        "tools": _tools(agent),
        "agents": _members(agent, "agents"),
        "workflows": _members(agent, "workflows"),
        "hasMemory": has_memory(agent),
    }
    if model is not None:
        info["provider"] = getattr(model, "provider", None)
        info["modelId"] = getattr(model, "model_id", None)
    return info


async def list_agents(request: web.Request) -> web.StreamResponse:
    """``GET /api/agents``: every agent, keyed by id."""
    agents = request.app[CONFIG].runtime.agents
    return web.json_response({key: describe_agent(key, agent) for key, agent in agents.items()})


async def get_agent(request: web.Request) -> web.StreamResponse:
    """``GET /api/agents/{id}``: one agent."""
    key = request.match_info["agent_id"]
    agent = find_agent(request.app[CONFIG], key)
    return web.json_response(describe_agent(key, agent))


# --- streams --------------------------------------------------------------------------------


def _start(agent_id: str, start: Callable[[], Observable[Any]]) -> Observable[Any]:
    """Call ``observe`` (which validates eagerly) and turn refusals into 400s."""
    try:
        return start()
    except (TypeError, InvalidInputError) as err:
        raise ApiError(400, str(err)) from None
    except ConfigurationError as err:
        _log.error("agent %s cannot run: %s", agent_id, err)
        raise ApiError(500, f"agent {agent_id!r} cannot run: {err}") from None


async def _read(request: web.Request, model: type[AgentBody]) -> tuple[Any, AgentBody, Any]:
    config: ServerConfig = request.app[CONFIG]
    key = request.match_info["agent_id"]
    agent = find_agent(config, key)
    raw = await read_json(request, config.max_body)
    body = parse_body(model, raw)
    return agent, body, raw


def _runs(request: web.Request) -> ServedRuns:
    return request.app[CONFIG].runs


def _missing(run_id: str) -> str:
    return f"run {run_id!r} not found (unknown, or expired)"


async def serve_run(
    request: web.Request,
    runs: ServedRuns,
    run_id: str,
    offset: int,
    source: str,
    *,
    segments: bool = False,
) -> web.StreamResponse:
    """Stream run ``run_id`` of the log from ``offset`` as SSE; 404 JSON if it is not there.

    With ``segments``, the whole run: its continuations follow its first stream.
    """
    await check_run(runs, run_id, _missing(run_id))
    return await serve_frames(
        request,
        runs,
        run_id,
        runs.read_json_batches(run_id, offset, segments=segments),
        framing=SSE_CHUNKS,
        encode=sse_log_frames(wants_ids(request)),
        source=source,
        offset=offset,
    )


async def stream_agent(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/stream``: the agent's chunks as SSE, then ``[DONE]``."""
    agent, body, raw = await _read(request, AgentBody)
    messages = prompt_messages(raw.get("messages"))
    options = agent_options(body, agent, with_memory=has_memory(agent))
    await open_memory_thread(request, _extra(agent, "memory"), options)
    key = request.match_info["agent_id"]
    run_id = options.setdefault("run_id", str(uuid.uuid4()))
    stream = _ServedAgentRun(_start(key, lambda: agent.observe(messages, **options)), run_id)
    runs = _runs(request)
    await own(runs, run_id, "agent", stream)
    return await serve_run(request, runs, run_id, 0, "AGENT")


class _ServedAgentRun:
    """An agent run from ``observe()``, subscribed once by the server's copy into the log.

    No replay buffer of its own (the log is the one copy). Cancelling disposes the run, then
    closes what it left open and ends it with ``abort``, as a local stream does.
    """

    def __init__(self, source: Observable[Any], run_id: str) -> None:
        self._source = source
        self._run_id = run_id
        self._blocks = OpenBlocks()
        self._observer: Any = None
        self._subscription: Any = None
        self._ended = False
        self._seen = False

    @property
    def observable(self) -> Observable[Any]:
        def subscribe(observer: Any, scheduler: Any = None) -> Any:
            self._observer = observer
            blocks = self._blocks
            forward = observer.on_next

            def on_next(chunk: Any) -> None:
                kind = getattr(chunk, "type", None)  # not a chunk: the log's reader reports it
                if kind is not None:
                    blocks.track(chunk)
                if kind in ("finish", "abort"):
                    self._ended = True
                if not self._seen:  # closing chunks carry the run id the chunks carry
                    self._seen = True
                    self._run_id = getattr(chunk, "run_id", None) or self._run_id
                forward(chunk)

            def on_error(error: Exception) -> None:
                self._ended = True
                observer.on_error(error)

            def on_completed() -> None:
                self._ended = True
                observer.on_completed()

            # lean both ways: no Rx observer wrapper per chunk between the run and the log;
            # compact forms (text deltas) go straight through: they open and close no block
            self._subscription = subscribe_direct(
                self._source,
                on_next,
                on_error,
                on_completed,
                on_compact=getattr(observer, "on_compact", None),
            )
            return self._subscription

        return lean(subscribe)

    def has_ended(self) -> bool:
        """Whether the run ended (finish, abort, an error, or its completion)."""
        return self._ended

    def cancel(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is None or self._ended:
            return
        subscription.dispose()
        if self.has_ended():  # disposing may have ended it
            return
        self._ended = True
        observer = self._observer
        for chunk in self._blocks.closing_chunks(self._run_id):
            observer.on_next(chunk)
        observer.on_next(Abort(run_id=self._run_id))
        observer.on_completed()


class _PlainRun:
    """A cold Observable as a started run: subscribed once; cancel disposes it and ends it."""

    def __init__(self, source: Observable[Any]) -> None:
        self._source = source
        self._observer: Any = None
        self._subscription: Any = None

    @property
    def observable(self) -> Observable[Any]:
        def subscribe(observer: Any, scheduler: Any = None) -> Any:
            self._observer = observer
            self._subscription = self._source.subscribe(
                observer.on_next, observer.on_error, observer.on_completed
            )
            return self._subscription

        return Observable(subscribe)

    def cancel(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.dispose()
            self._observer.on_completed()


async def _network_run(
    request: web.Request, agent: Any, key: str, messages: Any, body: AgentBody, run_id: str | None
) -> SharedRun:
    """Start a network run; refuse what the agent refuses before streaming (400).

    The memory thread is opened first: a thread that belongs to another resource is refused
    here (403), not in the stream.
    """
    options = agent_options(body, agent, with_memory=True)
    if run_id is not None:
        options["run_id"] = run_id
    await open_memory_thread(request, _extra(agent, "memory"), options)
    network = getattr(agent, "network", None)
    if callable(network) and inspect.iscoroutinefunction(network):
        try:
            stream: SharedRun = await network(messages, **options)
        except (TypeError, InvalidInputError, ConfigurationError) as err:
            raise ApiError(400, f"agent {key!r} cannot run this network: {err}") from None
        return stream
    observe_network = getattr(agent, "observe_network", None)
    if not callable(observe_network):
        raise ApiError(400, f"agent {key!r} cannot run a network (it has no network())")
    return _PlainRun(_start(key, lambda: observe_network(messages, **options)))


async def stream_network(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/network``: the network's chunks as SSE, then ``[DONE]``."""
    agent, body, raw = await _read(request, AgentBody)
    key = request.match_info["agent_id"]
    messages = prompt_messages(raw.get("messages"))
    run_id = body.run_id or str(uuid.uuid4())
    run = await _network_run(request, agent, key, messages, body, run_id)
    runs = _runs(request)
    await own(runs, run_id, "network", run)
    return await serve_run(request, runs, run_id, 0, "NETWORK")


async def observe_agent_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/observe`` ``{runId, offset?}``: a run from ``offset``, then live.

    Serves agent and network runs of any process sharing the event log, continuations (an
    approved or resumed call) included; 404 JSON when the run is unknown or expired;
    ``Last-Event-ID: k`` (without ``offset``) means offset ``k + 1``.
    """
    config: ServerConfig = request.app[CONFIG]
    find_agent(config, request.match_info["agent_id"])
    raw = await read_json(request, config.max_body)
    run_id = raw.get("runId") if isinstance(raw, dict) else None
    if not isinstance(run_id, str) or not run_id or len(run_id) > 200:
        raise ApiError(400, "runId is required (a string of at most 200 characters)")
    offset = observe_offset(request, raw.get("offset"))
    return await serve_run(request, _runs(request), run_id, offset, "AGENT", segments=True)


async def cancel_agent_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/runs/{runId}/cancel``: stop a run wherever it runs.

    Answers ``{"message": "Agent run cancelled", "cancelled": bool}`` (``false``: it had
    already ended); 404 JSON for an unknown or expired run.
    """
    find_agent(request.app[CONFIG], request.match_info["agent_id"])
    run_id = request.match_info["run_id"]
    try:
        cancelled = await _runs(request).cancel(run_id)
    except RunNotFoundError:
        raise ApiError(404, _missing(run_id)) from None
    return web.json_response({"message": "Agent run cancelled", "cancelled": cancelled})


async def _chat(request: web.Request, kind: AiSdkSource) -> web.StreamResponse:
    agent, body, raw = await _read(request, ChatBody)
    key = request.match_info["agent_id"]
    runs = _runs(request)
    run_kind: RunKind = "network" if kind == "network" else "agent"
    if kind == "agent" and "resumeData" in raw:
        stream, run_id = await resume_source(agent, key, body, raw["resumeData"])
        segment, _ = await own_continuation(runs, run_id, "agent", stream)
        return await serve_ui(request, runs, run_id, segment, "agent")
    messages = ui_prompt_messages(raw.get("messages"))
    run_id = body.run_id or str(uuid.uuid4())
    run: SharedRun
    if kind == "network":
        run = await _network_run(request, agent, key, messages, body, run_id)
    else:
        options = agent_options(body, agent, with_memory=has_memory(agent))
        options["run_id"] = run_id
        await open_memory_thread(request, _extra(agent, "memory"), options)
        run = _ServedAgentRun(_start(key, lambda: agent.observe(messages, **options)), run_id)
    await own(runs, run_id, run_kind, run)
    return await serve_ui(request, runs, run_id, run_id, run_kind)


async def observe_chat(request: web.Request) -> web.StreamResponse:
    """``GET /api/agents/{id}[/network]/chat/{runId}/stream``: re-attach to a ``/chat`` response.

    The run's latest stream (its first, or the continuation a ``resumeData`` request started)
    from its start, then live, as the same AI SDK v5 UI message stream ``/chat`` sent (its
    ``X-Run-Id`` header names the run): the URL the AI SDK's ``DefaultChatTransport``
    reconnects to when its chat id is the run id, or that its
    ``prepareReconnectToStreamRequest`` returns. Serves runs of any process sharing the event
    log; 404 JSON when the run is unknown or expired.
    """
    config: ServerConfig = request.app[CONFIG]
    find_agent(config, request.match_info["agent_id"])
    run_id = request.match_info["run_id"]
    runs = _runs(request)
    await check_run(runs, run_id, _missing(run_id))
    try:
        segment = await runs.latest_segment(run_id)
    except RunNotFoundError:
        raise ApiError(404, _missing(run_id)) from None
    kind = await check_run(runs, segment, _missing(run_id))
    return await serve_ui(request, runs, run_id, segment, kind)


async def chat_agent(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/chat``: the AI SDK v5 UI message stream ``useChat`` reads."""
    return await _chat(request, "agent")


async def chat_network(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/network/chat``: a network run as an AI SDK v5 UI stream."""
    return await _chat(request, "network")
