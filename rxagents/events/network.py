"""Network chunks (``from: NETWORK``) and wrapped chunks (``agent-execution-event-*`` …)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import MISSING

from rxagents.events._base import ChunkBase, Payload, Source
from rxagents.usage import Usage

if TYPE_CHECKING:
    from rxagents.events import Chunk

__all__ = (
    "AgentExecutionEnd",
    "AgentExecutionEndPayload",
    "AgentExecutionStart",
    "AgentExecutionStartPayload",
    "NetworkChunk",
    "NetworkFinish",
    "NetworkFinishPayload",
    "NetworkStepFinish",
    "NetworkStepFinishPayload",
    "NetworkValidationEnd",
    "NetworkValidationEndPayload",
    "NetworkValidationStart",
    "NetworkValidationStartPayload",
    "PrimitiveType",
    "RoutingAgentEnd",
    "RoutingAgentEndPayload",
    "RoutingAgentStart",
    "RoutingAgentStartPayload",
    "RoutingAgentTextDelta",
    "RoutingAgentTextDeltaPayload",
    "RoutingAgentTextStart",
    "RoutingAgentTextStartPayload",
    "ToolExecutionEnd",
    "ToolExecutionEndPayload",
    "ToolExecutionStart",
    "ToolExecutionStartPayload",
    "WorkflowExecutionEnd",
    "WorkflowExecutionEndPayload",
    "WorkflowExecutionStart",
    "WorkflowExecutionStartPayload",
    "WrappedChunk",
)

PrimitiveType = Literal["agent", "workflow", "tool", "none"]
"""What the router chose to run."""


class RoutingAgentStartPayload(Payload):
    """Payload of ``routing-agent-start``."""

    network_id: str | MISSING = MISSING
    """The routing agent's id."""
    agent_id: str | MISSING = MISSING
    """The routing agent's id (as Mastra names it)."""
    run_id: str | MISSING = MISSING
    """The network run."""
    input_data: Any = MISSING
    """What the router is given: the task and the state of the run."""


class RoutingAgentEndPayload(Payload):
    """Payload of ``routing-agent-end``: the router's decision."""

    task: str | MISSING = MISSING
    """The network's task."""
    primitive_id: str
    """The chosen agent, workflow or tool (empty for ``none``)."""
    primitive_type: PrimitiveType | str
    """What kind of primitive was chosen."""
    prompt: str = ""
    """What the primitive is given."""
    selection_reason: str = ""
    """Why it was chosen (or why the decision was rejected)."""
    is_complete: bool = False
    """Whether the router considers the task done."""
    iteration: int = 0
    """The iteration number, from 0."""
    run_id: str | MISSING = MISSING
    """The network run."""
    usage: Usage | MISSING = MISSING
    """Usage of the routing model call."""


class RoutingAgentTextStartPayload(Payload):
    """Payload of ``routing-agent-text-start``."""

    run_id: str | MISSING = MISSING
    """The network run."""


class RoutingAgentTextDeltaPayload(Payload):
    """Payload of ``routing-agent-text-delta``."""

    text: str
    """A piece of the streamed final answer."""


class AgentExecutionStartPayload(Payload):
    """Payload of ``agent-execution-start``."""

    agent_id: str
    """The sub-agent."""
    args: Any = None
    """What the sub-agent is given."""
    run_id: str
    """The execution's run id (the inner chunks' ``runId``)."""


class AgentExecutionEndPayload(Payload):
    """Payload of ``agent-execution-end``."""

    agent_id: str
    """The sub-agent."""
    result: Any = None
    """The sub-agent's final text (or its error)."""
    iteration: int | MISSING = MISSING
    """The network iteration."""
    run_id: str | MISSING = MISSING
    """The execution's run id."""
    usage: Usage | MISSING = MISSING
    """The sub-agent's total usage (an aggregate, not counted again)."""


class WorkflowExecutionStartPayload(Payload):
    """Payload of ``workflow-execution-start``."""

    workflow_id: str
    """The workflow."""
    args: Any = None
    """The workflow's input data."""
    run_id: str
    """The workflow run."""


class WorkflowExecutionEndPayload(Payload):
    """Payload of ``workflow-execution-end``."""

    name: str | MISSING = MISSING
    """The workflow's id."""
    result: Any = None
    """The workflow's result."""
    iteration: int | MISSING = MISSING
    """The network iteration."""
    run_id: str | MISSING = MISSING
    """The workflow run."""
    usage: Usage | MISSING = MISSING
    """The workflow's total usage (an aggregate)."""


class ToolExecutionStartPayload(Payload):
    """Payload of ``tool-execution-start``."""

    args: Any = None
    """The tool's input."""
    run_id: str | MISSING = MISSING
    """The network run."""


class ToolExecutionEndPayload(Payload):
    """Payload of ``tool-execution-end``."""

    tool_name: str
    """The tool."""
    tool_call_id: str | MISSING = MISSING
    """The call's id."""
    result: Any = None
    """What the tool returned (or its error)."""
    iteration: int | MISSING = MISSING
    """The network iteration."""


class NetworkValidationStartPayload(Payload):
    """Payload of ``network-validation-start``."""

    run_id: str | MISSING = MISSING
    """The network run."""
    iteration: int = 0
    """The network iteration."""


class NetworkValidationEndPayload(Payload):
    """Payload of ``network-validation-end``."""

    passed: bool
    """Whether the completion check judged the task done."""
    reason: str = ""
    """Why."""
    iteration: int = 0
    """The network iteration."""
    usage: Usage | MISSING = MISSING
    """Usage of the completion check's model call."""


class NetworkStepFinishPayload(Payload):
    """Payload of ``network-execution-event-step-finish``."""

    task: str
    """The network's task."""
    result: Any = None
    """The iteration's result."""
    is_complete: bool = False
    """Whether the task is done."""
    iteration: int = 0
    """The network iteration."""
    run_id: str | MISSING = MISSING
    """The network run."""


class NetworkFinishPayload(Payload):
    """Payload of ``network-execution-event-finish``: the run's outcome."""

    task: str
    """The network's task."""
    result: Any = None
    """The final result."""
    is_complete: bool = False
    """Whether the task was completed (false when ``max_steps`` stopped it)."""
    completion_reason: str | MISSING = MISSING
    """Why the run ended."""
    iteration: int = 0
    """The last iteration."""
    primitive_id: str | MISSING = MISSING
    """The last primitive run."""
    primitive_type: str | MISSING = MISSING
    """Its kind."""
    thread_id: str | MISSING = MISSING
    """The memory thread."""
    usage: Usage | MISSING = MISSING
    """The run's total usage (an aggregate)."""


class _NetworkChunkBase(ChunkBase):
    from_: Source = "NETWORK"


class RoutingAgentStart(_NetworkChunkBase):
    """``routing-agent-start``: the router is asked for a decision."""

    type: Literal["routing-agent-start"] = "routing-agent-start"
    payload: RoutingAgentStartPayload


class RoutingAgentEnd(_NetworkChunkBase):
    """``routing-agent-end``: the router decided."""

    type: Literal["routing-agent-end"] = "routing-agent-end"
    payload: RoutingAgentEndPayload


class RoutingAgentTextStart(_NetworkChunkBase):
    """``routing-agent-text-start``: the final answer starts streaming."""

    type: Literal["routing-agent-text-start"] = "routing-agent-text-start"
    payload: RoutingAgentTextStartPayload


class RoutingAgentTextDelta(_NetworkChunkBase):
    """``routing-agent-text-delta``: a piece of the final answer."""

    type: Literal["routing-agent-text-delta"] = "routing-agent-text-delta"
    payload: RoutingAgentTextDeltaPayload


class AgentExecutionStart(_NetworkChunkBase):
    """``agent-execution-start``: a sub-agent starts."""

    type: Literal["agent-execution-start"] = "agent-execution-start"
    payload: AgentExecutionStartPayload


class AgentExecutionEnd(_NetworkChunkBase):
    """``agent-execution-end``: a sub-agent finished."""

    type: Literal["agent-execution-end"] = "agent-execution-end"
    payload: AgentExecutionEndPayload


class WorkflowExecutionStart(_NetworkChunkBase):
    """``workflow-execution-start``: a workflow starts."""

    type: Literal["workflow-execution-start"] = "workflow-execution-start"
    payload: WorkflowExecutionStartPayload


class WorkflowExecutionEnd(_NetworkChunkBase):
    """``workflow-execution-end``: a workflow finished."""

    type: Literal["workflow-execution-end"] = "workflow-execution-end"
    payload: WorkflowExecutionEndPayload


class ToolExecutionStart(_NetworkChunkBase):
    """``tool-execution-start``: a tool starts."""

    type: Literal["tool-execution-start"] = "tool-execution-start"
    payload: ToolExecutionStartPayload


class ToolExecutionEnd(_NetworkChunkBase):
    """``tool-execution-end``: a tool finished."""

    type: Literal["tool-execution-end"] = "tool-execution-end"
    payload: ToolExecutionEndPayload


class NetworkValidationStart(_NetworkChunkBase):
    """``network-validation-start``: the completion check starts."""

    type: Literal["network-validation-start"] = "network-validation-start"
    payload: NetworkValidationStartPayload


class NetworkValidationEnd(_NetworkChunkBase):
    """``network-validation-end``: the completion check's verdict."""

    type: Literal["network-validation-end"] = "network-validation-end"
    payload: NetworkValidationEndPayload


class NetworkStepFinish(_NetworkChunkBase):
    """``network-execution-event-step-finish``: the router chose ``none``."""

    type: Literal["network-execution-event-step-finish"] = "network-execution-event-step-finish"
    payload: NetworkStepFinishPayload


class NetworkFinish(_NetworkChunkBase):
    """``network-execution-event-finish``: the last chunk of a network run."""

    type: Literal["network-execution-event-finish"] = "network-execution-event-finish"
    payload: NetworkFinishPayload


class WrappedChunk(_NetworkChunkBase):
    """A chunk carried whole inside another stream: ``<prefix><inner type>``.

    Built by :func:`rxagents.operators.prefix_events`; the network wraps sub-agent chunks as
    ``agent-execution-event-*`` and workflow chunks as ``workflow-execution-event-*``.
    """

    type: str
    payload: Chunk
    """The inner chunk, whole."""

    @property
    def prefix(self) -> str:
        """The prefix in front of the inner chunk's type."""
        return self.type[: len(self.type) - len(self.payload.type)]


NetworkChunk = (
    RoutingAgentStart
    | RoutingAgentEnd
    | RoutingAgentTextStart
    | RoutingAgentTextDelta
    | AgentExecutionStart
    | AgentExecutionEnd
    | WorkflowExecutionStart
    | WorkflowExecutionEnd
    | ToolExecutionStart
    | ToolExecutionEnd
    | NetworkValidationStart
    | NetworkValidationEnd
    | NetworkStepFinish
    | NetworkFinish
)
"""Every network chunk class (wrapped chunks excluded)."""
