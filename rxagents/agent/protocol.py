"""``AgentLike`` and ``WorkflowLike``: what an agent's neighbours need from each other.

Networks and workflows take any :class:`AgentLike` (a local agent or a remote one); an agent
keeps the workflows a network may route to as :class:`WorkflowLike` values, so the agent
package needs nothing from the workflow package above it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel
from reactivex import Observable

from rxagents.events import Chunk

__all__ = ("AgentLike", "WorkflowLike")


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


@runtime_checkable
class WorkflowLike(Protocol):
    """A committed workflow (:class:`~rxagents.workflow.Workflow`) for networks and supervisors."""

    id: str
    """The workflow's id."""
    description: str
    """What the workflow does (routers read it)."""
    input_schema: type[BaseModel] | None
    """The input model, if any."""

    @property
    def committed(self) -> bool:
        """Whether ``commit()`` was called."""
        ...

    def validate_input(self, value: Any) -> Any:
        """Validate a run's input against the input schema."""
        ...

    def observe(self, input_data: Any = None, *, run_id: str | None = None) -> Observable[Chunk]:
        """Return one run as a cold Observable of workflow chunks (a supervisor's tool)."""
        ...
