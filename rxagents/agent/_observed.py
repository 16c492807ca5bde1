"""A run of any :class:`AgentLike` seen through its chunks: run ids set, closing chunks known."""

from __future__ import annotations

from typing import Any

from reactivex import Observable
from reactivex import operators as ops

from rxagents.agent._blocks import OpenBlocks
from rxagents.events import Abort, AgentChunk, Chunk

__all__ = ("ObservedRun",)


class ObservedRun:
    """One run of an agent known only by its Observable (a remote agent, say).

    Every chunk is given ``run_id`` (a network names the execution before it starts, as Mastra
    does), and the open text, reasoning and tool-input blocks are tracked so that a cancelled
    run can be closed like a local one: ``*-end`` for what is open, then ``abort``.
    """

    def __init__(self, source: Observable[Chunk], run_id: str) -> None:
        self.run_id = run_id
        self._source = source
        self._blocks = OpenBlocks()
        self._ended = False

    def observable(self) -> Observable[AgentChunk]:
        """The run's chunks, with ``run_id`` set (subscribe once)."""
        return self._source.pipe(ops.map(self._track))

    def _track(self, chunk: Any) -> AgentChunk:
        self._blocks.track(chunk)
        if chunk.type in ("finish", "abort"):
            self._ended = True
        if chunk.run_id != self.run_id:
            chunk = chunk.model_copy(update={"run_id": self.run_id})
        result: AgentChunk = chunk
        return result

    def closing_chunks(self) -> list[AgentChunk]:
        """Chunks that close what is open, then ``abort``; nothing once the run ended."""
        if self._ended:
            return []
        chunks = self._blocks.closing_chunks(self.run_id)
        chunks.append(Abort(run_id=self.run_id))
        return chunks
