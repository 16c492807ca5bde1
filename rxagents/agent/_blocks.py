"""The blocks of an agent stream that are open, and the chunks that close them.

Every way an agent run can be stopped early — a local run cancelled, a model that fails
mid-block, a remote or observed run cancelled by its reader — closes what is open the same way:
``text-end`` / ``reasoning-end`` for open text and reasoning blocks, then
``tool-call-input-streaming-end`` for streamed tool input, before ``error`` or ``abort``.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from rxagents.events import (
    AgentChunk,
    ReasoningEnd,
    TextBlockPayload,
    TextEnd,
    ToolCallInputStreamingEnd,
    ToolCallInputStreamingEndPayload,
)

__all__ = ("BlockKind", "OpenBlocks", "block_end_chunk")

BlockKind = Literal["text", "reasoning", "tool-input"]
"""What kind of block is open."""

_OPENED: Final[dict[str, BlockKind]] = {
    "text-start": "text",
    "reasoning-start": "reasoning",
    "tool-call-input-streaming-start": "tool-input",
}
_CLOSED: Final = frozenset({"text-end", "reasoning-end", "tool-call-input-streaming-end"})


def block_end_chunk(run_id: str, block_id: str, kind: BlockKind) -> AgentChunk:
    """Return the chunk that closes an open block of ``kind``."""
    if kind == "text":
        return TextEnd(run_id=run_id, payload=TextBlockPayload(id=block_id, type="text-end"))
    if kind == "reasoning":
        return ReasoningEnd(run_id=run_id, payload=TextBlockPayload(id=block_id))
    return ToolCallInputStreamingEnd(
        run_id=run_id, payload=ToolCallInputStreamingEndPayload(tool_call_id=block_id)
    )


class OpenBlocks:
    """Which text, reasoning and tool-input blocks are open.

    Text and reasoning blocks are keyed by block id, streamed tool inputs by tool call id (two
    namespaces: a text block and a tool call may share an id).
    """

    __slots__ = ("_blocks", "_inputs")

    def __init__(self) -> None:
        self._blocks: dict[str, BlockKind] = {}
        self._inputs: set[str] = set()

    def is_open(self, block_id: str, kind: BlockKind) -> bool:
        """Whether a block of that kind's namespace is open under ``block_id``."""
        return block_id in self._inputs if kind == "tool-input" else block_id in self._blocks

    def open(self, block_id: str, kind: BlockKind) -> bool:
        """Mark a block open; ``False`` when it already was."""
        if self.is_open(block_id, kind):
            return False
        if kind == "tool-input":
            self._inputs.add(block_id)
        else:
            self._blocks[block_id] = kind
        return True

    def close(self, block_id: str, kind: BlockKind) -> BlockKind | None:
        """Mark a block closed; return its kind, or ``None`` when it was not open."""
        if kind == "tool-input":
            if block_id not in self._inputs:
                return None
            self._inputs.discard(block_id)
            return kind
        return self._blocks.pop(block_id, None)

    def track(self, chunk: Any) -> None:
        """Follow a chunk of a stream seen from outside (an observed or remote run)."""
        kind = chunk.type
        opened = _OPENED.get(kind)
        if opened == "tool-input":
            self._inputs.add(chunk.payload.tool_call_id)
        elif opened is not None:
            self._blocks.setdefault(chunk.payload.id, opened)
        elif kind in (_TOOL_INPUT_END, "tool-call"):
            self._inputs.discard(chunk.payload.tool_call_id)
        elif kind in _CLOSED:
            self._blocks.pop(chunk.payload.id, None)

    def closing_chunks(self, run_id: str) -> list[AgentChunk]:
        """The chunks that close every open block (text and reasoning first); then none is open."""
        chunks = [block_end_chunk(run_id, bid, kind) for bid, kind in self._blocks.items()]
        chunks += [block_end_chunk(run_id, bid, "tool-input") for bid in self._inputs]
        self._blocks.clear()
        self._inputs.clear()
        return chunks


_TOOL_INPUT_END: Final = "tool-call-input-streaming-end"
