"""Agents: the tool loop, tools, and the shared replaying stream."""

from rxagents.agent._agent import Agent as Agent
from rxagents.agent._agent import AgentResult as AgentResult
from rxagents.agent._blocks import OpenBlocks as OpenBlocks
from rxagents.agent._stream import AgentSource as AgentSource
from rxagents.agent._stream import AgentStep as AgentStep
from rxagents.agent._stream import AgentStream as AgentStream
from rxagents.agent._suspend import SuspendedRun as SuspendedRun
from rxagents.agent._suspend import SuspendedToolCall as SuspendedToolCall
from rxagents.agent.protocol import AgentLike as AgentLike
from rxagents.agent.protocol import WorkflowLike as WorkflowLike
from rxagents.agent.tools import Tool as Tool
from rxagents.agent.tools import ToolContext as ToolContext
from rxagents.agent.tools import ToolDefinitionWarning as ToolDefinitionWarning
from rxagents.agent.tools import ToolSuspended as ToolSuspended
from rxagents.agent.tools import ToolWriter as ToolWriter
from rxagents.agent.tools import tool as tool

__all__ = (
    "Agent",
    "AgentLike",
    "AgentResult",
    "AgentSource",
    "AgentStep",
    "AgentStream",
    "OpenBlocks",
    "SuspendedRun",
    "SuspendedToolCall",
    "Tool",
    "ToolContext",
    "ToolDefinitionWarning",
    "ToolSuspended",
    "ToolWriter",
    "WorkflowLike",
    "tool",
)
