"""Networks: an agent routing a task over its agents, workflows and tools, with memory.

``await agent.network(task, memory={"thread": ..., "resource": ...})`` gives a
:class:`NetworkStream`; ``agent.observe_network(task, ...)`` the cold Observable. Each
iteration the agent's model picks a primitive (:class:`RoutingDecision`), the primitive runs
(its stream wrapped as ``agent-execution-event-*`` / ``workflow-execution-event-*``), and the
model checks whether the task is complete (:class:`CompletionVerdict`); the run ends when a check
passes or once iteration ``max_steps`` (from 0) has run, with ``network-execution-event-finish``
(:class:`NetworkResult`).
"""

from rxagents.network._schemas import CHECK_FORMAT as CHECK_FORMAT
from rxagents.network._schemas import ROUTING_FORMAT as ROUTING_FORMAT
from rxagents.network._schemas import CompletionVerdict as CompletionVerdict
from rxagents.network._schemas import NetworkResult as NetworkResult
from rxagents.network._schemas import NetworkStatus as NetworkStatus
from rxagents.network._schemas import RoutingDecision as RoutingDecision
from rxagents.network._stream import NetworkSource as NetworkSource
from rxagents.network._stream import NetworkStream as NetworkStream

__all__ = (
    "CHECK_FORMAT",
    "ROUTING_FORMAT",
    "CompletionVerdict",
    "NetworkResult",
    "NetworkSource",
    "NetworkStatus",
    "NetworkStream",
    "RoutingDecision",
)
