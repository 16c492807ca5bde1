"""``Runtime``: agents and workflows registered by key, sharing one storage (Mastra's instance).

Example:
    >>> runtime = Runtime(agents={"helper": helper}, workflows={"greet": greet},
    ...                   storage=SqliteStorage("rxagents.db"))
    >>> runtime.get_workflow("greet") is greet
    True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeVar, final

from rxagents.agent import Agent
from rxagents.errors import ConfigurationError, NotRegisteredError
from rxagents.eventlog import EventLog, InMemoryEventLog
from rxagents.storage import InMemoryStorage, Storage
from rxagents.workflow import Workflow

__all__ = ("NotRegisteredError", "Runtime")

_log = logging.getLogger(__name__)
_V = TypeVar("_V")


@final
class Runtime:
    """Agents and workflows by key, and the storage they share.

    Workflows registered here keep their run snapshots in the runtime's storage (it replaces
    the workflow's own), and agents their paused runs, so a run suspended in one process can be
    resumed in another that builds the same runtime over the same SQLite file.
    """

    def __init__(
        self,
        *,
        agents: Mapping[str, Agent] | None = None,
        workflows: Mapping[str, Workflow] | None = None,
        storage: Storage | None = None,
        event_log: EventLog | None = None,
    ) -> None:
        """Register agents and workflows.

        Args:
            agents: Agents by key (the key is how servers and networks name them). Anything
                with ``observe(messages, **options)`` and ``stream(...)`` is accepted, e.g. a
                ``RemoteAgent`` standing for an agent served elsewhere.
            workflows: Committed workflows by key (or anything with ``create_run()``, e.g. a
                ``RemoteWorkflow``).
            storage: Shared storage (default: a new :class:`~rxagents.storage.InMemoryStorage`).
            event_log: The log every run the runtime serves goes through, keyed by run id
                (default: a new :class:`~rxagents.eventlog.InMemoryEventLog`; a
                :class:`~rxagents.eventlog.RedisEventLog` lets several processes share runs).

        Raises:
            ConfigurationError: A key is not a non-empty string, a value is not an agent
                (workflow), a workflow is not committed, or ``event_log`` is not an event log.
        """
        self.storage: Storage = storage if storage is not None else InMemoryStorage()
        """The storage shared by everything registered here."""
        unchecked: object = event_log
        if unchecked is not None and not isinstance(unchecked, EventLog):
            raise ConfigurationError(f"event_log must be an EventLog, not {event_log!r}")
        self.event_log: EventLog = event_log if event_log is not None else InMemoryEventLog()
        """The event log of every run served from this runtime (re-attach, cancel)."""
        self._agents: dict[str, Agent] = _registry("agent", agents, ("observe", "stream"))
        self._workflows: dict[str, Workflow] = _registry("workflow", workflows, ("create_run",))
        for registered_agent in self._agents.values():
            agent: object = registered_agent
            if isinstance(agent, Agent):  # paused runs are kept where the runtime keeps state
                agent.storage = self.storage
        for key, registered in self._workflows.items():
            workflow: object = registered
            if not isinstance(workflow, Workflow):
                continue  # a remote workflow keeps its runs where it runs
            if not workflow.committed:
                raise ConfigurationError(
                    f"workflow {key!r} ({workflow.id!r}) is not committed; call commit() first"
                )
            if workflow.storage is not self.storage:
                _log.debug("workflow %r now keeps its snapshots in %r", key, self.storage)
            workflow.storage = self.storage

    def __repr__(self) -> str:
        return f"Runtime(agents={list(self._agents)}, workflows={list(self._workflows)})"

    @property
    def agents(self) -> Mapping[str, Agent]:
        """The registered agents by key (read-only)."""
        return MappingProxyType(self._agents)

    @property
    def workflows(self) -> Mapping[str, Workflow]:
        """The registered workflows by key (read-only)."""
        return MappingProxyType(self._workflows)

    def get_agent(self, key: str) -> Agent:
        """Return the agent registered as ``key``.

        Raises:
            NotRegisteredError: No such agent (the message lists the registered keys).
        """
        agent = self._agents.get(key)
        if agent is None:
            raise NotRegisteredError("agent", key, list(self._agents))
        return agent

    def get_workflow(self, key: str) -> Workflow:
        """Return the workflow registered as ``key``.

        Raises:
            NotRegisteredError: No such workflow (the message lists the registered keys).
        """
        workflow = self._workflows.get(key)
        if workflow is None:
            raise NotRegisteredError("workflow", key, list(self._workflows))
        return workflow


def _registry(kind: str, items: Mapping[str, _V] | None, methods: tuple[str, ...]) -> dict[str, _V]:
    if items is None:
        return {}
    unchecked: object = items
    if not isinstance(unchecked, Mapping):
        raise ConfigurationError(f"{kind}s must be a dict of {kind}s by key")
    registry: dict[str, _V] = {}
    for key, value in items.items():
        name: object = key
        if not isinstance(name, str) or not key:
            raise ConfigurationError(f"{kind} keys must be non-empty strings, not {key!r}")
        missing = [m for m in methods if not callable(getattr(value, m, None))]
        if missing:
            raise ConfigurationError(
                f"{kind} {key!r} is not {'an' if kind[0] in 'aeiou' else 'a'} {kind} "
                f"(no {', '.join(f'{m}()' for m in missing)}): {value!r}"
            )
        registry[key] = value
    return registry
