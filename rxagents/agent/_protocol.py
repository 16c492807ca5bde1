"""``AgentLike``: what networks and workflows need from an agent, local or remote."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from reactivex import Observable

from rxagents.events import Chunk

__all__ = ("AgentLike",)


@runtime_checkable
class AgentLike(Protocol):
    """Anything that runs as an agent: an :class:`~rxagents.agent.Agent` or a ``RemoteAgent``.

    Networks route to it and workflows use it as a step through ``observe()``, the cold
    Observable of its agent chunks (one run per subscription; disposing stops it).
    """

    id: str
    """The agent's id."""
    name: str
    """A display name."""
    description: str
    """What the agent does (routers read it)."""

    def observe(self, messages: Any, **options: Any) -> Observable[Chunk]:
        """Return one run as a cold Observable of agent chunks."""
        ...
