"""The agent's tool loop: one cold Observable of agent chunks per run.

A run is a small state machine driven by the model's part stream. Each model call is one
``step-start … step-finish`` block; tool calls are executed after the model's call completed,
their results emitted in call order before the step's ``step-finish``; a new step follows while
the model keeps calling tools and ``max_steps`` allows. Disposing the subscription disposes the
model's Observable (closing its HTTP request) and cancels running tools.

A call that needs approval, or whose tool suspends itself, pauses the run: the other calls'
results are emitted, the run's state is saved (see :mod:`rxagents.agent._suspend`), then the
``tool-call-approval`` / ``tool-call-suspended`` chunks end the stream (no ``step-finish``). A
run built with ``RunConfig.resume`` continues a paused run: no ``start``, the answered call's
result (or ``tool-output-denied``), the straddling step's ``step-finish``, the next steps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import MISSING, BaseModel, ValidationError
from reactivex import abc

from rxagents._core.clock import now_ms
from rxagents._core.ids import random_id
from rxagents._core.partial_json import parse_partial_json
from rxagents._core.rx import OneShotRun, subscribe_direct
from rxagents._core.wire import trusted_builder, with_extra
from rxagents.agent._part_handlers import HANDLERS, PartHandlers
from rxagents.agent._pause import PauseHandling, Resume, RunApprovalPolicy
from rxagents.agent._step_state import PendingCall, StepState, result_chunk
from rxagents.agent._suspend import Pending
from rxagents.agent._tool_calls import execute_call
from rxagents.agent._writer import ToolWriter
from rxagents.agent.tools import Tool, ToolSuspended
from rxagents.events import (
    Abort,
    AgentChunk,
    AgentError,
    AgentErrorPayload,
    ChunkBase,
    ErrorInfo,
    Finish,
    ObjectChunk,
    ObjectPayload,
    ObjectResult,
    Start,
    StartPayload,
    StepFinish,
    StepFinishPayload,
    StepStart,
    StepStartPayload,
    TextDelta,
    TextDeltaPayload,
    text_delta_shape,
)
from rxagents.models import LanguageModel, Message, ModelCall, ModelPart
from rxagents.operators import usage_of
from rxagents.storage import Storage
from rxagents.usage import Usage

__all__ = ("AgentRun", "RunConfig")

_log = logging.getLogger(__name__)

_text_delta = trusted_builder(TextDelta, "run_id", "payload")
_text_delta_payload = trusted_builder(TextDeltaPayload, "id", "text")
_TEXT_DELTA = text_delta_shape()
# chunks built from values the loop made itself: no validation, identical to validated ones
_start = trusted_builder(Start, "run_id", "payload")
_start_payload = trusted_builder(StartPayload, "id", "message_id")
_step_start = trusted_builder(StepStart, "run_id", "payload")
_step_start_payload = trusted_builder(
    StepStartPayload, "request", "warnings", "message_id", "started_at"
)
_step_finish = trusted_builder(StepFinish, "run_id", "payload")
_model_call = trusted_builder(ModelCall, "prompt", "tools", "response_format")
_finish = trusted_builder(Finish, "run_id", "payload")


@dataclass(slots=True)
class RunConfig:
    """Everything one agent run needs; built by ``Agent`` from its settings and the call's.

    Read-only by convention (``dataclasses.replace`` makes variants): not a frozen dataclass,
    whose ``__init__`` sets each field through ``object.__setattr__`` — a few microseconds on
    every run.
    """

    agent_id: str
    model: LanguageModel
    prompt: list[Message]
    tools: Mapping[str, Tool] = field(default_factory=dict)
    max_steps: int = 5
    settings: Mapping[str, Any] = field(default_factory=dict)
    output: type[BaseModel] | None = None
    run_id: str | None = None
    require_tool_approval: RunApprovalPolicy = False
    """Whether every call waits for approval (a flag, or a function of name and args)."""
    storage: Storage | None = None
    """Where a paused run's state is saved (required for a run to pause)."""
    resume: Resume | None = None
    """The paused run this run continues, and the answer to its pending call."""


class AgentRun(OneShotRun[AgentChunk], PartHandlers, PauseHandling):
    """One agent run; :meth:`subscribe` starts it (once)."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.run_id = config.run_id or random_id()
        self.message_id = random_id()
        self.response_messages: list[Message] = []
        """The assistant and tool messages this run produced (for memory)."""
        self.object: Any = None
        """The validated structured output, when ``output`` was given and it validated."""
        self.object_error: Exception | None = None
        """Why the structured output failed validation, if it did."""
        self._prompt = list(config.prompt)
        self._step = StepState()
        self._step_count = 0
        self._total = Usage.zero
        self._emit: Callable[[AgentChunk], None] = _drop
        self._emit_compact: Callable[[tuple[Any, ...]], None] | None = None
        self._model_subscription: abc.DisposableBase | None = None
        self._tool_task: asyncio.Task[None] | None = None
        self._failed = False
        self._ended = False
        self.pending: list[Pending] = []
        """The calls a paused run waits on (empty unless it paused)."""
        self.usage_so_far = Usage.zero
        """The usage of a paused run up to its pause (every model call of the run)."""
        self._claim_version: int | None = None if config.resume is None else config.resume.version
        """The version of the claimed snapshot while a resumed run holds it."""
        self._resumed_step = False
        self._nested = False
        """Whether tools reported nested usage (the ``finish`` total then differs from the
        last step's)."""

    @property
    def output(self) -> type[BaseModel] | None:
        """The structured-output model of the run, if any."""
        return self.config.output

    # --- Rx plumbing ----------------------------------------------------------------------

    def subscribe(
        self, observer: abc.ObserverBase[AgentChunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        """Start the run from the next event-loop callback; the disposable stops it."""
        disposable = super().subscribe(observer, scheduler)
        self._emit = observer.on_next
        # a replay buffer taking compact chunks: text deltas go to it unbuilt
        self._emit_compact = getattr(observer, "on_compact", None)
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
        self._give_back_claim()

    def closing_chunks(self) -> list[AgentChunk]:
        """Chunks that close what is open, then ``abort`` (used when the run is cancelled)."""
        if self._ended:
            return []
        chunks = self._step.blocks.closing_chunks(self.run_id)
        chunks.append(Abort(run_id=self.run_id))
        return chunks

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
        self._guard(self._emit_start if self.config.resume is None else self._resume)

    def _emit_start(self) -> None:
        self._emit(_start(self.run_id, _start_payload(self.config.agent_id, self.message_id)))
        self._start_step()

    def _start_step(self) -> None:
        if self._disposed:
            return
        self._step = StepState()
        self._step_count += 1
        self._failed = False
        self._emit(_step_start(self.run_id, _step_start_payload({}, [], self.message_id, now_ms())))
        config = self.config
        tools = [tool.spec(name) for name, tool in config.tools.items()]
        response_format = (
            {"type": "json", "schema": config.output.model_json_schema()}
            if config.output is not None
            else None
        )
        if config.settings:
            call = ModelCall(
                prompt=self._prompt, tools=tools, response_format=response_format, **config.settings
            )
        else:  # nothing to validate: each message copied, as validation copies them
            call = _model_call([dict(m) for m in self._prompt], tools, response_format)
        try:
            source = config.model.do_stream(call)
            self._model_subscription = subscribe_direct(
                source, self._on_part, self._on_model_error, self._on_model_completed
            )
        except Exception as err:  # the model failed before streaming anything
            self._step.warnings_always = True  # as in Mastra: stepResult.warnings is []
            self._log_model_failure(err)
            self._fail(ErrorInfo.from_exception(err), typed=True)

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
                if not step.blocks.is_open(part.id, "text"):
                    self._on_text_start(part)
                step.text.append(delta)
                if self.config.output is not None:
                    # as in Mastra: the object parsed so far comes before the delta it includes
                    self._emit_partial_object()
                if part.provider_metadata is MISSING:
                    emit_compact = self._emit_compact
                    if emit_compact is not None:
                        emit_compact((_TEXT_DELTA, self.run_id, part.id, delta))
                        return
                    payload = _text_delta_payload(part.id, delta)
                else:
                    payload = TextDeltaPayload.model_validate(
                        {"id": part.id, "text": delta, "providerMetadata": part.provider_metadata}
                    )
                self._emit(_text_delta(self.run_id, payload))
                return
            handler = HANDLERS.get(part.type)
            if handler is not None:
                handler(self, part)
        except Exception as err:
            _log.exception("agent run %s failed on a model part", self.run_id)
            self._error_out(err)

    def _on_model_error(self, error: Exception) -> None:
        self._model_subscription = None
        if not self._failed and not self._disposed:
            self._log_model_failure(error)
            self._guard(lambda: self._fail(ErrorInfo.from_exception(error)))

    def _log_model_failure(self, error: Exception) -> None:
        """Log a raised model failure once, at info: one line, the traceback only at debug level.

        The stream carries ``{name, message}``; the traceback stays in process (the error's
        ``exception``) and in this log record when debugging.
        """
        _log.info(
            "agent run %s: the model call failed: %s: %s",
            self.run_id,
            type(error).__name__,
            error,
            exc_info=error if _log.isEnabledFor(logging.DEBUG) else None,
        )

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

    async def _run_tools(self, calls: list[PendingCall]) -> None:
        model_id = self.config.model.model_id
        tools = self.config.tools
        waiting = {c.tool_call_id for c in calls if self._needs_approval(c)}
        writers = {c.tool_call_id: self._writer(c) for c in calls if c.tool_call_id not in waiting}
        tasks = {
            call.tool_call_id: asyncio.ensure_future(
                execute_call(
                    tools,
                    call,
                    model_id,
                    self.run_id,
                    writer=writers[call.tool_call_id],
                    messages=self._prompt,
                )
            )
            for call in calls
            if call.tool_call_id not in waiting
        }
        pending: list[Pending] = []
        try:
            for call in calls:
                task = tasks.get(call.tool_call_id)
                if task is None:
                    pending.append(self._approval(call))
                    continue
                result, error = await task
                if self._disposed:
                    return
                if isinstance(result, ToolSuspended):
                    pending.append(self._suspension(call, result))
                    continue
                self._emit_result(call, result, error, writers[call.tool_call_id])
        finally:
            for task in tasks.values():
                task.cancel()
            for writer in writers.values():
                writer.close()
        self._tool_task = None
        if pending:
            await self._pause(pending)
            return
        self._guard(self._end_step)

    def _writer(self, call: PendingCall) -> ToolWriter:
        """The call's ``ctx.writer``: its chunks go straight into this run's stream."""
        return ToolWriter(self.run_id, call.tool_call_id, call.tool_name, self._emit_written)

    def _emit_written(self, chunk: ChunkBase) -> None:
        """Emit what a tool wrote; nested model calls in it count in the run's usage."""
        if self._disposed:
            return
        usage = usage_of(chunk)
        if usage is not None:
            self._total = self._total + usage
            self._nested = True
        self._emit(chunk)  # type: ignore[arg-type]  # a tool-output or a data chunk

    def _emit_result(
        self, call: PendingCall, result: Any, error: ErrorInfo | None, writer: ToolWriter
    ) -> None:
        """Record the call's outcome and emit its ``tool-result`` / ``tool-error``.

        A tool with ``to_model_output`` gives the model that instead of the result.
        """
        model_output: Any = MISSING
        tool = self.config.tools.get(call.tool_name)
        if error is None and tool is not None and tool.to_model_output is not None:
            try:
                model_output = tool.to_model_output(result)
            except Exception as err:
                _log.debug("tool %r: to_model_output raised", call.tool_name, exc_info=True)
                result, error = None, ErrorInfo.from_exception(err)
            else:
                self._step.model_outputs[call.tool_call_id] = model_output
        self._step.results.append((call, result, error))
        hidden = writer.hidden_usage
        usage = None
        if hidden.total_tokens or hidden.input_tokens or hidden.output_tokens:
            usage = hidden
            self._total = self._total + hidden
            self._nested = True
        self._emit(result_chunk(self.run_id, call, result, error, usage, model_output))

    def _end_step(self) -> None:
        step = self._step
        has_calls = bool(step.calls)
        is_continued = has_calls and self._step_count < self.config.max_steps
        if not has_calls and self.config.output is not None:
            self._emit_object_result()
        self._total = self._total + step.usage
        payload = self._step_payload(is_continued, self._with_raw(step.usage))
        self._resumed_step = False
        self._emit(_step_finish(self.run_id, payload))
        new = self._step.messages()
        self._prompt.extend(new)
        self.response_messages.extend(new)
        if is_continued:
            self._start_step()
            return
        self._emit_finish(payload)

    def _with_raw(self, usage: Usage) -> Usage:
        """``usage`` with the provider's usage of the current step as ``raw`` (as in Mastra)."""
        raw = self._step.raw_usage
        if raw is MISSING:
            return usage
        return with_extra(usage, "raw", raw)

    def _step_payload(self, is_continued: bool, usage: Usage) -> StepFinishPayload:
        return self._step.finish_payload(
            message_id=self.message_id,
            model=self.config.model,
            is_continued=is_continued,
            usage=usage,
            structured=self.object,
            resumed=self._resumed_step,
        )

    def _emit_finish(self, last: StepFinishPayload) -> None:
        """Emit ``finish``: the last ``step-finish`` payload with the run's total usage.

        As in Mastra, whose ``finish`` is the last step's payload with ``output.usage``
        replaced by the total (the ``raw`` usage stays the last step's).
        """
        self._ended = True
        payload = last
        if self._step_count > 1 or self._nested:
            output = last.output.model_copy(update={"usage": self._with_raw(self._total)})
            payload = last.model_copy(update={"output": output})
        if self._claim_version is not None:  # a resumed run: its snapshot goes first
            task = asyncio.get_running_loop().create_task(self._forget_paused())
            task.add_done_callback(lambda _: self._complete(payload))
            return
        self._complete(payload)

    def _complete(self, payload: StepFinishPayload) -> None:
        if self._disposed:
            return
        self._emit(_finish(self.run_id, payload))
        observer = self._observer
        self._release()
        if observer is not None and not self._disposed:
            observer.on_completed()

    def _release(self) -> None:
        """Drop the references to the subscriber, so a finished run holds no cycle."""
        self._observer = None
        self._emit = _drop
        self._emit_compact = None

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
            self._emit(result_chunk(self.run_id, call, None, failure))
        self._total = self._total + step.usage
        last = self._step_payload(False, step.usage)
        self._resumed_step = False
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


def _drop(chunk: AgentChunk) -> None:
    """Swallow chunks emitted after disposal."""
