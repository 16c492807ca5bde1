"""``stream_legacy()``: the tool loop for v1 models, emitting the legacy vocabulary."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from reactivex import abc

from rxagents._core.run_stream import ChunkBuffer, RunResult, RunStream, fail_quietly
from rxagents._core.rx import OneShotRun
from rxagents.agent._loop import RunConfig
from rxagents.errors import ToolExecutionError
from rxagents.events import ErrorInfo
from rxagents.events.legacy import (
    LegacyChunk,
    LegacyError,
    LegacyFinish,
    LegacyStepFinish,
    LegacyStepStart,
    LegacyTextDelta,
    LegacyToolCall,
    LegacyToolResult,
    LegacyUsage,
)
from rxagents.models import LanguageModelV1, Message, ModelCall, V1ModelPart
from rxagents.usage import Usage

__all__ = ("LegacyRun", "LegacyStream")


class LegacyRun(OneShotRun[LegacyChunk]):
    """One legacy run; subscribe once."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.model: LanguageModelV1 = config.model  # type: ignore[assignment]  # checked by Agent
        self.message_id = str(uuid.uuid4())
        self._prompt = list(config.prompt)
        self._subscription: abc.DisposableBase | None = None
        self._task: asyncio.Task[None] | None = None
        self._steps = 0
        self._total = Usage.zero
        self._text: list[str] = []
        self._calls: list[LegacyToolCall] = []
        self._reason = "other"
        self._usage = Usage.zero
        self._failed = False

    def _begin(self) -> None:
        self._start_step()

    def _stop(self) -> None:
        if self._subscription is not None:
            self._subscription.dispose()
        if self._task is not None:
            self._task.cancel()

    def _emit(self, chunk: LegacyChunk) -> None:
        if not self._disposed and self._observer is not None:
            self._observer.on_next(chunk)

    def _start_step(self) -> None:
        self._steps += 1
        self._text, self._calls, self._reason, self._usage = [], [], "other", Usage.zero
        self._emit(LegacyStepStart(message_id=self.message_id))
        call = ModelCall(
            prompt=self._prompt,
            tools=[tool.spec(name) for name, tool in self.config.tools.items()],
            **self.config.settings,
        )
        try:
            self._subscription = self.model.do_stream(call).subscribe(
                self._on_part, self._on_error, self._on_completed
            )
        except Exception as err:
            self._fail(ErrorInfo.from_exception(err))

    def _on_part(self, part: V1ModelPart) -> None:
        if self._failed or self._disposed:
            return
        if part.type == "text-delta":
            if part.text_delta:
                self._text.append(part.text_delta)
                self._emit(LegacyTextDelta(text_delta=part.text_delta))
        elif part.type == "tool-call":
            try:
                args = json.loads(part.args) if part.args.strip() else {}
            except ValueError:
                args = part.args
            chunk = LegacyToolCall(
                tool_call_id=part.tool_call_id, tool_name=part.tool_name, args=args
            )
            self._calls.append(chunk)
            self._emit(chunk)
        elif part.type == "finish":
            self._reason = part.finish_reason
            self._usage = part.usage.to_usage()
        elif part.type == "error":
            self._fail(ErrorInfo.from_value(part.error))

    def _on_error(self, error: Exception) -> None:
        if not self._failed and not self._disposed:
            self._fail(ErrorInfo.from_exception(error))

    def _on_completed(self) -> None:
        if self._failed or self._disposed:
            return
        if self._calls:
            self._task = asyncio.get_running_loop().create_task(self._run_tools())
        else:
            self._end_step()

    async def _run_tools(self) -> None:
        results: list[dict[str, Any]] = []
        for call in self._calls:
            tool = self.config.tools.get(call.tool_name)
            try:
                if tool is None:
                    raise ToolExecutionError(
                        f"unknown tool {call.tool_name!r}", tool_name=call.tool_name
                    )
                value = await tool.run(call.args)
                chunk = LegacyToolResult(
                    tool_call_id=call.tool_call_id,
                    tool_name=call.tool_name,
                    args=call.args,
                    result=value,
                )
            except Exception as err:
                info = ErrorInfo.from_exception(err)
                chunk = LegacyToolResult(
                    tool_call_id=call.tool_call_id,
                    tool_name=call.tool_name,
                    args=call.args,
                    result={"name": info.name, "message": info.message},
                    is_error=True,
                )
            self._emit(chunk)
            results.append(
                {
                    "type": "tool-result",
                    "toolCallId": call.tool_call_id,
                    "toolName": call.tool_name,
                    "output": {"type": "json", "value": chunk.result},
                }
            )
        self._remember(results)
        self._end_step()

    def _remember(self, results: list[dict[str, Any]]) -> None:
        content: list[dict[str, Any]] = []
        if self._text:
            content.append({"type": "text", "text": "".join(self._text)})
        content.extend(
            {
                "type": "tool-call",
                "toolCallId": c.tool_call_id,
                "toolName": c.tool_name,
                "input": c.args,
            }
            for c in self._calls
        )
        messages: list[Message] = [{"role": "assistant", "content": content}]
        if results:
            messages.append({"role": "tool", "content": results})
        self._prompt.extend(messages)

    def _end_step(self) -> None:
        continued = bool(self._calls) and self._steps < self.config.max_steps
        self._total = self._total + self._usage
        self._emit(
            LegacyStepFinish(
                message_id=self.message_id,
                finish_reason=self._reason,
                usage=_legacy_usage(self._usage),
                is_continued=continued,
            )
        )
        if continued:
            self._start_step()
            return
        self._finish()

    def _finish(self) -> None:
        self._emit(LegacyFinish(finish_reason=self._reason, usage=_legacy_usage(self._total)))
        if not self._disposed and self._observer is not None:
            self._observer.on_completed()

    def _fail(self, error: ErrorInfo) -> None:
        self._failed = True
        if self._subscription is not None:
            self._subscription.dispose()
        self._reason = "error"
        self._emit(LegacyError(error=error))
        self._total = self._total + self._usage
        self._emit(
            LegacyStepFinish(
                message_id=self.message_id,
                finish_reason="error",
                usage=_legacy_usage(self._usage),
                is_continued=False,
            )
        )
        self._finish()


def _legacy_usage(usage: Usage) -> LegacyUsage:
    return LegacyUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
    )


class LegacyStream(RunStream[LegacyChunk]):
    """A running legacy run: iterate it; ``text_stream``, ``text``, ``finish_reason``, ``usage``."""

    def __init__(self, run: LegacyRun) -> None:
        loop = asyncio.get_running_loop()
        self._text: asyncio.Future[str] = loop.create_future()
        self._finish_reason: asyncio.Future[str] = loop.create_future()
        self._usage: asyncio.Future[LegacyUsage] = loop.create_future()
        super().__init__(run.observable())

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Every step's text deltas."""
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        async for chunk in self:
            if chunk.type == "text-delta":
                yield chunk.text_delta

    @property
    def text(self) -> RunResult[str]:
        """The last step's text."""
        return RunResult(self, self._text)

    @property
    def finish_reason(self) -> RunResult[str]:
        """Why the run ended."""
        return RunResult(self, self._finish_reason)

    @property
    def usage(self) -> RunResult[LegacyUsage]:
        """Usage over all steps, in the v1 shape."""
        return RunResult(self, self._usage)

    def _settle(self, chunks: ChunkBuffer[LegacyChunk], error: Exception | None) -> None:
        step_text: list[str] = []
        reason = "abort" if self.cancelled else "other"
        usage = LegacyUsage()
        for chunk in chunks:
            if chunk.type == "step-start":
                step_text = []
            elif chunk.type == "text-delta":
                step_text.append(chunk.text_delta)
            elif chunk.type == "finish":
                reason, usage = chunk.finish_reason, chunk.usage
        settle: list[tuple[asyncio.Future[Any], Callable[[], Any]]] = [
            (self._text, lambda: "".join(step_text)),
            (self._finish_reason, lambda: reason),
            (self._usage, lambda: usage),
        ]
        for future, value in settle:
            if error is not None:
                fail_quietly(future, error)
            else:
                future.set_result(value())
