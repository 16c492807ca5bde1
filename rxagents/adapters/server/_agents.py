"""Agent routes: list, describe, ``/stream`` and ``/network`` (SSE), ``/chat`` (AI SDK v5)."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from reactivex import Observable

from rxagents.adapters.ai_sdk import to_ai_sdk_v5_stream
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
from rxagents.adapters.server._stream import SSE_CHUNKS, SSE_UI, stream_observable
from rxagents.errors import ConfigurationError, InvalidInputError

__all__ = ("add_agent_routes", "describe_agent", "has_memory")

_log = logging.getLogger("rxagents.adapters.server")


def add_agent_routes(app: web.Application) -> None:
    """Register the agent routes under ``/api/agents``."""
    app.router.add_get("/api/agents", list_agents)
    app.router.add_get("/api/agents/{agent_id}", get_agent)
    app.router.add_post("/api/agents/{agent_id}/stream", stream_agent)
    app.router.add_post("/api/agents/{agent_id}/network", stream_network)
    app.router.add_post("/api/agents/{agent_id}/chat", chat_agent)
    app.router.add_post("/api/agents/{agent_id}/network/chat", chat_network)
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


async def stream_agent(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/stream``: the agent's chunks as SSE, then ``[DONE]``."""
    agent, body, raw = await _read(request, AgentBody)
    messages = prompt_messages(raw.get("messages"))
    options = agent_options(body, agent, with_memory=has_memory(agent))
    await open_memory_thread(request, _extra(agent, "memory"), options)
    key = request.match_info["agent_id"]
    source = _start(key, lambda: agent.observe(messages, **options))
    return await stream_observable(
        request, source, SSE_CHUNKS, request.app[CONFIG].stream, run_id=options.get("run_id", "")
    )


async def _network_source(
    request: web.Request, agent: Any, key: str, messages: Any, body: AgentBody
) -> tuple[Observable[Any], Callable[[], None] | None]:
    """Start a network run; refuse what the agent refuses before streaming (400).

    The memory thread is opened first: a thread that belongs to another resource is refused
    here (403), not in the stream.
    """
    options = agent_options(body, agent, with_memory=True)
    await open_memory_thread(request, _extra(agent, "memory"), options)
    network = getattr(agent, "network", None)
    if callable(network) and inspect.iscoroutinefunction(network):
        try:
            stream = await network(messages, **options)
        except (TypeError, InvalidInputError, ConfigurationError) as err:
            raise ApiError(400, f"agent {key!r} cannot run this network: {err}") from None
        return stream.observable, stream.cancel
    observe_network = getattr(agent, "observe_network", None)
    if not callable(observe_network):
        raise ApiError(400, f"agent {key!r} cannot run a network (it has no network())")
    return _start(key, lambda: observe_network(messages, **options)), None


async def stream_network(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/network``: the network's chunks as SSE, then ``[DONE]``."""
    agent, body, raw = await _read(request, AgentBody)
    key = request.match_info["agent_id"]
    messages = prompt_messages(raw.get("messages"))
    source, cancel = await _network_source(request, agent, key, messages, body)
    return await stream_observable(
        request,
        source,
        SSE_CHUNKS,
        request.app[CONFIG].stream,
        run_id=body.run_id or "",
        on_abandon=cancel,
    )


async def _chat(request: web.Request, kind: AiSdkSource) -> web.StreamResponse:
    agent, body, raw = await _read(request, ChatBody)
    key = request.match_info["agent_id"]
    if kind == "agent" and "resumeData" in raw:
        source, resumed = await resume_source(agent, key, body, raw["resumeData"])
        ui = to_ai_sdk_v5_stream(source, kind)
        return await stream_observable(
            request, ui, SSE_UI, request.app[CONFIG].stream, on_abandon=resumed
        )
    messages = ui_prompt_messages(raw.get("messages"))
    cancel: Callable[[], None] | None = None
    if kind == "network":
        source, cancel = await _network_source(request, agent, key, messages, body)
    else:
        options = agent_options(body, agent, with_memory=has_memory(agent))
        await open_memory_thread(request, _extra(agent, "memory"), options)
        source = _start(key, lambda: agent.observe(messages, **options))
    ui = to_ai_sdk_v5_stream(source, kind)
    return await stream_observable(
        request, ui, SSE_UI, request.app[CONFIG].stream, on_abandon=cancel
    )


async def chat_agent(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/chat``: the AI SDK v5 UI message stream ``useChat`` reads."""
    return await _chat(request, "agent")


async def chat_network(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/network/chat``: a network run as an AI SDK v5 UI stream."""
    return await _chat(request, "network")
