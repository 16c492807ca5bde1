"""What the stream objects read of a run, for remote runs: agent and network runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel
from reactivex import Observable, abc

from rxagents.errors import MalformedStreamError
from rxagents.events import (
    Abort,
    AgentChunk,
    Chunk,
    NetworkFinish,
    ReasoningEnd,
    TextBlockPayload,
    TextEnd,
    ToolCallInputStreamingEnd,
    ToolCallInputStreamingEndPayload,
)
from rxagents.operators import usage_of
from rxagents.usage import Usage

__all__ = ("RemoteAgentRun", "RemoteNetworkRun")

_ENDINGS = frozenset({"finish", "abort", "tool-call-approval", "tool-call-suspended"})
"""The chunks an agent stream may end with (a paused run ends with its pause chunks)."""


class RemoteAgentRun:
    """What :class:`~rxagents.agent.AgentStream` reads of a run, for a remote one."""

    output: type[BaseModel] | None = None  # the client sends no structured-output schema
    object: Any = None
    object_error: Exception | None = None

    def __init__(
        self,
        source: Observable[Chunk],
        run_id: str,
        *,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self._on_cancel = on_cancel
        self._source = source
        self._chunks: list[Chunk] = []
        self._open: dict[str, str] = {}
        self._ended = False

    def subscribe(self, observer: abc.ObserverBase[AgentChunk], /) -> abc.DisposableBase:
        """Start the request; the disposable closes it."""
        chunks = self._chunks
        opened = self._open

        def on_next(chunk: Any) -> None:
            if not chunks:
                self.run_id = chunk.run_id or self.run_id
            chunks.append(chunk)
            kind = chunk.type
            if kind in ("text-start", "reasoning-start"):
                opened[chunk.payload.id] = kind
            elif kind in ("text-end", "reasoning-end"):
                opened.pop(chunk.payload.id, None)
            elif kind == "tool-call-input-streaming-start":
                opened[chunk.payload.tool_call_id] = kind
            elif kind in ("tool-call-input-streaming-end", "tool-call"):
                opened.pop(chunk.payload.tool_call_id, None)
            elif kind in _ENDINGS:
                self._ended = True
            observer.on_next(chunk)

        def on_error(error: Exception) -> None:
            self._ended = True
            observer.on_error(error)

        def on_completed() -> None:
            self._ended = True
            if chunks and chunks[-1].type not in _ENDINGS:
                observer.on_error(
                    MalformedStreamError("the remote agent stream ended without 'finish'")
                )
                return
            observer.on_completed()

        return self._source.subscribe(on_next, on_error, on_completed)

    def closing_chunks(self) -> list[AgentChunk]:
        """Chunks that close what is open, then ``abort`` (when the stream is cancelled).

        Also asks the server to cancel the run (``on_cancel``), as the run goes on there
        otherwise for the server's orphan grace.
        """
        if self._ended:
            return []
        if self._on_cancel is not None:
            self._on_cancel()
        run_id = self.run_id
        closing: list[AgentChunk] = []
        for block, kind in self._open.items():
            if kind == "text-start":
                closing.append(
                    TextEnd(run_id=run_id, payload=TextBlockPayload(id=block, type="text-end"))
                )
            elif kind == "reasoning-start":
                closing.append(ReasoningEnd(run_id=run_id, payload=TextBlockPayload(id=block)))
            else:
                payload = ToolCallInputStreamingEndPayload(tool_call_id=block)
                closing.append(ToolCallInputStreamingEnd(run_id=run_id, payload=payload))
        closing.append(Abort(run_id=run_id))
        return closing

    @property
    def response_messages(self) -> list[dict[str, Any]]:
        """The assistant and tool messages, rebuilt from the chunks received."""
        return _messages_of(self._chunks)


def _messages_of(chunks: Sequence[Chunk]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    text: list[str] = []
    reasoning: list[str] = []

    def flush() -> None:
        if reasoning:
            content.insert(0, {"type": "reasoning", "text": "".join(reasoning)})
        if text:
            content.insert(1 if reasoning else 0, {"type": "text", "text": "".join(text)})
        if content:
            messages.append({"role": "assistant", "content": list(content)})
        if results:
            messages.append({"role": "tool", "content": list(results)})
        content.clear()
        results.clear()
        text.clear()
        reasoning.clear()

    for chunk in chunks:
        kind = chunk.type
        payload: Any = chunk.payload
        if kind == "text-delta":
            text.append(payload.text)
        elif kind == "reasoning-delta":
            reasoning.append(payload.text)
        elif kind == "tool-call":
            args = payload.args if isinstance(payload.args, dict) else {}
            content.append(
                {
                    "type": "tool-call",
                    "toolCallId": payload.tool_call_id,
                    "toolName": payload.tool_name,
                    "input": args,
                }
            )
        elif kind in ("tool-result", "tool-error"):
            output = (
                {"type": "json", "value": payload.result}
                if kind == "tool-result"
                else {"type": "error-text", "value": payload.error.message}
            )
            results.append(
                {
                    "type": "tool-result",
                    "toolCallId": payload.tool_call_id,
                    "toolName": payload.tool_name,
                    "output": output,
                }
            )
        elif kind in ("step-finish", "abort"):
            flush()
    flush()
    return messages


class _NetworkState:
    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id


class RemoteNetworkRun:
    """What :class:`~rxagents.network.NetworkStream` reads of a run, for a remote one."""

    def __init__(self, source: Observable[Chunk], run_id: str, thread_id: str) -> None:
        self.run_id = run_id
        self.state = _NetworkState(thread_id)
        self.usage = Usage.zero
        self.finish: NetworkFinish | None = None
        self._source = source

    def subscribe(self, observer: abc.ObserverBase[Chunk], /) -> abc.DisposableBase:
        """Start the request; the disposable closes it."""
        first = True

        def on_next(chunk: Any) -> None:
            nonlocal first
            if first:
                first = False
                self.run_id = chunk.run_id or self.run_id
            counted = usage_of(chunk)
            if counted is not None:
                self.usage = self.usage + counted
            if isinstance(chunk, NetworkFinish):
                self.finish = chunk
                thread = chunk.payload.thread_id
                if isinstance(thread, str):
                    self.state.thread_id = thread
            observer.on_next(chunk)

        def on_completed() -> None:
            if self.finish is None:
                observer.on_error(
                    MalformedStreamError(
                        "the remote network stream ended without 'network-execution-event-finish'"
                    )
                )
                return
            observer.on_completed()

        return self._source.subscribe(on_next, observer.on_error, on_completed)

    def closing_chunks(self) -> list[Chunk]:
        """``abort`` (when the stream is cancelled before it finished)."""
        if self.finish is not None:
            return []
        return [Abort(run_id=self.run_id, from_="NETWORK")]
