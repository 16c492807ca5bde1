"""The agent's tool loop: one cold Observable of agent chunks per run.

A run is a small state machine driven by the model's part stream. Each model call is one
``step-start … step-finish`` block; tool calls are executed after the model's call completed,
their results emitted in call order before the step's ``step-finish``; a new step follows while
the model keeps calling tools and ``max_steps`` allows. Disposing the subscription disposes the
model's Observable (closing its HTTP request) and cancels running tools.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import MISSING, BaseModel, ValidationError
from reactivex import abc

from rxagents._core.clock import now_ms
from rxagents._core.partial_json import parse_partial_json
from rxagents._core.rx import OneShotRun, subscribe_direct
from rxagents._core.wire import trusted_builder
from rxagents.agent.tools import Tool
from rxagents.errors import ToolExecutionError
from rxagents.events import (
    Abort,
    AgentChunk,
    AgentError,
    AgentErrorPayload,
    ErrorInfo,
    Finish,
    ObjectChunk,
    ObjectPayload,
    ObjectResult,
    ReasoningDelta,
    ReasoningDeltaPayload,
    ReasoningEnd,
    ReasoningStart,
    Start,
    StartPayload,
    StepFinish,
    StepFinishPayload,
    StepMetadata,
    StepOutput,
    StepResult,
    StepStart,
    StepStartPayload,
    TextBlockPayload,
    TextDelta,
    TextDeltaPayload,
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
    ToolCallSummary,
    ToolError,
    ToolErrorPayload,
    ToolResult,
    ToolResultPayload,
)
from rxagents.models import LanguageModel, Message, ModelCall, ModelPart
from rxagents.usage import Usage

__all__ = ("AgentRun", "RunConfig", "block_end_chunk")

_log = logging.getLogger(__name__)

_text_delta = trusted_builder(TextDelta, "run_id", "payload")
_text_delta_payload = trusted_builder(TextDeltaPayload, "id", "text")
_reasoning_delta = trusted_builder(ReasoningDelta, "run_id", "payload")
_reasoning_delta_payload = trusted_builder(ReasoningDeltaPayload, "id", "text")
_tool_call_delta = trusted_builder(ToolCallDelta, "run_id", "payload")
_tool_call_delta_payload = trusted_builder(
    ToolCallDeltaPayload, "tool_call_id", "tool_name", "args_text_delta"
)

_FINISH_REASONS = frozenset(
    {"stop", "length", "content-filter", "tool-calls", "error", "other", "tripwire"}
)


@dataclass(frozen=True)
class RunConfig:
    """Everything one agent run needs; built by ``Agent`` from its settings and the call's."""

    agent_id: str
    model: LanguageModel
    prompt: list[Message]
    tools: Mapping[str, Tool] = field(default_factory=dict)
    max_steps: int = 5
    settings: Mapping[str, Any] = field(default_factory=dict)
    output: type[BaseModel] | None = None
    run_id: str | None = None


@dataclass
class _Call:
    tool_call_id: str
    tool_name: str
    args: Any
    parse_error: str | None = None
    provider_metadata: Any = MISSING


@dataclass
class _Step:
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    reasoning_blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[_Call] = field(default_factory=list)
    results: list[tuple[_Call, Any, ErrorInfo | None]] = field(default_factory=list)
    open_blocks: dict[str, str] = field(default_factory=dict)
    open_inputs: dict[str, str] = field(default_factory=dict)
    reason: str = "other"
    usage: Usage = Usage.zero
    response: dict[str, Any] = field(default_factory=dict)
    warnings: list[Any] = field(default_factory=list)
    warnings_always: bool = False
    last_object: Any = None
    raw_usage: Any = MISSING
    provider_metadata: Any = MISSING
    input_metadata: dict[str, Any] = field(default_factory=dict)


class AgentRun(OneShotRun[AgentChunk]):
    """One agent run; :meth:`subscribe` starts it (once)."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.run_id = config.run_id or str(uuid.uuid4())
        self.message_id = str(uuid.uuid4())
        self.response_messages: list[Message] = []
        """The assistant and tool messages this run produced (for memory)."""
        self.object: Any = None
        """The validated structured output, when ``output`` was given and it validated."""
        self.object_error: Exception | None = None
        """Why the structured output failed validation, if it did."""
        self._prompt = list(config.prompt)
        self._step = _Step()
        self._step_count = 0
        self._total = Usage.zero
        self._emit: Callable[[AgentChunk], None] = _drop
        self._model_subscription: abc.DisposableBase | None = None
        self._tool_task: asyncio.Task[None] | None = None
        self._failed = False
        self._ended = False

    # --- Rx plumbing ----------------------------------------------------------------------

    def subscribe(
        self, observer: abc.ObserverBase[AgentChunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        """Start the run from the next event-loop callback; the disposable stops it."""
        disposable = super().subscribe(observer, scheduler)
        self._emit = observer.on_next
        return disposable

    def _stop(self) -> None:
        """Dispose the model call, cancel running tools, emit nothing more."""
        self._release()
        subscription, self._model_subscription = self._model_subscription, None
        if subscription is not None:
            subscription.dispose()
        task, self._tool_task = self._tool_task, None
        if task is not None and not task.done():
            task.cancel()

    def closing_chunks(self) -> list[AgentChunk]:
        """Chunks that close what is open, then ``abort`` (used when the run is cancelled)."""
        if self._ended:
            return []
        chunks: list[AgentChunk] = [
            block_end_chunk(self.run_id, bid, kind) for bid, kind in self._open()
        ]
        chunks.append(Abort(run_id=self.run_id))
        return chunks

    def _open(self) -> list[tuple[str, str]]:
        step = self._step
        opened = list(step.open_blocks.items())
        opened += [(tid, "tool-input") for tid in step.open_inputs]
        return opened

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as err:  # a bug in a handler: fail the Observable, not the loop
            _log.exception("agent run %s failed", self.run_id)
            self._error_out(err)

    def _error_out(self, err: Exception) -> None:
        observer = self._observer
        self.dispose()
        self._release()
        self._ended = True
        if observer is not None:
            observer.on_error(err)

    # --- the run --------------------------------------------------------------------------

    def _begin(self) -> None:
        self._guard(self._emit_start)

    def _emit_start(self) -> None:
        self._emit(
            Start(
                run_id=self.run_id,
                payload=StartPayload(id=self.config.agent_id, message_id=self.message_id),
            )
        )
        self._start_step()

    def _start_step(self) -> None:
        if self._disposed:
            return
        self._step = _Step()
        self._step_count += 1
        self._failed = False
        self._emit(
            StepStart(
                run_id=self.run_id,
                payload=StepStartPayload(
                    request={},
                    warnings=[],
                    message_id=self.message_id,
                    started_at=now_ms(),
                ),
            )
        )
        config = self.config
        call = ModelCall(
            prompt=self._prompt,
            tools=[tool.spec(name) for name, tool in config.tools.items()],
            response_format=(
                {"type": "json", "schema": config.output.model_json_schema()}
                if config.output is not None
                else None
            ),
            **config.settings,
        )
        try:
            source = config.model.do_stream(call)
            self._model_subscription = subscribe_direct(
                source, self._on_part, self._on_model_error, self._on_model_completed
            )
        except Exception as err:  # the model failed before streaming anything
            self._step.warnings_always = True  # as in Mastra: stepResult.warnings is []
            self._fail(_thrown(err), typed=True)

    # --- model parts ----------------------------------------------------------------------

    def _on_part(self, part: ModelPart) -> None:
        if self._failed or self._disposed:
            return
        try:
            if part.type == "text-delta":
                delta = part.delta
                if not delta:
                    return
                step = self._step
                if part.id not in step.open_blocks:
                    self._on_text_start(part)
                step.text.append(delta)
                if self.config.output is not None:
                    # as in Mastra: the object parsed so far comes before the delta it includes
                    self._emit_partial_object()
                if part.provider_metadata is MISSING:
                    payload = _text_delta_payload(part.id, delta)
                else:
                    payload = TextDeltaPayload.model_validate(
                        {"id": part.id, "text": delta, "providerMetadata": part.provider_metadata}
                    )
                self._emit(_text_delta(self.run_id, payload))
                return
            handler = _HANDLERS.get(part.type)
            if handler is not None:
                handler(self, part)
        except Exception as err:
            _log.exception("agent run %s failed on a model part", self.run_id)
            self._error_out(err)

    def _block_payload(self, part: Any, extra_type: str | None = None) -> TextBlockPayload:
        metadata = getattr(part, "provider_metadata", MISSING)
        fields: dict[str, Any] = {"id": part.id}
        if extra_type is not None:
            fields["type"] = extra_type  # Mastra repeats the chunk type in text-end payloads
        if metadata is not MISSING:
            fields["provider_metadata"] = metadata
        return TextBlockPayload(**fields)

    def _on_text_start(self, part: Any) -> None:
        step = self._step
        if part.id in step.open_blocks:
            return
        step.open_blocks[part.id] = "text"
        self._emit(TextStart(run_id=self.run_id, payload=self._block_payload(part)))

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
        step = self._step
        if part.id in step.open_blocks:
            return
        self._reasoning_block(part)
        step.open_blocks[part.id] = "reasoning"
        self._emit(ReasoningStart(run_id=self.run_id, payload=self._block_payload(part)))

    def _on_reasoning_delta(self, part: Any) -> None:
        if not part.delta:
            return
        step = self._step
        if part.id not in step.open_blocks:
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
        kind = self._step.open_blocks.pop(part.id, None)
        if kind is None:
            return
        if kind == "reasoning":
            self._reasoning_block(part)
        if kind == "text":
            self._emit(TextEnd(run_id=self.run_id, payload=self._block_payload(part, "text-end")))
        else:
            self._emit(ReasoningEnd(run_id=self.run_id, payload=self._block_payload(part)))

    def _close_blocks(self) -> None:
        for block_id, kind in self._open():
            self._emit(block_end_chunk(self.run_id, block_id, kind))
        self._step.open_blocks.clear()
        self._step.open_inputs.clear()

    def _on_tool_input_start(self, part: Any) -> None:
        step = self._step
        if part.id in step.open_inputs:
            return
        step.open_inputs[part.id] = part.tool_name
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
        name = self._step.open_inputs.get(part.id)
        if name is None or not part.delta:
            return
        self._emit(
            _tool_call_delta(self.run_id, _tool_call_delta_payload(part.id, name, part.delta))
        )

    def _on_tool_input_end(self, part: Any) -> None:
        if self._step.open_inputs.pop(part.id, None) is None:
            return
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
        if part.tool_call_id in self._step.open_inputs:
            self._on_tool_input_end(_IdOnly(part.tool_call_id))
        call = _Call(part.tool_call_id, part.tool_name, MISSING)
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
        self._fail(error_info(part.error), typed=True)

    def _on_response_metadata(self, part: Any) -> None:
        self._step.response = part.model_dump(exclude={"type"})

    def _on_stream_start(self, part: Any) -> None:
        self._step.warnings = list(part.warnings)

    def _on_model_error(self, error: Exception) -> None:
        self._model_subscription = None
        if not self._failed and not self._disposed:
            self._guard(lambda: self._fail(_thrown(error)))

    def _on_model_completed(self) -> None:
        self._model_subscription = None
        if self._failed or self._disposed:
            return
        self._guard(self._model_done)

    # --- end of a model call --------------------------------------------------------------

    def _model_done(self) -> None:
        self._close_blocks()
        if self._step.calls:
            loop = asyncio.get_running_loop()
            self._tool_task = loop.create_task(self._run_tools(list(self._step.calls)))
            return
        self._end_step()

    async def _run_tools(self, calls: list[_Call]) -> None:
        tasks = [asyncio.ensure_future(self._execute(call)) for call in calls]
        try:
            for call, task in zip(calls, tasks, strict=True):
                result, error = await task
                if self._disposed:
                    return
                self._step.results.append((call, result, error))
                self._emit(self._result_chunk(call, result, error))
        finally:
            for task in tasks:
                task.cancel()
        self._tool_task = None
        self._guard(self._end_step)

    async def _execute(self, call: _Call) -> tuple[Any, ErrorInfo | None]:
        if call.parse_error is not None:
            return None, ErrorInfo(name="ToolExecutionError", message=call.parse_error)
        tool = self.config.tools.get(call.tool_name)
        if tool is None:
            known = ", ".join(sorted(self.config.tools)) or "none"
            return None, ErrorInfo(
                name="ToolNotFoundError",
                message=f"unknown tool {call.tool_name!r}; available tools: {known}",
            )
        try:
            return await tool.run(call.args), None
        except ToolExecutionError as err:
            return None, ErrorInfo(name="ToolExecutionError", message=str(err))
        except Exception as err:
            return None, self._tool_failure(err)

    def _tool_failure(self, err: Exception) -> ErrorInfo:
        """A thrown tool error with Mastra's extra keys (and, unlike Mastra, its message)."""
        name = type(err).__name__
        return ErrorInfo.model_validate(
            {
                "name": name,
                "message": str(err),
                "cause": {"message": str(err), "name": name},
                "id": "TOOL_EXECUTION_FAILED",
                "domain": "TOOL",
                "category": "USER",
                "details": {
                    "errorMessage": f"{name}: {err}",
                    "model": self.config.model.model_id,
                },
            }
        )

    def _result_chunk(self, call: _Call, result: Any, error: ErrorInfo | None) -> AgentChunk:
        fields: dict[str, Any] = {"tool_call_id": call.tool_call_id, "tool_name": call.tool_name}
        if call.args is not MISSING:  # absent when the input was not JSON, as in Mastra
            fields["args"] = call.args
        if call.provider_metadata is not MISSING:
            fields["provider_metadata"] = call.provider_metadata
        if error is None:
            payload = ToolResultPayload(result=result, **fields)
            return ToolResult(run_id=self.run_id, payload=payload)
        return ToolError(run_id=self.run_id, payload=ToolErrorPayload(error=error, **fields))

    def _end_step(self) -> None:
        step = self._step
        has_calls = bool(step.calls)
        is_continued = has_calls and self._step_count < self.config.max_steps
        if not has_calls and self.config.output is not None:
            self._emit_object_result()
        self._total = self._total + step.usage
        payload = self._step_payload(is_continued, self._with_raw(step.usage))
        self._emit(StepFinish(run_id=self.run_id, payload=payload))
        self._record_messages()
        if is_continued:
            self._start_step()
            return
        self._emit_finish(payload)

    def _with_raw(self, usage: Usage) -> Usage:
        """``usage`` with the provider's usage of the current step as ``raw`` (as in Mastra)."""
        raw = self._step.raw_usage
        if raw is MISSING:
            return usage
        return usage.model_copy(update={"raw": raw})

    def _step_payload(self, is_continued: bool, usage: Usage) -> StepFinishPayload:
        step = self._step
        result: dict[str, Any] = {"reason": step.reason, "is_continued": is_continued}
        if step.warnings or step.warnings_always:
            result["warnings"] = step.warnings
        output: dict[str, Any] = {}
        if self.object is not None:
            output["object"] = self.object.model_dump(mode="json", by_alias=True)
        return StepFinishPayload(
            message_id=self.message_id,
            step_result=StepResult(**result),
            output=StepOutput(
                text="".join(step.text),
                tool_calls=[_summary(c) for c in step.calls],
                usage=usage,
                **output,
            ),
            metadata=self._metadata(),
            processorRetryCount=0,  # as in Mastra (no output processors here)
        )

    def _metadata(self) -> StepMetadata:
        step = self._step
        response = step.response
        model = self.config.model
        fields: dict[str, Any] = {
            "id": response.get("id") or f"resp-{self.message_id}",
            "model_id": response.get("model_id") or model.model_id,
            "provider": model.provider,
            "timestamp": response.get("timestamp") or now_ms(),
        }
        if not response:  # as in Mastra: the model's version and provider stand in
            fields["modelVersion"] = model.specification_version
            fields["modelProvider"] = model.provider
        fields["model_metadata"] = {
            "modelId": model.model_id,
            "modelVersion": model.specification_version,
            "modelProvider": model.provider,
        }
        fields["request"] = {}
        if step.provider_metadata is not MISSING:
            fields["providerMetadata"] = step.provider_metadata
        return StepMetadata(**fields)

    def _emit_finish(self, last: StepFinishPayload) -> None:
        """Emit ``finish``: the last ``step-finish`` payload with the run's total usage.

        As in Mastra, whose ``finish`` is the last step's payload with ``output.usage``
        replaced by the total (the ``raw`` usage stays the last step's).
        """
        self._ended = True
        payload = last
        if self._step_count > 1:
            output = last.output.model_copy(update={"usage": self._with_raw(self._total)})
            payload = last.model_copy(update={"output": output})
        self._emit(Finish(run_id=self.run_id, payload=payload))
        observer = self._observer
        self._release()
        if observer is not None and not self._disposed:
            observer.on_completed()

    def _release(self) -> None:
        """Drop the references to the subscriber, so a finished run holds no cycle."""
        self._observer = None
        self._emit = _drop

    def _fail(self, error: ErrorInfo, *, typed: bool = False) -> None:
        """End the step and the run after a model failure: close, error, step-finish, finish."""
        if self._failed:
            return
        self._failed = True
        subscription, self._model_subscription = self._model_subscription, None
        if subscription is not None:
            subscription.dispose()
        self._close_blocks()
        step = self._step
        step.reason = "error"
        payload = (
            AgentErrorPayload(error=error, type="error")  # Mastra passes the model's part on
            if typed
            else AgentErrorPayload(error=error)
        )
        self._emit(AgentError(run_id=self.run_id, payload=payload))
        for call in step.calls:
            failure = ErrorInfo(
                name="ToolExecutionError",
                message="the tool was not run: the model call failed",
            )
            step.results.append((call, None, failure))
            self._emit(self._result_chunk(call, None, failure))
        self._total = self._total + step.usage
        last = self._step_payload(False, step.usage)
        self._emit(StepFinish(run_id=self.run_id, payload=last))
        self._emit_finish(last)

    # --- structured output ----------------------------------------------------------------

    def _emit_partial_object(self) -> None:
        partial = parse_partial_json("".join(self._step.text))
        if partial is None or partial == self._step.last_object:
            return
        self._step.last_object = partial
        self._emit(ObjectChunk(run_id=self.run_id, payload=ObjectPayload(object=partial)))

    def _emit_object_result(self) -> None:
        schema = self.config.output
        assert schema is not None
        try:
            value = schema.model_validate_json("".join(self._step.text))
        except ValidationError as err:
            self.object_error = err
            return
        self.object = value
        self._emit(
            ObjectResult(
                run_id=self.run_id,
                payload=ObjectPayload(object=value.model_dump(mode="json", by_alias=True)),
            )
        )

    # --- conversation ---------------------------------------------------------------------

    def _record_messages(self) -> None:
        step = self._step
        content: list[dict[str, Any]] = []
        for block in step.reasoning_blocks.values():
            reasoning: dict[str, Any] = {"type": "reasoning", "text": "".join(block["text"])}
            if block.get("meta"):
                reasoning["providerOptions"] = block["meta"]
            content.append(reasoning)
        if step.text:
            content.append({"type": "text", "text": "".join(step.text)})
        content.extend(
            {
                "type": "tool-call",
                "toolCallId": c.tool_call_id,
                "toolName": c.tool_name,
                "input": {} if c.args is MISSING else c.args,
            }
            for c in step.calls
        )
        new: list[Message] = []
        if content:
            new.append({"role": "assistant", "content": content})
        if step.results:
            new.append(
                {
                    "role": "tool",
                    "content": [
                        {
                            "type": "tool-result",
                            "toolCallId": call.tool_call_id,
                            "toolName": call.tool_name,
                            "output": (
                                {"type": "json", "value": result}
                                if error is None
                                else {"type": "error-text", "value": error.message}
                            ),
                        }
                        for call, result, error in step.results
                    ],
                }
            )
        self._prompt.extend(new)
        self.response_messages.extend(new)


_HANDLERS: dict[str, Callable[[AgentRun, Any], None]] = {
    "text-start": AgentRun._on_text_start,
    "text-end": AgentRun._on_block_end,
    "reasoning-start": AgentRun._on_reasoning_start,
    "reasoning-delta": AgentRun._on_reasoning_delta,
    "reasoning-end": AgentRun._on_block_end,
    "tool-input-start": AgentRun._on_tool_input_start,
    "tool-input-delta": AgentRun._on_tool_input_delta,
    "tool-input-end": AgentRun._on_tool_input_end,
    "tool-call": AgentRun._on_tool_call,
    "finish": AgentRun._on_finish_part,
    "error": AgentRun._on_error_part,
    "response-metadata": AgentRun._on_response_metadata,
    "stream-start": AgentRun._on_stream_start,
}
"""Model part type → handler; a class-level table, so a run holds no cycle through it."""


def _summary(call: _Call) -> ToolCallSummary:
    fields: dict[str, Any] = {"tool_call_id": call.tool_call_id, "tool_name": call.tool_name}
    if call.args is not MISSING:
        fields["args"] = call.args
    if call.provider_metadata is not MISSING:
        fields["provider_metadata"] = call.provider_metadata
    return ToolCallSummary(**fields)


def _thrown(error: BaseException) -> ErrorInfo:
    """A model failure that was raised: ``{name, message, stack}`` as Mastra serialises it."""
    stack = "".join(traceback.format_exception(error)).rstrip()
    return ErrorInfo(name=type(error).__name__, message=str(error), stack=stack)


def block_end_chunk(run_id: str, block_id: str, kind: str) -> AgentChunk:
    """Return the chunk that closes an open block: ``text``, ``reasoning`` or ``tool-input``."""
    if kind == "text":
        return TextEnd(run_id=run_id, payload=TextBlockPayload(id=block_id, type="text-end"))
    if kind == "reasoning":
        return ReasoningEnd(run_id=run_id, payload=TextBlockPayload(id=block_id))
    return ToolCallInputStreamingEnd(
        run_id=run_id, payload=ToolCallInputStreamingEndPayload(tool_call_id=block_id)
    )


@dataclass
class _IdOnly:
    id: str


def _drop(chunk: AgentChunk) -> None:
    """Swallow chunks emitted after disposal."""


def error_info(error: Any) -> ErrorInfo:
    """Turn whatever a model reported as its error into an :class:`ErrorInfo`."""
    if isinstance(error, BaseException):
        return ErrorInfo.from_exception(error)
    if isinstance(error, ErrorInfo):
        return error
    if isinstance(error, str):
        return ErrorInfo(name="Error", message=error)
    try:
        return ErrorInfo.model_validate(error)
    except ValidationError:
        return ErrorInfo(name="Error", message=str(error))
