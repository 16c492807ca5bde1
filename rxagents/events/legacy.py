"""The legacy (v1) part vocabulary emitted by ``Agent.stream_legacy()``: no envelope."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import MISSING, Field

from rxagents.events._base import ErrorInfo, WireModel

__all__ = (
    "LegacyChunk",
    "LegacyError",
    "LegacyFinish",
    "LegacyStepFinish",
    "LegacyStepStart",
    "LegacyTextDelta",
    "LegacyToolCall",
    "LegacyToolResult",
    "LegacyUsage",
)


class LegacyUsage(WireModel):
    """v1 usage: ``{promptTokens, completionTokens, totalTokens}``."""

    prompt_tokens: int = 0
    """Prompt tokens."""
    completion_tokens: int = 0
    """Generated tokens."""
    total_tokens: int = 0
    """Their sum."""


class LegacyStepStart(WireModel):
    """``step-start``: a model call begins."""

    type: Literal["step-start"] = "step-start"
    message_id: str
    """The assistant message id."""
    request: dict[str, Any] = Field(default_factory=dict)
    """What was sent to the model."""
    warnings: list[Any] = Field(default_factory=list)
    """Warnings the model reported."""


class LegacyTextDelta(WireModel):
    """``text-delta {textDelta}``."""

    type: Literal["text-delta"] = "text-delta"
    text_delta: str
    """The new text."""


class LegacyToolCall(WireModel):
    """``tool-call {toolCallType, toolCallId, toolName, args}`` (``args`` parsed)."""

    type: Literal["tool-call"] = "tool-call"
    tool_call_type: str = "function"
    """Always ``function``."""
    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: Any = None
    """The parsed arguments."""


class LegacyToolResult(WireModel):
    """``tool-result {toolCallId, toolName, args, result}``; a failed tool sets ``isError``."""

    type: Literal["tool-result"] = "tool-result"
    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: Any = None
    """The arguments."""
    result: Any = None
    """What the tool returned, or ``{name, message}`` of its error."""
    is_error: bool | MISSING = MISSING
    """``True`` when the tool failed."""


class LegacyStepFinish(WireModel):
    """``step-finish {finishReason, usage, isContinued}``."""

    type: Literal["step-finish"] = "step-finish"
    message_id: str
    """The assistant message id."""
    finish_reason: str
    """Why the model stopped."""
    usage: LegacyUsage
    """The step's usage."""
    is_continued: bool
    """Whether another step follows."""


class LegacyFinish(WireModel):
    """``finish {finishReason, usage}``: the run's end; usage is the total."""

    type: Literal["finish"] = "finish"
    finish_reason: str
    """Why the run ended."""
    usage: LegacyUsage
    """Usage over all steps."""


class LegacyError(WireModel):
    """``error {error}``."""

    type: Literal["error"] = "error"
    error: ErrorInfo
    """What failed."""


LegacyChunk = (
    LegacyStepStart
    | LegacyTextDelta
    | LegacyToolCall
    | LegacyToolResult
    | LegacyStepFinish
    | LegacyFinish
    | LegacyError
)
"""Any legacy chunk."""
