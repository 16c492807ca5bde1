"""rxagents: Mastra-style streaming agents, workflows and networks on ReactiveX.

Every run is an Observable of typed chunks with Mastra's wire shape; operators compose them,
adapters turn them into async iterables, SSE and the AI SDK UI message stream at the edge.
"""

from rxagents.errors import ChunkParseError as ChunkParseError
from rxagents.errors import RxAgentsError as RxAgentsError
from rxagents.events import Chunk as Chunk
from rxagents.events import parse_chunk as parse_chunk
from rxagents.usage import Usage as Usage

__all__ = (
    "Chunk",
    "ChunkParseError",
    "RxAgentsError",
    "Usage",
    "parse_chunk",
)

__version__ = "0.1.0"
