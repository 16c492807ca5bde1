"""Agent chunks (``from: AGENT``): one model call is one ``step-start … step-finish`` block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import MISSING, SerializerFunctionWrapHandler, field_validator, model_serializer

from rxagents.events._base import ChunkBase, ErrorInfo, Payload, Source
from rxagents.usage import Usage

__all__ = (
    "Abort",
    "AbortPayload",
    "AgentChunk",
    "AgentError",
    "AgentErrorPayload",
    "DataChunk",
    "FileChunk",
    "Finish",
    "ObjectChunk",
    "ObjectPayload",
    "ObjectResult",
    "OpenPayload",
    "RawChunk",
    "ReasoningDelta",
    "ReasoningDeltaPayload",
    "ReasoningEnd",
    "ReasoningStart",
    "ResponseMetadata",
    "ResponseMetadataPayload",
    "SourceChunk",
    "Start",
    "StartPayload",
    "StepFinish",
    "StepFinishPayload",
    "StepMetadata",
    "StepOutput",
    "StepResult",
    "StepStart",
    "StepStartPayload",
    "TextBlockPayload",
    "TextDelta",
    "TextDeltaPayload",
    "TextEnd",
    "TextStart",
    "ToolApproval",
    "ToolCall",
    "ToolCallApproval",
    "ToolCallApprovalPayload",
    "ToolCallDelta",
    "ToolCallDeltaPayload",
    "ToolCallInputStreamingEnd",
    "ToolCallInputStreamingEndPayload",
    "ToolCallInputStreamingStart",
    "ToolCallInputStreamingStartPayload",
    "ToolCallPayload",
    "ToolCallSummary",
    "ToolCallSuspended",
    "ToolCallSuspendedPayload",
    "ToolError",
    "ToolErrorPayload",
    "ToolOutput",
    "ToolOutputDenied",
    "ToolOutputDeniedPayload",
    "ToolOutputPayload",
    "ToolResult",
    "ToolResultPayload",
    "Tripwire",
)

JsonValue = Any
"""Untyped JSON data: tool arguments and results."""


# --- payloads -------------------------------------------------------------------------------


class StartPayload(Payload):
    """Payload of ``start``."""

    id: str | MISSING = MISSING
    """The agent's id."""
    message_id: str | MISSING = MISSING
    """The id of the assistant message this run produces."""


class StepStartPayload(Payload):
    """Payload of ``step-start``."""

    request: dict[str, Any] | MISSING = MISSING
    """What was sent to the model (provider-specific)."""
    warnings: list[Any] | MISSING = MISSING
    """Warnings the model reported for the call."""
    message_id: str | MISSING = MISSING
    """The assistant message id."""
    started_at: int | MISSING = MISSING
    """When the model call started, in epoch milliseconds."""


class TextBlockPayload(Payload):
    """Payload of ``text-start``, ``text-end``, ``reasoning-start`` and ``reasoning-end``."""

    id: str
    """The block id; every chunk of one block carries the same id."""
    provider_metadata: dict[str, Any] | MISSING = MISSING
    """Provider-specific data, passed through untouched."""


class TextDeltaPayload(Payload):
    """Payload of ``text-delta``.

    A provider's ``providerMetadata`` is kept as an extra key (``model_extra``): this payload
    is built once per streamed token, and a declared optional field would make each one an
    object the garbage collector must track.
    """

    id: str
    """The text block id."""
    text: str
    """The new text."""


class ReasoningDeltaPayload(TextDeltaPayload):
    """Payload of ``reasoning-delta``."""


class ToolCallInputStreamingStartPayload(Payload):
    """Payload of ``tool-call-input-streaming-start``."""

    tool_call_id: str
    """The call's id, shared by every chunk about this call."""
    tool_name: str
    """The tool's name as the model sees it."""
    provider_metadata: dict[str, Any] | MISSING = MISSING
    """Provider-specific data, passed through untouched."""


class ToolCallDeltaPayload(Payload):
    """Payload of ``tool-call-delta``."""

    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args_text_delta: str
    """A fragment of the JSON arguments as the model streams them."""


class ToolCallInputStreamingEndPayload(Payload):
    """Payload of ``tool-call-input-streaming-end``."""

    tool_call_id: str
    """The call's id."""
    provider_metadata: dict[str, Any] | MISSING = MISSING
    """Provider-specific data, passed through untouched."""


class ToolCallPayload(Payload):
    """Payload of ``tool-call``."""

    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: JsonValue = MISSING
    """The parsed arguments (absent when the model's input was not valid JSON)."""
    provider_metadata: dict[str, Any] | MISSING = MISSING
    """Provider-specific data, passed through untouched."""


class ToolResultPayload(Payload):
    """Payload of ``tool-result``."""

    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: JsonValue = MISSING
    """The arguments the tool ran with."""
    result: JsonValue = None
    """What the tool returned."""
    provider_metadata: dict[str, Any] | MISSING = MISSING
    """Provider-specific data, passed through untouched."""
    usage: Usage | MISSING = MISSING
    """The usage of model calls made inside the tool that the stream shows nowhere else (a
    nested agent piped as text only); absent otherwise. Not in Mastra, which drops it."""


class ToolErrorPayload(Payload):
    """Payload of ``tool-error``."""

    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: JsonValue = MISSING
    """The arguments the tool was called with."""
    error: ErrorInfo
    """Why the tool failed; the model sees this as the tool's result."""
    provider_metadata: dict[str, Any] | MISSING = MISSING
    """Provider-specific data, passed through untouched."""
    usage: Usage | MISSING = MISSING
    """As on ``tool-result``: nested usage the stream shows nowhere else (not in Mastra)."""


class ToolCallApprovalPayload(Payload):
    """Payload of ``tool-call-approval``: a call waits for a human's approval."""

    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: JsonValue = MISSING
    """The arguments the tool would run with."""
    resume_schema: str
    """The JSON schema of the answer, as JSON text (``{approved, reason?}``)."""


class ToolCallSuspendedPayload(Payload):
    """Payload of ``tool-call-suspended``: a running tool suspended itself."""

    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    suspend_payload: JsonValue = None
    """What the tool passed to ``suspend()`` (what it asks for)."""
    args: JsonValue = MISSING
    """The arguments the tool ran with."""
    resume_schema: str | MISSING = MISSING
    """The JSON schema of the resume data, as JSON text (when the tool declares one)."""


class ToolApproval(Payload):
    """``approval`` of ``tool-output-denied``: the human's answer."""

    id: str
    """The call's id."""
    approved: bool = False
    """Always false here."""
    reason: str
    """Why the call was declined; the model receives it as the tool's result."""


class ToolOutputDeniedPayload(Payload):
    """Payload of ``tool-output-denied``: a call was declined and did not run."""

    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: JsonValue = MISSING
    """The arguments the tool would have run with."""
    approval: ToolApproval
    """The decision."""


class ToolCallSummary(Payload):
    """A tool call as listed in a step's ``output.toolCalls``."""

    tool_call_id: str
    """The call's id."""
    tool_name: str
    """The tool's name."""
    args: JsonValue = MISSING
    """The parsed arguments (absent when the model's input was not valid JSON)."""
    provider_metadata: dict[str, Any] | MISSING = MISSING
    """Provider-specific data, passed through untouched."""


class StepResult(Payload):
    """``stepResult`` of ``step-finish`` and ``finish``."""

    reason: str
    """Why the model stopped: ``stop``, ``tool-calls``, ``length``, ``error`` …"""
    is_continued: bool = False
    """Whether the loop calls the model again after this step."""
    warnings: list[Any] | MISSING = MISSING
    """Warnings reported by the model."""
    message_id: str | MISSING = MISSING
    """The resumed stream's message id (only on the step-finish ending a resumed step)."""


class StepOutput(Payload):
    """``output`` of ``step-finish`` and ``finish``."""

    text: str = ""
    """The step's text (for ``finish``: the last step's text)."""
    tool_calls: list[ToolCallSummary] | MISSING = MISSING
    """The step's tool calls."""
    usage: Usage
    """Token usage of this step (for ``finish``: the sum over all steps)."""


class StepMetadata(Payload):
    """``metadata`` of ``step-finish`` and ``finish``; every field is optional."""

    id: str | MISSING = MISSING
    """The provider's response id."""
    model_id: str | MISSING = MISSING
    """The model that answered."""
    provider: str | MISSING = MISSING
    """The provider's name."""
    timestamp: int | str | MISSING = MISSING
    """When the response was created."""
    model_metadata: dict[str, Any] | MISSING = MISSING
    """``{modelId, modelVersion, modelProvider}``, as Mastra sends it."""


class StepFinishPayload(Payload):
    """Payload of ``step-finish`` and ``finish``."""

    message_id: str | MISSING = MISSING
    """The assistant message id."""
    step_result: StepResult
    """Why the step ended and whether the loop continues."""
    output: StepOutput
    """The step's text, tool calls and usage."""
    metadata: StepMetadata | MISSING = MISSING
    """Response metadata from the provider."""


class AgentErrorPayload(Payload):
    """Payload of ``error``."""

    error: ErrorInfo
    """The provider or stream failure."""


class AbortPayload(Payload):
    """Payload of ``abort`` (empty)."""


class ObjectPayload(Payload):
    """Payload of ``object``: the partial structured output parsed so far."""

    object: JsonValue = None
    """The partial object."""


class ResponseMetadataPayload(Payload):
    """Payload of ``response-metadata``."""

    id: str | MISSING = MISSING
    """The provider's response id."""
    model_id: str | MISSING = MISSING
    """The model that answered."""
    timestamp: int | str | MISSING = MISSING
    """When the response was created."""


# --- chunks ---------------------------------------------------------------------------------


class _AgentChunkBase(ChunkBase):
    from_: Source = "AGENT"


class Start(_AgentChunkBase):
    """``start``: the first chunk of an agent run."""

    type: Literal["start"] = "start"
    payload: StartPayload


class StepStart(_AgentChunkBase):
    """``step-start``: a model call begins."""

    type: Literal["step-start"] = "step-start"
    payload: StepStartPayload


class TextStart(_AgentChunkBase):
    """``text-start``: a text block opens."""

    type: Literal["text-start"] = "text-start"
    payload: TextBlockPayload


class TextDelta(_AgentChunkBase):
    """``text-delta``: text streamed inside an open text block."""

    type: Literal["text-delta"] = "text-delta"
    payload: TextDeltaPayload


class TextEnd(_AgentChunkBase):
    """``text-end``: a text block closes."""

    type: Literal["text-end"] = "text-end"
    payload: TextBlockPayload


class ReasoningStart(_AgentChunkBase):
    """``reasoning-start``: a reasoning block opens."""

    type: Literal["reasoning-start"] = "reasoning-start"
    payload: TextBlockPayload


class ReasoningDelta(_AgentChunkBase):
    """``reasoning-delta``: reasoning text inside an open reasoning block."""

    type: Literal["reasoning-delta"] = "reasoning-delta"
    payload: ReasoningDeltaPayload


class ReasoningEnd(_AgentChunkBase):
    """``reasoning-end``: a reasoning block closes."""

    type: Literal["reasoning-end"] = "reasoning-end"
    payload: TextBlockPayload


class ToolCallInputStreamingStart(_AgentChunkBase):
    """``tool-call-input-streaming-start``: the model starts streaming a tool call's input."""

    type: Literal["tool-call-input-streaming-start"] = "tool-call-input-streaming-start"
    payload: ToolCallInputStreamingStartPayload


class ToolCallDelta(_AgentChunkBase):
    """``tool-call-delta``: a fragment of streamed tool input."""

    type: Literal["tool-call-delta"] = "tool-call-delta"
    payload: ToolCallDeltaPayload


class ToolCallInputStreamingEnd(_AgentChunkBase):
    """``tool-call-input-streaming-end``: streamed tool input is complete."""

    type: Literal["tool-call-input-streaming-end"] = "tool-call-input-streaming-end"
    payload: ToolCallInputStreamingEndPayload


class ToolCall(_AgentChunkBase):
    """``tool-call``: the model calls a tool with parsed arguments."""

    type: Literal["tool-call"] = "tool-call"
    payload: ToolCallPayload


class ToolResult(_AgentChunkBase):
    """``tool-result``: a tool answered a call."""

    type: Literal["tool-result"] = "tool-result"
    payload: ToolResultPayload


class ToolError(_AgentChunkBase):
    """``tool-error``: a tool failed; the run goes on."""

    type: Literal["tool-error"] = "tool-error"
    payload: ToolErrorPayload


class ToolCallApproval(_AgentChunkBase):
    """``tool-call-approval``: a call waits for approval; a paused stream ends here."""

    type: Literal["tool-call-approval"] = "tool-call-approval"
    payload: ToolCallApprovalPayload


class ToolCallSuspended(_AgentChunkBase):
    """``tool-call-suspended``: a tool suspended itself; a paused stream ends here."""

    type: Literal["tool-call-suspended"] = "tool-call-suspended"
    payload: ToolCallSuspendedPayload


class ToolOutputDenied(_AgentChunkBase):
    """``tool-output-denied``: a declined call (a resumed stream's first chunk)."""

    type: Literal["tool-output-denied"] = "tool-output-denied"
    payload: ToolOutputDeniedPayload


class StepFinish(_AgentChunkBase):
    """``step-finish``: a model call ended; carries that call's usage."""

    type: Literal["step-finish"] = "step-finish"
    payload: StepFinishPayload


class Finish(_AgentChunkBase):
    """``finish``: the last chunk of an agent run; ``output.usage`` is the run's total."""

    type: Literal["finish"] = "finish"
    payload: StepFinishPayload


class AgentError(_AgentChunkBase):
    """``error``: a provider or stream failure; ``finish`` with reason ``error`` follows."""

    type: Literal["error"] = "error"
    payload: AgentErrorPayload


class Abort(_AgentChunkBase):
    """``abort``: the caller cancelled the run."""

    type: Literal["abort"] = "abort"
    payload: AbortPayload = AbortPayload()


class ObjectChunk(_AgentChunkBase):
    """``object``: the structured output parsed so far, in ``payload.object``.

    Mastra sends this chunk without a payload and with a top-level ``object`` key instead; that
    form parses too (``payload`` absent, ``object`` kept as an extra key).
    """

    type: Literal["object"] = "object"
    payload: ObjectPayload | MISSING = MISSING


class ObjectResult(_AgentChunkBase):
    """``object-result``: the final, validated structured output (after ``text-end``)."""

    type: Literal["object-result"] = "object-result"
    payload: ObjectPayload | MISSING = MISSING


class OpenPayload(Payload):
    """A payload whose keys are kept as they come (rare chunk kinds passed through)."""


class SourceChunk(_AgentChunkBase):
    """``source``: a cited source (``id``, ``sourceType``, ``url`` or ``filename`` …)."""

    type: Literal["source"] = "source"
    payload: OpenPayload


class FileChunk(_AgentChunkBase):
    """``file``: a file the model generated (``data``, ``mimeType``)."""

    type: Literal["file"] = "file"
    payload: OpenPayload


class RawChunk(_AgentChunkBase):
    """``raw``: a provider's raw chunk, passed through when asked for."""

    type: Literal["raw"] = "raw"
    payload: Any = None


class Tripwire(_AgentChunkBase):
    """``tripwire``: a processor rejected the run (``reason``)."""

    type: Literal["tripwire"] = "tripwire"
    payload: OpenPayload


class ToolOutputPayload(Payload):
    """Payload of ``tool-output``: one value a running tool wrote (``ctx.writer.write``)."""

    output: Any = None
    """What the tool wrote: a chunk of a nested run (parsed, with its own envelope) or any JSON
    value (kept as is)."""
    tool_call_id: str
    """The call that wrote it."""
    tool_name: str
    """The tool's name."""

    parse_output: ClassVar[Callable[[Any], Any]] = staticmethod(lambda value: value)

    @field_validator("output", mode="before")
    @classmethod
    def _output_as_chunk(cls, value: Any) -> Any:
        return cls.parse_output(value)


class ToolOutput(_AgentChunkBase):
    """``tool-output``: something a tool wrote while running (``from: USER``).

    It sits between its call's ``tool-call`` and ``tool-result``. A nested agent's chunks (a
    sub-agent's whole run, or a stream a tool piped through its writer) arrive as ``tool-output``
    chunks whose ``output`` is the nested chunk; :func:`rxagents.operators.unwrap_tool_output`
    gives them back.
    """

    type: Literal["tool-output"] = "tool-output"
    from_: Source = "USER"
    payload: ToolOutputPayload


class DataChunk(ChunkBase):
    """A chunk a tool wrote verbatim with ``ctx.writer.custom``: ``{"type": "data-…", "data": …}``.

    The one chunk kind without the four-key envelope: it is dumped exactly as written (``type``,
    ``data``, ``id``, ``transient`` and any other key), without ``runId``, ``from`` or ``payload``.
    In process, :attr:`run_id` names the run that emitted it (``""`` when it was read from the
    wire, which does not carry it). Its type is usually ``data-<name>``; any type outside the
    vocabulary is accepted, as in Mastra.
    """

    type: str
    """The chunk's type, e.g. ``"data-progress"``."""
    run_id: str = ""
    """The run that emitted it, in process only (never on the wire)."""
    from_: Source = "USER"
    """Always ``"USER"``, in process only (never on the wire)."""
    payload: None = None
    """Always ``None``: the data is in :attr:`data` and the extra keys."""
    data: Any = MISSING
    """The chunk's data (the AI SDK needs it on ``data-*`` parts)."""
    id: str | MISSING = MISSING
    """An id: a UI replaces an earlier data part that had the same type and id."""
    transient: bool | MISSING = MISSING
    """A part the UI shows while it streams but does not keep in the message."""

    @model_serializer(mode="wrap")
    def _dump_verbatim(self, handler: SerializerFunctionWrapHandler) -> Any:
        dumped = handler(self)
        for key in _ENVELOPE_KEYS:
            dumped.pop(key, None)
        return dumped


_ENVELOPE_KEYS = ("runId", "run_id", "from", "from_", "payload")


class ResponseMetadata(_AgentChunkBase):
    """``response-metadata``: the provider's response id, model and time."""

    type: Literal["response-metadata"] = "response-metadata"
    payload: ResponseMetadataPayload


AgentChunk = (
    Start
    | StepStart
    | TextStart
    | TextDelta
    | TextEnd
    | ReasoningStart
    | ReasoningDelta
    | ReasoningEnd
    | ToolCallInputStreamingStart
    | ToolCallDelta
    | ToolCallInputStreamingEnd
    | ToolCall
    | ToolResult
    | ToolError
    | ToolCallApproval
    | ToolCallSuspended
    | ToolOutputDenied
    | StepFinish
    | Finish
    | AgentError
    | Abort
    | ObjectChunk
    | ObjectResult
    | ResponseMetadata
    | SourceChunk
    | FileChunk
    | RawChunk
    | Tripwire
    | ToolOutput
    | DataChunk
)
"""Every agent chunk class (:class:`DataChunk` has no fixed type)."""
