"""Model parts: what a model's ``do_stream`` emits (the AI SDK v5 provider stream, and v1)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import MISSING, Field, TypeAdapter, ValidationError

from rxagents._core.wire import WireModel
from rxagents.errors import InvalidInputError
from rxagents.usage import Usage

__all__ = (
    "FinishPart",
    "ModelErrorPart",
    "ModelPart",
    "ReasoningDeltaPart",
    "ReasoningEndPart",
    "ReasoningStartPart",
    "ResponseMetadataPart",
    "StreamStartPart",
    "TextDeltaPart",
    "TextEndPart",
    "TextStartPart",
    "ToolCallPart",
    "ToolInputDeltaPart",
    "ToolInputEndPart",
    "ToolInputStartPart",
    "V1ErrorPart",
    "V1FinishPart",
    "V1ModelPart",
    "V1TextDeltaPart",
    "V1ToolCallPart",
    "V1Usage",
    "parse_part",
    "parse_v1_part",
)

FinishReason = Literal[
    "stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"
]
"""Why a model call ended (AI SDK v5 vocabulary)."""


class _Part(WireModel):
    provider_metadata: dict[str, Any] | MISSING = MISSING
    """Provider-specific data, passed through untouched."""


class StreamStartPart(_Part):
    """``stream-start``: the call began; carries the provider's warnings."""

    type: Literal["stream-start"] = "stream-start"
    warnings: list[Any] = Field(default_factory=list)
    """Warnings about unsupported settings."""


class TextStartPart(_Part):
    """``text-start {id}``: a text block opens."""

    type: Literal["text-start"] = "text-start"
    id: str
    """The block id."""


class TextDeltaPart(_Part):
    """``text-delta {id, delta}``: text inside an open block."""

    type: Literal["text-delta"] = "text-delta"
    id: str
    """The block id."""
    delta: str
    """The new text."""


class TextEndPart(_Part):
    """``text-end {id}``: a text block closes."""

    type: Literal["text-end"] = "text-end"
    id: str
    """The block id."""


class ReasoningStartPart(_Part):
    """``reasoning-start {id}``."""

    type: Literal["reasoning-start"] = "reasoning-start"
    id: str
    """The block id."""


class ReasoningDeltaPart(_Part):
    """``reasoning-delta {id, delta}``."""

    type: Literal["reasoning-delta"] = "reasoning-delta"
    id: str
    """The block id."""
    delta: str
    """The new reasoning text."""


class ReasoningEndPart(_Part):
    """``reasoning-end {id}``."""

    type: Literal["reasoning-end"] = "reasoning-end"
    id: str
    """The block id."""


class ToolInputStartPart(_Part):
    """``tool-input-start {id, toolName}``: the model starts streaming a tool call's input."""

    type: Literal["tool-input-start"] = "tool-input-start"
    id: str
    """The tool call id."""
    tool_name: str
    """The tool's name."""


class ToolInputDeltaPart(_Part):
    """``tool-input-delta {id, delta}``: a fragment of the JSON input."""

    type: Literal["tool-input-delta"] = "tool-input-delta"
    id: str
    """The tool call id."""
    delta: str
    """The fragment."""


class ToolInputEndPart(_Part):
    """``tool-input-end {id}``: the streamed input is complete."""

    type: Literal["tool-input-end"] = "tool-input-end"
    id: str
    """The tool call id."""


class ToolCallPart(_Part):
    """``tool-call {toolCallId, toolName, input}``; ``input`` is a JSON string."""

    type: Literal["tool-call"] = "tool-call"
    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    input: str = "{}"
    """The arguments as JSON text."""


class ResponseMetadataPart(_Part):
    """``response-metadata {id?, modelId?, timestamp?}``."""

    type: Literal["response-metadata"] = "response-metadata"
    id: str | MISSING = MISSING
    """The provider's response id."""
    model_id: str | MISSING = MISSING
    """The model that answered."""
    timestamp: int | str | MISSING = MISSING
    """When the response was created."""


class FinishPart(_Part):
    """``finish {finishReason, usage}``: the call ended."""

    type: Literal["finish"] = "finish"
    finish_reason: str = "stop"
    """Why: ``stop``, ``length``, ``content-filter``, ``tool-calls``, ``error``, ``other``."""
    usage: Usage = Usage.zero
    """Token usage of the call."""


class ModelErrorPart(_Part):
    """``error {error}``: the model failed."""

    type: Literal["error"] = "error"
    error: Any = None
    """The error: an exception, a string, or an object with ``message``."""


ModelPart = Annotated[
    StreamStartPart
    | TextStartPart
    | TextDeltaPart
    | TextEndPart
    | ReasoningStartPart
    | ReasoningDeltaPart
    | ReasoningEndPart
    | ToolInputStartPart
    | ToolInputDeltaPart
    | ToolInputEndPart
    | ToolCallPart
    | ResponseMetadataPart
    | FinishPart
    | ModelErrorPart,
    Field(discriminator="type"),
]
"""Any v2 model part."""

_PART_ADAPTER: TypeAdapter[ModelPart] = TypeAdapter(ModelPart)


def parse_part(part: ModelPart | Mapping[str, Any]) -> ModelPart:
    """Validate one v2 part given as a model or a wire dict (``{"type": "text-delta", ...}``).

    Raises:
        InvalidInputError: The part is not a valid v2 model part.
    """
    if isinstance(part, _Part):
        return part
    try:
        return _PART_ADAPTER.validate_python(part)
    except ValidationError as err:
        raise InvalidInputError(f"invalid model part {dict(part)!r}: {err}") from err


# --- v1 (legacy) ----------------------------------------------------------------------------


class V1Usage(WireModel):
    """v1 usage: ``{promptTokens, completionTokens}``."""

    prompt_tokens: int = 0
    """Prompt tokens."""
    completion_tokens: int = 0
    """Generated tokens."""

    def to_usage(self) -> Usage:
        """Convert to the v2 :class:`Usage`."""
        return Usage(input_tokens=self.prompt_tokens, output_tokens=self.completion_tokens)


class V1TextDeltaPart(WireModel):
    """v1 ``text-delta {textDelta}``."""

    type: Literal["text-delta"] = "text-delta"
    text_delta: str
    """The new text."""


class V1ToolCallPart(WireModel):
    """v1 ``tool-call {toolCallType, toolCallId, toolName, args}``; ``args`` is JSON text."""

    type: Literal["tool-call"] = "tool-call"
    tool_call_type: str = "function"
    """Always ``function``."""
    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: str = "{}"
    """The arguments as JSON text."""


class V1FinishPart(WireModel):
    """v1 ``finish {finishReason, usage}``."""

    type: Literal["finish"] = "finish"
    finish_reason: str = "stop"
    """Why the call ended."""
    usage: V1Usage = V1Usage()
    """Token usage."""


class V1ErrorPart(WireModel):
    """v1 ``error {error}``."""

    type: Literal["error"] = "error"
    error: Any = None
    """The error."""


V1ModelPart = Annotated[
    V1TextDeltaPart | V1ToolCallPart | V1FinishPart | V1ErrorPart, Field(discriminator="type")
]
"""Any v1 model part."""

_V1_ADAPTER: TypeAdapter[V1ModelPart] = TypeAdapter(V1ModelPart)


def parse_v1_part(part: V1ModelPart | Mapping[str, Any]) -> V1ModelPart:
    """Validate one v1 part given as a model or a wire dict.

    Raises:
        InvalidInputError: The part is not a valid v1 model part.
    """
    if isinstance(part, WireModel):
        return part
    try:
        return _V1_ADAPTER.validate_python(part)
    except ValidationError as err:
        raise InvalidInputError(f"invalid v1 model part {dict(part)!r}: {err}") from err


def loads_tool_input(text: str) -> Any:
    """Parse a tool call's JSON input; empty text is ``{}``."""
    return json.loads(text) if text.strip() else {}
