"""Decode an Anthropic Messages event stream into model parts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rxagents._core.http import DEFAULT_MAX_EVENT_SIZE, SSEEvent
from rxagents._core.wire import trusted_builder
from rxagents.errors import MalformedStreamError, ProviderError
from rxagents.models._http_request import redact
from rxagents.models._parts import (
    FinishPart,
    ModelPart,
    ReasoningDeltaPart,
    ReasoningEndPart,
    ReasoningStartPart,
    ResponseMetadataPart,
    TextDeltaPart,
    TextEndPart,
    TextStartPart,
    ToolCallPart,
    ToolInputDeltaPart,
    ToolInputEndPart,
    ToolInputStartPart,
)
from rxagents.models.providers._common import json_text
from rxagents.models.providers._sse_json import SSEJsonDecoder
from rxagents.usage import Usage

__all__ = ("AnthropicStreamDecoder",)

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool-calls",
    "refusal": "content-filter",
}

_text_delta = trusted_builder(TextDeltaPart, "id", "delta")
_reasoning_delta = trusted_builder(ReasoningDeltaPart, "id", "delta")
_tool_delta = trusted_builder(ToolInputDeltaPart, "id", "delta")

_Kind = Literal["text", "reasoning", "tool", "json", "other"]


@dataclass
class _Block:
    kind: _Kind
    id: str
    name: str = ""
    pieces: list[str] = field(default_factory=list)
    initial_input: str = ""
    signature: str = ""
    redacted: str | None = None


class AnthropicStreamDecoder(SSEJsonDecoder):
    """One response's decoding state.

    Content blocks map one to one: ``text`` to ``text-start/-delta/-end`` (id ``txt-<index>``),
    ``thinking`` to ``reasoning-*`` (the signature travels in ``reasoning-end``'s provider
    metadata), ``tool_use`` to ``tool-input-start/-delta/-end`` then ``tool-call`` at the
    block's end. The forced structured-output tool (``json_tool``) is streamed as text instead,
    so the agent sees the JSON answer as the step's text. ``finish`` follows ``message_stop``.
    """

    def __init__(
        self,
        provider: str,
        secrets: Sequence[str] = (),
        *,
        json_tool: str | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        super().__init__(provider, secrets, max_event_size=max_event_size)
        self._json_tool = json_tool

    def _start(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self._stop_reason: str | None = None
        self._usage: dict[str, int] = {}
        self._called_tools = False
        self._answered_json = False

    @property
    def is_complete(self) -> bool:
        """Whether the body may end here: ``message_stop`` or a stop reason was seen."""
        return self._done or self._stop_reason is not None

    def _on_sse(self, event: SSEEvent, parts: list[ModelPart]) -> None:
        self._on_event(event.event, self._decode(event.data), parts)

    def end(self) -> list[ModelPart]:
        """Close blocks left open and emit ``finish``."""
        parts: list[ModelPart] = []
        for index in sorted(self._blocks):
            self._stop_block(index, parts)
        reason = _STOP_REASONS.get(self._stop_reason or "", "other")
        if reason == "tool-calls" and self._answered_json and not self._called_tools:
            reason = "stop"  # the structured-output tool is the answer, not a tool call
        usage = self._usage
        cache_read = usage.get("cache_read_input_tokens")
        cache_creation = usage.get("cache_creation_input_tokens")
        fields: dict[str, Any] = {
            # Anthropic's input_tokens excludes cached tokens; ours includes them, as OpenAI's.
            "input_tokens": usage.get("input_tokens", 0)
            + (cache_read or 0)
            + (cache_creation or 0),
            "output_tokens": usage.get("output_tokens", 0),
        }
        if cache_read is not None:
            fields["cached_input_tokens"] = cache_read
        if cache_creation is not None:
            fields["cache_creation_input_tokens"] = cache_creation
        if "thinking_tokens" in usage:
            fields["reasoning_tokens"] = usage["thinking_tokens"]
        parts.append(FinishPart(finish_reason=reason, usage=Usage(**fields)))
        return parts

    # --- events ---------------------------------------------------------------------------

    def _on_event(self, name: str, event: dict[str, Any], parts: list[ModelPart]) -> None:
        kind = event.get("type", name)
        if kind == "content_block_delta":
            self._on_delta(event, parts)
        elif kind == "content_block_start":
            self._on_start(event, parts)
        elif kind == "content_block_stop":
            self._stop_block(self._index(event), parts)
        elif kind == "message_start":
            message = event.get("message")
            message = message if isinstance(message, dict) else {}
            self._add_usage(message.get("usage"))
            fields: dict[str, Any] = {}
            if isinstance(message.get("id"), str):
                fields["id"] = message["id"]
            if isinstance(message.get("model"), str):
                fields["model_id"] = message["model"]
            parts.append(ResponseMetadataPart(**fields))
        elif kind == "message_delta":
            delta = event.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self._stop_reason = delta["stop_reason"]
            self._add_usage(event.get("usage"))
        elif kind == "message_stop":
            self._done = True
        elif kind == "error":
            raise self._stream_error(event.get("error"))
        # ping and event types added later are ignored

    def _index(self, event: Mapping[str, Any]) -> int:
        index = event.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise MalformedStreamError(f"{self._provider} sent a content block without an index")
        return index

    def _on_start(self, event: dict[str, Any], parts: list[ModelPart]) -> None:
        index = self._index(event)
        block = event.get("content_block")
        block = block if isinstance(block, dict) else {}
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = _Block("text", f"txt-{index}")
            parts.append(TextStartPart(id=f"txt-{index}"))
            if isinstance(block.get("text"), str) and block["text"]:
                parts.append(_text_delta(f"txt-{index}", block["text"]))
        elif kind in ("thinking", "redacted_thinking"):
            state = _Block("reasoning", f"reasoning-{index}")
            self._blocks[index] = state
            if kind == "redacted_thinking":
                state.redacted = str(block.get("data", ""))
            parts.append(ReasoningStartPart(id=state.id))
            if isinstance(block.get("thinking"), str) and block["thinking"]:
                parts.append(_reasoning_delta(state.id, block["thinking"]))
        elif kind == "tool_use":
            name = block.get("name")
            if not isinstance(name, str) or not name:
                raise MalformedStreamError(f"{self._provider} sent a tool_use block without name")
            call_id = block.get("id")
            call_id = call_id if isinstance(call_id, str) and call_id else f"toolu_{index}"
            initial = block.get("input")
            initial_text = json_text(initial) if initial else ""
            if name == self._json_tool:
                self._answered_json = True
                self._blocks[index] = _Block("json", f"txt-{index}", initial_input=initial_text)
                parts.append(TextStartPart(id=f"txt-{index}"))
            else:
                self._called_tools = True
                self._blocks[index] = _Block("tool", call_id, name, initial_input=initial_text)
                parts.append(ToolInputStartPart(id=call_id, tool_name=name))
        else:
            self._blocks[index] = _Block("other", str(index))

    def _on_delta(self, event: dict[str, Any], parts: list[ModelPart]) -> None:
        block = self._blocks.get(self._index(event))
        delta = event.get("delta")
        if block is None or not isinstance(delta, dict):
            return
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            if isinstance(text, str) and text and block.kind == "text":
                parts.append(_text_delta(block.id, text))
        elif kind == "input_json_delta":
            piece = delta.get("partial_json")
            if not isinstance(piece, str) or not piece:
                return
            block.pieces.append(piece)
            if block.kind == "tool":
                parts.append(_tool_delta(block.id, piece))
            elif block.kind == "json":
                parts.append(_text_delta(block.id, piece))
        elif kind == "thinking_delta":
            thinking = delta.get("thinking")
            if isinstance(thinking, str) and thinking and block.kind == "reasoning":
                parts.append(_reasoning_delta(block.id, thinking))
        elif kind == "signature_delta" and isinstance(delta.get("signature"), str):
            block.signature += delta["signature"]

    def _stop_block(self, index: int, parts: list[ModelPart]) -> None:
        block = self._blocks.pop(index, None)
        if block is None:
            return
        if block.kind == "text":
            parts.append(TextEndPart(id=block.id))
        elif block.kind == "json":
            if not block.pieces and block.initial_input:
                parts.append(_text_delta(block.id, block.initial_input))
            parts.append(TextEndPart(id=block.id))
        elif block.kind == "reasoning":
            metadata: dict[str, Any] = {}
            if block.signature:
                metadata["signature"] = block.signature
            if block.redacted is not None:
                metadata["redactedData"] = block.redacted
            if metadata:
                parts.append(
                    ReasoningEndPart(id=block.id, provider_metadata={"anthropic": metadata})
                )
            else:
                parts.append(ReasoningEndPart(id=block.id))
        elif block.kind == "tool":
            parts.append(ToolInputEndPart(id=block.id))
            arguments = "".join(block.pieces) or block.initial_input or "{}"
            parts.append(ToolCallPart(tool_call_id=block.id, tool_name=block.name, input=arguments))

    def _add_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        for key in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ):
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                self._usage[key] = value  # message_delta's counts are cumulative
        details = usage.get("output_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("thinking_tokens"), int):
            self._usage["thinking_tokens"] = details["thinking_tokens"]

    def _stream_error(self, error: Any) -> ProviderError:
        message: Any = error
        kind: Any = None
        if isinstance(error, dict):
            message = error.get("message") or json_text(error)
            kind = error.get("type")
        text = f"{self._provider} reported an error in the stream: {message}"
        if isinstance(kind, str) and kind:
            text += f" ({kind})"
        return ProviderError(redact(text, self._secrets), provider=self._provider)
