"""What the server needs from a runtime, and its per-application settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable

from aiohttp import web

from rxagents.adapters.server._http import ApiError
from rxagents.adapters.server._runs import ServedRuns
from rxagents.adapters.server._stream import StreamSettings

__all__ = (
    "CONFIG",
    "ResourceOf",
    "ServedRuntime",
    "ServerConfig",
    "find_agent",
    "find_workflow",
)

ResourceOf: TypeAlias = Callable[[web.Request], "str | Awaitable[str | None] | None"]
"""Derives the memory resource (the end user) from a request, e.g. from a verified header."""


@runtime_checkable
class ServedRuntime(Protocol):
    """What the server uses of a runtime: agents and workflows by key, and its storage.

    ``rxagents.Runtime`` fits; so does any object with these members (an ``event_log``
    attribute, when present, is the log every served run goes through). Agents need
    ``observe(messages, **options)``; network agents ``observe_network(messages, **options)``.
    """

    @property
    def agents(self) -> Mapping[str, Any]:
        """The agents, by key."""
        ...

    @property
    def workflows(self) -> Mapping[str, Any]:
        """The workflows, by key."""
        ...

    @property
    def storage(self) -> Any:
        """Where workflow runs and memory threads are kept."""
        ...

    def get_agent(self, key: str) -> Any:
        """Return the agent registered under ``key``."""
        ...

    def get_workflow(self, key: str) -> Any:
        """Return the workflow registered under ``key``."""
        ...


@dataclass(frozen=True)
class ServerConfig:
    """One application's runtime and limits."""

    runtime: ServedRuntime
    max_body: int
    stream: StreamSettings
    runs: ServedRuns
    resource_of: ResourceOf | None = None
    chat_sub_agents: bool = False
    """Whether ``/chat`` streams show nested runs (``to_ai_sdk_v5_stream(sub_agents=True)``)."""


CONFIG: web.AppKey[ServerConfig] = web.AppKey("rxagents_server_config", ServerConfig)
"""Where :func:`~rxagents.adapters.server.create_app` keeps its :class:`ServerConfig`."""


def find_agent(config: ServerConfig, agent_id: str) -> Any:
    """Return the agent, or refuse with 404."""
    runtime = config.runtime
    if agent_id not in runtime.agents:
        raise ApiError(404, f"agent {agent_id!r} not found")
    return runtime.get_agent(agent_id)


def find_workflow(config: ServerConfig, workflow_id: str) -> Any:
    """Return the workflow, or refuse with 404."""
    runtime = config.runtime
    if workflow_id not in runtime.workflows:
        raise ApiError(404, f"workflow {workflow_id!r} not found")
    return runtime.get_workflow(workflow_id)
