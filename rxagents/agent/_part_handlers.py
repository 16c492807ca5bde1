"""How an agent run turns its model's parts into chunks: blocks, tool input, tool calls.

:class:`PartHandlers` is the part of the run's state machine that reacts to one model part at a
time (the text-delta hot path stays in the run itself); ``HANDLERS`` maps a part type to its
handler.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import MISSING

from rxagents._core.wire import trusted_builder
from rxagents.agent._step_state import PendingCall, StepState
from rxagents.events import (
    AgentChunk,
    ErrorInfo,
    ReasoningDelta,
    ReasoningDeltaPayload,
    ReasoningEnd,
    ReasoningStart,
    TextBlockPayload,
    TextEnd,
    TextStart,
    ToolCall,
    ToolCallDelta,
    ToolCallDeltaPayload,
    ToolCallInputStreamingEnd,
    ToolCallInputStreamingEndPayload,
    ToolCallInputStreamingStart,
    ToolCallInputStreamingStartPayload,
    ToolCallPayload,
)

__all__ = ("HANDLERS", "PartHandlers")

_reasoning_delta = trusted_builder(ReasoningDelta, "run_id", "payload")
_text_start = trusted_builder(TextStart, "run_id", "payload")
_text_end = trusted_builder(TextEnd, "run_id", "payload")
_block_payload = trusted_builder(TextBlockPayload, "id")
_block_end_payload = trusted_builder(TextBlockPayload, "id", extras=("type",))
_reasoning_delta_payload = trusted_builder(ReasoningDeltaPayload, "id", "text")
_tool_call_delta = trusted_builder(ToolCallDelta, "run_id", "payload")
_tool_call_delta_payload = trusted_builder(
    ToolCallDeltaPayload, "tool_call_id", "tool_name", "args_text_delta"
)

_FINISH_REASONS = frozenset(
    {"stop", "length", "content-filter", "tool-calls", "error", "other", "tripwire"}
)


class PartHandlers(ABC):
    """The model-part handlers of an agent run (its base class)."""

    run_id: str
    _step: StepState
    _emit: Callable[[AgentChunk], None]

    @abstractmethod
    def _fail(self, error: ErrorInfo, *, typed: bool = False) -> None:
        """End the step and the run after a model failure."""

    def _block_payload(self, part: Any, extra_type: str | None = None) -> TextBlockPayload:
        metadata = getattr(part, "provider_metadata", MISSING)
        if metadata is MISSING:
            if extra_type is None:
                return _block_payload(part.id)
            return _block_end_payload(part.id, extra_type)
        fields: dict[str, Any] = {"id": part.id}
        if extra_type is not None:
            fields["type"] = extra_type  # Mastra repeats the chunk type in text-end payloads
        fields["provider_metadata"] = metadata
        return TextBlockPayload(**fields)

    def _on_text_start(self, part: Any) -> None:
        if not self._step.blocks.open(part.id, "text"):
            return
        self._emit(_text_start(self.run_id, self._block_payload(part)))

    def _reasoning_block(self, part: Any) -> dict[str, Any]:
        """The recorded reasoning block of ``part.id``, with its provider metadata merged in.

        Providers sign reasoning (Anthropic's thinking signature arrives on ``reasoning-end``);
        the signature must go back with the reasoning in the next call's prompt.
        """
        block = self._step.reasoning_blocks.setdefault(part.id, {"text": []})
        metadata = getattr(part, "provider_metadata", MISSING)
        if metadata is not MISSING and isinstance(metadata, dict):
            merged = block.setdefault("meta", {})
            for provider, values in metadata.items():
                if isinstance(values, dict):
                    merged.setdefault(provider, {}).update(values)
                else:
                    merged[provider] = values
        return block

    def _on_reasoning_start(self, part: Any) -> None:
        if not self._step.blocks.open(part.id, "reasoning"):
            return
        self._reasoning_block(part)
        self._emit(ReasoningStart(run_id=self.run_id, payload=self._block_payload(part)))

    def _on_reasoning_delta(self, part: Any) -> None:
        if not part.delta:
            return
        step = self._step
        if not step.blocks.is_open(part.id, "reasoning"):
            self._on_reasoning_start(part)
        step.reasoning.append(part.delta)
        self._reasoning_block(part)["text"].append(part.delta)
        if part.provider_metadata is MISSING:
            payload = _reasoning_delta_payload(part.id, part.delta)
        else:
            payload = ReasoningDeltaPayload.model_validate(
                {"id": part.id, "text": part.delta, "providerMetadata": part.provider_metadata}
            )
        self._emit(_reasoning_delta(self.run_id, payload))

    def _on_block_end(self, part: Any) -> None:
        kind = self._step.blocks.close(part.id, "text")
        if kind is None:
            return
        if kind == "reasoning":
            self._reasoning_block(part)
        if kind == "text":
            self._emit(_text_end(self.run_id, self._block_payload(part, "text-end")))
        else:
            self._emit(ReasoningEnd(run_id=self.run_id, payload=self._block_payload(part)))

    def _close_blocks(self) -> None:
        self._step.input_names.clear()
        for chunk in self._step.blocks.closing_chunks(self.run_id):
            self._emit(chunk)

    def _on_tool_input_start(self, part: Any) -> None:
        step = self._step
        if not step.blocks.open(part.id, "tool-input"):
            return
        step.input_names[part.id] = part.tool_name
        fields: dict[str, Any] = {"tool_call_id": part.id, "tool_name": part.tool_name}
        if part.provider_metadata is not MISSING:
            fields["provider_metadata"] = part.provider_metadata
            step.input_metadata[part.id] = part.provider_metadata
        self._emit(
            ToolCallInputStreamingStart(
                run_id=self.run_id, payload=ToolCallInputStreamingStartPayload(**fields)
            )
        )

    def _on_tool_input_delta(self, part: Any) -> None:
        name = self._step.input_names.get(part.id)
        if name is None or not part.delta:
            return
        self._emit(
            _tool_call_delta(self.run_id, _tool_call_delta_payload(part.id, name, part.delta))
        )

    def _on_tool_input_end(self, part: Any) -> None:
        if self._step.blocks.close(part.id, "tool-input") is None:
            return
        self._step.input_names.pop(part.id, None)
        fields: dict[str, Any] = {"tool_call_id": part.id}
        metadata = getattr(part, "provider_metadata", MISSING)
        if metadata is not MISSING:
            fields["provider_metadata"] = metadata
        self._emit(
            ToolCallInputStreamingEnd(
                run_id=self.run_id, payload=ToolCallInputStreamingEndPayload(**fields)
            )
        )

    def _on_tool_call(self, part: Any) -> None:
        if self._step.blocks.is_open(part.tool_call_id, "tool-input"):
            self._on_tool_input_end(_IdOnly(part.tool_call_id))
        call = PendingCall(part.tool_call_id, part.tool_name, MISSING)
        # Mastra keeps the metadata of the call's streamed input, else the call's own
        call.provider_metadata = self._step.input_metadata.get(
            part.tool_call_id, part.provider_metadata
        )
        try:
            call.args = json.loads(part.input) if part.input.strip() else {}
        except ValueError as err:
            call.parse_error = f"the tool input is not valid JSON: {err}"
        self._step.calls.append(call)
        fields: dict[str, Any] = {"tool_call_id": call.tool_call_id, "tool_name": call.tool_name}
        if call.args is not MISSING:
            fields["args"] = call.args
        if call.provider_metadata is not MISSING:
            fields["provider_metadata"] = call.provider_metadata
        self._emit(ToolCall(run_id=self.run_id, payload=ToolCallPayload(**fields)))

    def _on_finish_part(self, part: Any) -> None:
        reason = part.finish_reason
        step = self._step
        step.reason = reason if reason in _FINISH_REASONS else "other"
        step.usage = part.usage
        extra = part.usage.model_extra
        step.raw_usage = (
            extra["raw"] if extra and "raw" in extra else part.usage.model_dump(by_alias=True)
        )
        step.provider_metadata = part.provider_metadata

    def _on_error_part(self, part: Any) -> None:
        self._fail(ErrorInfo.from_value(part.error), typed=True)

    def _on_response_metadata(self, part: Any) -> None:
        self._step.response = part.model_dump(exclude={"type"})

    def _on_stream_start(self, part: Any) -> None:
        self._step.warnings = list(part.warnings)


HANDLERS: dict[str, Callable[[PartHandlers, Any], None]] = {
    "text-start": PartHandlers._on_text_start,
    "text-end": PartHandlers._on_block_end,
    "reasoning-start": PartHandlers._on_reasoning_start,
    "reasoning-delta": PartHandlers._on_reasoning_delta,
    "reasoning-end": PartHandlers._on_block_end,
    "tool-input-start": PartHandlers._on_tool_input_start,
    "tool-input-delta": PartHandlers._on_tool_input_delta,
    "tool-input-end": PartHandlers._on_tool_input_end,
    "tool-call": PartHandlers._on_tool_call,
    "finish": PartHandlers._on_finish_part,
    "error": PartHandlers._on_error_part,
    "response-metadata": PartHandlers._on_response_metadata,
    "stream-start": PartHandlers._on_stream_start,
}
"""Model part type → handler; a class-level table, so a run holds no cycle through it."""


@dataclass
class _IdOnly:
    id: str
