"""Decode an OpenAI chat-completions event stream into model parts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rxagents._core.http import SSEEvent
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

__all__ = ("OpenAIStreamDecoder", "openai_usage")

TEXT_ID = "txt-0"
REASONING_ID = "reasoning-0"

_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
    "content_filter": "content-filter",
}

# Parts built from strings checked here: no re-validation per token (DESIGN section 4).
_text_delta = trusted_builder(TextDeltaPart, "id", "delta")
_reasoning_delta = trusted_builder(ReasoningDeltaPart, "id", "delta")
_tool_delta = trusted_builder(ToolInputDeltaPart, "id", "delta")


def openai_usage(usage: Mapping[str, Any]) -> Usage:
    """Map OpenAI's ``usage`` object to :class:`Usage`."""
    fields: dict[str, Any] = {
        "input_tokens": _int(usage.get("prompt_tokens")) or 0,
        "output_tokens": _int(usage.get("completion_tokens")) or 0,
    }
    total = _int(usage.get("total_tokens"))
    if total is not None:
        fields["total_tokens"] = total
    completion = usage.get("completion_tokens_details")
    if isinstance(completion, Mapping):
        reasoning = _int(completion.get("reasoning_tokens"))
        if reasoning is not None:
            fields["reasoning_tokens"] = reasoning
    prompt = usage.get("prompt_tokens_details")
    if isinstance(prompt, Mapping):
        cached = _int(prompt.get("cached_tokens"))
        if cached is not None:
            fields["cached_input_tokens"] = cached
    return Usage(**fields)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class _ToolCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    started: bool = False


class OpenAIStreamDecoder(SSEJsonDecoder):
    """One response's decoding state.

    Text is one block (``txt-0``), reasoning (``reasoning_content`` or ``reasoning``) another
    (``reasoning-0``, closed when text or a tool call starts); tool calls are keyed by
    ``index``: ``tool-input-start`` once id and name are known, a ``tool-input-delta`` per
    arguments fragment, and at the end of the stream ``tool-input-end`` and ``tool-call`` for
    each call in index order, then ``finish``.
    """

    _unit = "a stream chunk"

    def _start(self) -> None:
        self._finish_reason: str | None = None
        self._usage: Usage | None = None
        self._has_metadata = False
        self._text_open = False
        self._reasoning_open = False
        self._calls: dict[int, _ToolCall] = {}

    @property
    def is_complete(self) -> bool:
        """Whether the body may end here: ``[DONE]`` or a ``finish_reason`` was seen."""
        return self._done or self._finish_reason is not None

    def _on_sse(self, event: SSEEvent, parts: list[ModelPart]) -> None:
        if event.data == "[DONE]":
            self._done = True
            return
        self._on_chunk(self._decode(event.data), event.event, parts)

    def end(self) -> list[ModelPart]:
        """Close open blocks, emit the tool calls and ``finish``.

        Raises:
            MalformedStreamError: A tool call never received its name.
        """
        parts: list[ModelPart] = []
        self._close_reasoning(parts)
        if self._text_open:
            self._text_open = False
            parts.append(TextEndPart(id=TEXT_ID))
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call.started or call.id is None:
                raise MalformedStreamError(
                    f"{self._provider} streamed tool call #{index} without a function name"
                )
            parts.append(ToolInputEndPart(id=call.id))
            parts.append(
                ToolCallPart(
                    tool_call_id=call.id, tool_name=call.name, input="".join(call.arguments) or "{}"
                )
            )
        reason = self._finish_reason
        parts.append(
            FinishPart(
                finish_reason=_FINISH_REASONS.get(reason, "other") if reason else "other",
                usage=self._usage or Usage.zero,
            )
        )
        return parts

    # --- chunks ---------------------------------------------------------------------------

    def _on_chunk(self, chunk: dict[str, Any], event: str, parts: list[ModelPart]) -> None:
        error = chunk.get("error")
        if error or event == "error":
            raise self._stream_error(error if error else chunk)
        if not self._has_metadata:
            self._has_metadata = True
            parts.append(_metadata(chunk))
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self._usage = openai_usage(usage)
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n > 1 is not supported: the first choice is the answer
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._on_delta(delta, parts)
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self._finish_reason = reason

    def _on_delta(self, delta: dict[str, Any], parts: list[ModelPart]) -> None:
        reasoning = delta.get("reasoning_content")
        if not isinstance(reasoning, str) or not reasoning:
            reasoning = delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            if not self._reasoning_open:
                self._reasoning_open = True
                parts.append(ReasoningStartPart(id=REASONING_ID))
            parts.append(_reasoning_delta(REASONING_ID, reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._close_reasoning(parts)
            if not self._text_open:
                self._text_open = True
                parts.append(TextStartPart(id=TEXT_ID))
            parts.append(_text_delta(TEXT_ID, content))
        tool_calls = delta.get("tool_calls")
        if isinstance(tool_calls, list) and tool_calls:
            self._close_reasoning(parts)
            for fragment in tool_calls:
                self._on_tool_fragment(fragment, parts)

    def _on_tool_fragment(self, fragment: Any, parts: list[ModelPart]) -> None:
        if not isinstance(fragment, dict):
            raise MalformedStreamError(f"{self._provider} sent a tool call that is not an object")
        fragment_id = fragment.get("id")
        fragment_id = fragment_id if isinstance(fragment_id, str) and fragment_id else None
        index = fragment.get("index")
        if not isinstance(index, int):
            index = self._index_for(fragment_id)
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = _ToolCall()
        if call.id is None and fragment_id is not None:
            call.id = fragment_id
        function = fragment.get("function")
        function = function if isinstance(function, dict) else {}
        name = function.get("name")
        if isinstance(name, str) and name and not call.name:
            call.name = name
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = json_text(arguments)  # some servers send the object itself
        if arguments:
            call.arguments.append(arguments)
        if not call.started:
            if not call.name:
                return
            call.started = True
            if call.id is None:
                call.id = f"call_{uuid.uuid4().hex[:24]}"
            parts.append(ToolInputStartPart(id=call.id, tool_name=call.name))
            if call.arguments:
                parts.append(_tool_delta(call.id, "".join(call.arguments)))
        elif arguments and call.id is not None:
            parts.append(_tool_delta(call.id, arguments))

    def _index_for(self, fragment_id: str | None) -> int:
        # Servers that omit ``index``: a new id starts a new call, fragments continue the last.
        for index, call in self._calls.items():
            if fragment_id is not None and call.id == fragment_id:
                return index
        if fragment_id is not None or not self._calls:
            return len(self._calls)
        return max(self._calls)

    def _close_reasoning(self, parts: list[ModelPart]) -> None:
        if self._reasoning_open:
            self._reasoning_open = False
            parts.append(ReasoningEndPart(id=REASONING_ID))

    def _stream_error(self, error: Any) -> ProviderError:
        message: Any = error
        code: Any = None
        if isinstance(error, dict):
            message = error.get("message") or json_text(error)
            code = error.get("type") or error.get("code")
        text = f"{self._provider} reported an error in the stream: {message}"
        if isinstance(code, str) and code:
            text += f" ({code})"
        return ProviderError(redact(text, self._secrets), provider=self._provider)


def _metadata(chunk: Mapping[str, Any]) -> ResponseMetadataPart:
    fields: dict[str, Any] = {}
    if isinstance(chunk.get("id"), str):
        fields["id"] = chunk["id"]
    if isinstance(chunk.get("model"), str):
        fields["model_id"] = chunk["model"]
    created = _int(chunk.get("created"))
    if created is not None:
        fields["timestamp"] = created * 1000
    return ResponseMetadataPart(**fields)
