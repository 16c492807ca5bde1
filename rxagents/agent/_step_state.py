"""What one model call of a run accumulates, and what it leaves in the conversation.

:class:`StepState` is the agent loop's record of the step in progress. :func:`transcript` turns
a step's pieces into prompt messages (an assistant message, then a tool message): the loop uses
it for the next model call and for memory, and runs seen only through their chunks (remote
agents) rebuild their messages with it too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import MISSING, BaseModel

from rxagents._core.clock import now_ms
from rxagents._core.wire import trusted_builder
from rxagents.agent._blocks import OpenBlocks
from rxagents.events import (
    AgentChunk,
    ErrorInfo,
    StepFinishPayload,
    StepMetadata,
    StepOutput,
    StepResult,
    ToolCallSummary,
    ToolError,
    ToolErrorPayload,
    ToolResult,
    ToolResultPayload,
)
from rxagents.models import LanguageModel, Message
from rxagents.usage import Usage

__all__ = ("PendingCall", "StepState", "call_summary", "result_chunk", "transcript")

_step_result = trusted_builder(StepResult, "reason", "is_continued")
_step_output = trusted_builder(StepOutput, "text", "tool_calls", "usage")
_step_finish_payload = trusted_builder(
    StepFinishPayload,
    "message_id",
    "step_result",
    "output",
    "metadata",
    extras=("processorRetryCount",),
)
_model_metadata = trusted_builder(
    StepMetadata,
    "id",
    "model_id",
    "provider",
    "timestamp",
    "model_metadata",
    extras=("modelVersion", "modelProvider", "request"),
)
"""``metadata`` without a response-metadata part: the model's version and provider stand in."""


@dataclass
class PendingCall:
    """A tool call the model made in this step."""

    tool_call_id: str
    tool_name: str
    args: Any
    """The parsed arguments (``MISSING`` when the input was not JSON)."""
    parse_error: str | None = None
    provider_metadata: Any = MISSING


@dataclass
class StepState:
    """Everything one model call has produced so far."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    reasoning_blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[PendingCall] = field(default_factory=list)
    results: list[tuple[PendingCall, Any, ErrorInfo | None]] = field(default_factory=list)
    blocks: OpenBlocks = field(default_factory=OpenBlocks)
    input_names: dict[str, str] = field(default_factory=dict)
    """Tool names of the streamed tool inputs that are open, by tool call id."""
    reason: str = "other"
    usage: Usage = Usage.zero
    response: dict[str, Any] = field(default_factory=dict)
    warnings: list[Any] = field(default_factory=list)
    warnings_always: bool = False
    last_object: Any = None
    raw_usage: Any = MISSING
    provider_metadata: Any = MISSING
    input_metadata: dict[str, Any] = field(default_factory=dict)
    denied: dict[str, str] = field(default_factory=dict)
    """Declined calls (not run): the reason the model receives instead, by tool call id."""
    model_outputs: dict[str, Any] = field(default_factory=dict)
    """What the model receives instead of a result (a tool's ``to_model_output``), by call id."""

    def finish_payload(
        self,
        *,
        message_id: str,
        model: LanguageModel,
        is_continued: bool,
        usage: Usage,
        structured: BaseModel | None,
        resumed: bool = False,
    ) -> StepFinishPayload:
        """The ``step-finish`` payload of this step (``finish`` reuses it, with the total).

        ``resumed``: the step began in a paused stream; as in Mastra, its ``stepResult``
        carries the resumed stream's message id.
        """
        text = "".join(self.text)
        calls = [call_summary(c) for c in self.calls]
        # the common shapes are built without validation (every value comes from validated
        # parts or the loop itself); the rarer ones are validated
        if self.warnings or self.warnings_always or resumed:
            result: dict[str, Any] = {"reason": self.reason, "is_continued": is_continued}
            if self.warnings or self.warnings_always:
                result["warnings"] = self.warnings
            if resumed:
                result["message_id"] = message_id
            step_result = StepResult(**result)
        else:
            step_result = _step_result(self.reason, is_continued)
        if structured is None:
            output = _step_output(text, calls, usage)
        else:
            output = StepOutput(
                text=text,
                tool_calls=calls,
                usage=usage,
                object=structured.model_dump(mode="json", by_alias=True),
            )
        return _step_finish_payload(
            message_id,
            step_result,
            output,
            self._metadata(message_id, model),
            0,  # processorRetryCount, as in Mastra (no output processors here)
        )

    def _metadata(self, message_id: str, model: LanguageModel) -> StepMetadata:
        response = self.response
        model_metadata = {
            "modelId": model.model_id,
            "modelVersion": model.specification_version,
            "modelProvider": model.provider,
        }
        if (  # the common shape, from a model whose names are strings as typed
            not response
            and self.provider_metadata is MISSING
            and type(model.model_id) is str
            and type(model.provider) is str
            and type(model.specification_version) is str
        ):
            return _model_metadata(
                f"resp-{message_id}",
                model.model_id,
                model.provider,
                now_ms(),
                model_metadata,
                model.specification_version,
                model.provider,
                {},
            )
        fields: dict[str, Any] = {
            "id": response.get("id") or f"resp-{message_id}",
            "model_id": response.get("model_id") or model.model_id,
            "provider": model.provider,
            "timestamp": response.get("timestamp") or now_ms(),
        }
        if not response:  # as in Mastra: the model's version and provider stand in
            fields["modelVersion"] = model.specification_version
            fields["modelProvider"] = model.provider
        fields["model_metadata"] = model_metadata
        fields["request"] = {}
        if self.provider_metadata is not MISSING:
            fields["providerMetadata"] = self.provider_metadata
        return StepMetadata(**fields)

    def messages(self) -> list[Message]:
        """The messages this step adds to the conversation."""
        reasoning = [
            ("".join(block["text"]), block.get("meta")) for block in self.reasoning_blocks.values()
        ]
        calls = [
            (c.tool_call_id, c.tool_name, {} if c.args is MISSING else c.args) for c in self.calls
        ]
        results = [
            (call.tool_call_id, call.tool_name, result, None if error is None else error.message)
            for call, result, error in self.results
        ]
        if self.denied:
            order = {c.tool_call_id: i for i, c in enumerate(self.calls)}
            results.extend(
                (c.tool_call_id, c.tool_name, self.denied[c.tool_call_id], None)
                for c in self.calls
                if c.tool_call_id in self.denied
            )
            results.sort(key=lambda r: order.get(r[0], len(order)))
        return transcript(
            reasoning,
            "".join(self.text),
            calls,
            results,
            denied=frozenset(self.denied),
            model_outputs=self.model_outputs,
        )


def transcript(
    reasoning: Iterable[tuple[str, Any]],
    text: str,
    calls: Iterable[tuple[str, str, Any]],
    results: Sequence[tuple[str, str, Any, str | None]],
    *,
    denied: Collection[str] = frozenset(),
    model_outputs: Mapping[str, Any] | None = None,
) -> list[Message]:
    """Return a step's messages: the assistant's reasoning, text and tool calls, then results.

    Args:
        reasoning: ``(text, provider options or None)`` per reasoning block.
        text: The step's text.
        calls: ``(tool call id, tool name, input)`` per call.
        results: ``(tool call id, tool name, result, error message or None)`` per result.
        denied: Ids of declined calls, whose result is the reason given to the model as text.
        model_outputs: What the model receives instead of the result, by call id
            (``{"type": "text", "value": ...}``).
    """
    outputs = model_outputs or {}
    content: list[dict[str, Any]] = []
    for block_text, options in reasoning:
        part: dict[str, Any] = {"type": "reasoning", "text": block_text}
        if options:
            part["providerOptions"] = options
        content.append(part)
    if text:
        content.append({"type": "text", "text": text})
    content.extend(
        {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": args}
        for call_id, name, args in calls
    )
    messages: list[Message] = []
    if content:
        messages.append({"role": "assistant", "content": content})
    if results:
        messages.append(
            {
                "role": "tool",
                "content": [
                    {
                        "type": "tool-result",
                        "toolCallId": call_id,
                        "toolName": name,
                        "output": _output(call_id, result, error, denied, outputs),
                    }
                    for call_id, name, result, error in results
                ],
            }
        )
    return messages


def _output(
    call_id: str,
    result: Any,
    error: str | None,
    denied: Collection[str],
    outputs: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``output`` of a tool-result part: what the model receives."""
    if error is not None:
        return {"type": "error-text", "value": error}
    if call_id in outputs:
        return dict(outputs[call_id])
    if call_id in denied:
        return {"type": "text", "value": result}
    return {"type": "json", "value": result}


def _call_fields(call: PendingCall) -> dict[str, Any]:
    fields: dict[str, Any] = {"tool_call_id": call.tool_call_id, "tool_name": call.tool_name}
    if call.args is not MISSING:  # absent when the input was not JSON, as in Mastra
        fields["args"] = call.args
    if call.provider_metadata is not MISSING:
        fields["provider_metadata"] = call.provider_metadata
    return fields


def call_summary(call: PendingCall) -> ToolCallSummary:
    """The call as ``step-finish`` lists it in ``output.toolCalls``."""
    return ToolCallSummary(**_call_fields(call))


def result_chunk(
    run_id: str,
    call: PendingCall,
    result: Any,
    error: ErrorInfo | None,
    usage: Usage | None = None,
    model_output: Any = MISSING,
) -> AgentChunk:
    """The ``tool-result`` (or, with ``error``, ``tool-error``) answering ``call``.

    ``usage`` is the usage of nested model calls the stream shows nowhere else;
    ``model_output`` what the model receives instead of the result (as Mastra, in
    ``providerMetadata.mastra.modelOutput``).
    """
    fields = _call_fields(call)
    if usage is not None:
        fields["usage"] = usage
    if model_output is not MISSING:
        metadata = dict(fields.get("provider_metadata") or {})
        metadata["mastra"] = {**metadata.get("mastra", {}), "modelOutput": model_output}
        fields["provider_metadata"] = metadata
    if error is None:
        return ToolResult(run_id=run_id, payload=ToolResultPayload(result=result, **fields))
    return ToolError(run_id=run_id, payload=ToolErrorPayload(error=error, **fields))
