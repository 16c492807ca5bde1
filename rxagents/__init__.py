"""rxagents: Mastra-style streaming agents, workflows and networks on ReactiveX.

Every run is an Observable of typed chunks with Mastra's wire shape; operators compose them,
adapters turn them into async iterables, SSE and the AI SDK UI message stream at the edge.

The layers, each importing only those below it (ARCHITECTURE.md; ``tests/test_layers.py``)::

    cli
    adapters (server/, client/, ai_sdk/, sse, async iterables)
    runtime
    network  ◄─┐  Agent.network(): the one sanctioned circle
    workflow   │
    agent   ───┘
    memory
    models · operators · storage · eventlog · testing
    events · usage
    _core (wire base, Rx plumbing, RunStream, invoke, clock, HTTP)
    errors
"""

from rxagents.agent import Agent as Agent
from rxagents.agent import AgentResult as AgentResult
from rxagents.agent import AgentStream as AgentStream
from rxagents.agent import Tool as Tool
from rxagents.agent import ToolContext as ToolContext
from rxagents.agent import tool as tool
from rxagents.errors import ChunkParseError as ChunkParseError
from rxagents.errors import ConfigurationError as ConfigurationError
from rxagents.errors import InvalidInputError as InvalidInputError
from rxagents.errors import RunError as RunError
from rxagents.errors import RxAgentsError as RxAgentsError
from rxagents.errors import UserError as UserError
from rxagents.eventlog import EventLog as EventLog
from rxagents.eventlog import InMemoryEventLog as InMemoryEventLog
from rxagents.eventlog import RedisEventLog as RedisEventLog
from rxagents.events import Chunk as Chunk
from rxagents.events import parse_chunk as parse_chunk
from rxagents.memory import Memory as Memory
from rxagents.network import NetworkResult as NetworkResult
from rxagents.network import NetworkStream as NetworkStream
from rxagents.runtime import Runtime as Runtime
from rxagents.storage import InMemoryStorage as InMemoryStorage
from rxagents.storage import PostgresStorage as PostgresStorage
from rxagents.storage import SqliteStorage as SqliteStorage
from rxagents.storage import Storage as Storage
from rxagents.usage import Usage as Usage
from rxagents.workflow import Step as Step
from rxagents.workflow import StepContext as StepContext
from rxagents.workflow import Workflow as Workflow
from rxagents.workflow import WorkflowResult as WorkflowResult
from rxagents.workflow import WorkflowRun as WorkflowRun
from rxagents.workflow import WorkflowStream as WorkflowStream

__all__ = (
    "Agent",
    "AgentResult",
    "AgentStream",
    "Chunk",
    "ChunkParseError",
    "ConfigurationError",
    "EventLog",
    "InMemoryEventLog",
    "InMemoryStorage",
    "InvalidInputError",
    "Memory",
    "NetworkResult",
    "NetworkStream",
    "PostgresStorage",
    "RedisEventLog",
    "RunError",
    "Runtime",
    "RxAgentsError",
    "SqliteStorage",
    "Step",
    "StepContext",
    "Storage",
    "Tool",
    "ToolContext",
    "Usage",
    "UserError",
    "Workflow",
    "WorkflowResult",
    "WorkflowRun",
    "WorkflowStream",
    "parse_chunk",
    "tool",
)

__version__ = "0.1.0"
