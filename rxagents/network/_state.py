"""A network run's configuration and the state its phases share."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from reactivex import Observable

from rxagents.events import Chunk, ErrorInfo, WrappedChunk
from rxagents.memory import Memory, MemoryMessage, MemoryRef, PendingMessage, Thread
from rxagents.models import LanguageModel, Message
from rxagents.network._primitives import Plan, Primitives
from rxagents.operators import prefix_events

__all__ = (
    "AGENT_PREFIX",
    "ROUTING_AGENT_ID",
    "WORKFLOW_PREFIX",
    "Closable",
    "NetworkConfig",
    "RunState",
)

AGENT_PREFIX = "agent-execution-event-"
"""The prefix of a sub-agent's wrapped chunks."""
WORKFLOW_PREFIX = "workflow-execution-event-"
"""The prefix of a workflow's wrapped chunks."""
ROUTING_AGENT_ID = "routing-agent"
"""``routing-agent-start.payload.agentId``, as Mastra names its internal router."""


@dataclass(frozen=True)
class NetworkConfig:
    """Everything one network run needs; built by ``Agent.network`` and checked there."""

    network_id: str
    """The network agent's id."""
    model: LanguageModel
    """The model that routes and checks completion."""
    task: str
    """The task."""
    task_message: Message
    """The task as the user message saved in the thread."""
    max_steps: int
    """The last iteration (from 0): at most ``max_steps + 1`` rounds, as in Mastra."""
    memory: Memory
    """Where the thread lives."""
    ref: MemoryRef
    """Which thread."""
    is_one_off: bool
    """Whether the run made its own thread (no ``memory=`` given)."""
    primitives: Primitives
    """What the router can run."""
    router_system: str
    """The router's system prompt."""
    check_system: str
    """The completion check's system prompt."""
    settings: Mapping[str, Any]
    """Model settings for the routing and check calls (``temperature`` …)."""
    run_id: str | None = None
    """The run's id (default: a new UUID)."""
    loaded: tuple[Thread, Sequence[MemoryMessage]] | None = None
    """The thread and its recent messages, when already loaded (``await agent.network()``)."""


class Closable(Protocol):
    """A running primitive: what closes its wrapped stream when the run is cancelled."""

    def closing_chunks(self) -> list[Chunk]:
        """Return the wrapped chunks that end the inner stream (its ``abort`` …)."""
        ...


class RunState:
    """What the phases of one run read and write; phases run one after the other."""

    def __init__(self, config: NetworkConfig, run_id: str) -> None:
        self.config = config
        self.run_id = run_id
        self.thread: Thread | None = None
        self.thread_id = config.ref.thread_id
        self.resource_id = config.ref.resource_id or config.ref.thread_id
        self.iteration = -1
        self.conversation: list[Message] = []
        """What the router sees: the thread's recent messages, then this run's."""
        self.context: list[dict[str, Any] | None] = []
        """The same messages as ``conversationContext`` shows them (``None``: left out)."""
        self.run_start = 0
        """Where this run's messages start in :attr:`conversation`."""
        self.plan: Plan | None = None
        self.routing_fields: dict[str, Any] = {}
        """``routing-agent-end``'s payload without usage: the ``args`` of executions."""
        self.primitive_id = ""
        self.primitive_type = "none"
        self.result: Any = ""
        """The last primitive's result."""
        self.error: ErrorInfo | None = None
        """The last primitive's error."""
        self.feedback: str | None = None
        """What the router is told about the previous iteration."""
        self.from_check = False
        """Whether :attr:`feedback` came from a completion check."""
        self.passed = False
        self.completion_reason = ""
        self.final_result: Any = None
        self.final_given = False
        """Whether the passing check gave a ``finalResult``."""
        self.to_save: list[PendingMessage] = []
        """Messages of this run not written to the thread yet."""
        self.active: Closable | None = None
        self.wrap_agent: Callable[[Observable[Chunk]], Observable[WrappedChunk]] = prefix_events(
            AGENT_PREFIX, run_id=run_id
        )
        self.wrap_workflow: Callable[[Observable[Chunk]], Observable[WrappedChunk]] = prefix_events(
            WORKFLOW_PREFIX, run_id=run_id
        )

    def open(self, thread: Thread, records: Sequence[MemoryMessage]) -> None:
        """Start from the thread's recent messages."""
        self.thread = thread
        self.thread_id = thread.id
        self.resource_id = thread.resource_id
        for record in records:
            self.conversation.append(record.to_message())
            self.context.append(context_entry(record))
        self.run_start = len(self.conversation)

    def add(self, message: dict[str, Any]) -> None:
        """Add a message of this run to what the router sees and queue it for writing."""
        assert self.thread is not None
        for item in self.config.memory.prepare_messages(self.thread, [message]):
            self.conversation.append(item.message.to_message())
            self.context.append(context_entry(item.message))
            self.to_save.append(item)

    def window(self, start: int = 0) -> tuple[list[Message], list[dict[str, Any]]]:
        """The last messages the model is shown (memory's ``last_messages``), from ``start``."""
        size = self.config.memory.last_messages
        begin = max(start, len(self.conversation) - size)
        return self.conversation[begin:], [c for c in self.context[begin:] if c is not None]


def context_entry(record: MemoryMessage) -> dict[str, Any] | None:
    """Return a message as Mastra's ``conversationContext`` shows it, or ``None``.

    Mastra shows the user's messages and the assistant's answers in its stored-message shape
    (``content: {parts, format: 2}``, ISO ``createdAt``), not the network's own records of
    its iterations (decisions and results as JSON).
    """
    role = record.role
    if role == "assistant":
        network = record.metadata.get("network")
        if isinstance(network, Mapping) and network.get("type") not in ("task", "result"):
            return None
    elif role != "user":
        return None
    content = record.content
    parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
    created = datetime.fromtimestamp(record.created_at / 1000, UTC)
    return {
        "id": record.id,
        "type": "text",
        "createdAt": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "threadId": record.thread_id,
        "resourceId": record.resource_id,
        "content": {"parts": parts, "format": 2},
        "role": role,
    }
