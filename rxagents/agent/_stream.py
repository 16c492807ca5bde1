"""``AgentStream``: one agent run shared by every reader, with awaitable results."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from reactivex import abc

from rxagents._core.run_stream import ChunkBuffer, RunResult, RunStream, fail_quietly
from rxagents.errors import ConfigurationError, RunError, RunFailedError
from rxagents.events import (
    AgentChunk,
    ErrorInfo,
    Finish,
    ToolCallApprovalPayload,
    ToolCallPayload,
    ToolCallSuspendedPayload,
    ToolErrorPayload,
    ToolResultPayload,
    compact_chunk,
    compact_text,
    expand_chunk,
)
from rxagents.models import Message
from rxagents.operators import usage_of
from rxagents.usage import Usage

__all__ = ("AgentSource", "AgentStep", "AgentStream")

_O = TypeVar("_O", bound=BaseModel)


@dataclass(frozen=True)
class AgentStep:
    """What one model call of a run produced."""

    text: str
    """The step's text."""
    reasoning: str
    """The step's reasoning text."""
    tool_calls: list[ToolCallPayload] = field(default_factory=list)
    """The step's tool calls."""
    tool_results: list[ToolResultPayload | ToolErrorPayload] = field(default_factory=list)
    """Their results and errors, in call order."""
    finish_reason: str = "other"
    """Why the model stopped."""
    usage: Usage = Usage.zero
    """The step's usage."""


class AgentSource(Protocol):
    """What an :class:`AgentStream` reads of its run: a local run, or a remote one.

    ``object`` and ``object_error`` must be final when the run completes; ``closing_chunks``
    is called on cancellation, before the subscription is disposed.
    """

    @property
    def run_id(self) -> str:
        """The run's id."""
        ...

    @property
    def output(self) -> type[BaseModel] | None:
        """The structured-output model the run was given, if any."""
        ...

    @property
    def object(self) -> Any:
        """The validated structured output, once the run produced it."""
        ...

    @property
    def object_error(self) -> Exception | None:
        """Why the structured output failed validation, if it did."""
        ...

    @property
    def response_messages(self) -> list[Message]:
        """The assistant and tool messages the run produced."""
        ...

    def subscribe(self, observer: abc.ObserverBase[AgentChunk], /) -> abc.DisposableBase:
        """Start the run (once); the disposable stops it."""
        ...

    def closing_chunks(self) -> list[AgentChunk]:
        """Return the chunks that end a cancelled run (``abort`` last)."""
        ...


class AgentStream(RunStream[AgentChunk], Generic[_O]):
    """A running agent run: iterate it, read ``text_stream``, await its results.

    Every reader shares one run and replays what already happened, so ``text_stream``,
    ``await stream.text`` and ``async for chunk in stream`` can be combined in any order; the
    model is called once. See :class:`~rxagents._core.run_stream.RunStream` for
    cancellation and buffering.
    """

    def __init__(self, run: AgentSource) -> None:
        self._run = run
        self._results: dict[str, asyncio.Future[Any]] = {}
        """The result futures asked for so far, by name: made on demand, resolved at the end."""
        self._outcome: dict[str, Any] | None = None
        """Every result of the ended run (a :class:`_Failure` for one that raises): folded
        from the chunks once, when first needed (a reader that only iterates never needs it)."""
        super().__init__(
            run,
            closing_chunks=run.closing_chunks,
            compact=compact_chunk,
            expand=expand_chunk,
            peek_text=compact_text,
        )

    @property
    def run_id(self) -> str:
        """The run's id (every chunk's ``runId``)."""
        return self._run.run_id

    @property
    def message_id(self) -> str | None:
        """The id of the assistant message the run's chunks carry (``None`` when unknown).

        A continued paused run has a new one, the one its chunks carry (as in Mastra's chunks;
        Mastra's stream object reports yet another id).
        """
        value = getattr(self._run, "message_id", None)
        return value if isinstance(value, str) else None

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The text deltas of every step, as they stream (replayed for late readers)."""
        return self._follow("text-delta")

    @property
    def text(self) -> RunResult[str]:
        """The last step's text (as in Mastra); on error, the text received."""
        return self._result("text")

    @property
    def finish_reason(self) -> RunResult[str]:
        """Why the run ended: ``stop``, ``tool-calls``, ``error``, ``abort``, ``suspended``.

        ``suspended``: the run paused on a tool call (see :attr:`pending_tool_calls`).
        """
        return self._result("finish_reason")

    @property
    def usage(self) -> RunResult[Usage]:
        """Token usage summed over every step (a paused run: every model call so far)."""
        return self._result("usage")

    @property
    def pending_tool_calls(
        self,
    ) -> RunResult[list[ToolCallApprovalPayload | ToolCallSuspendedPayload]]:
        """The calls a paused run waits on (empty when the run did not pause).

        Answer them with ``agent.approve_tool_call``, ``decline_tool_call`` or
        ``resume_stream`` and this stream's :attr:`run_id`.
        """
        return self._result("pending_tool_calls")

    @property
    def tool_calls(self) -> RunResult[list[ToolCallPayload]]:
        """Every tool call of the run, in order."""
        return self._result("tool_calls")

    @property
    def tool_results(self) -> RunResult[list[ToolResultPayload | ToolErrorPayload]]:
        """Every tool result or error of the run, in order."""
        return self._result("tool_results")

    @property
    def steps(self) -> RunResult[list[AgentStep]]:
        """One :class:`AgentStep` per model call."""
        return self._result("steps")

    @property
    def object(self) -> RunResult[_O]:
        """The validated structured output (with ``output=Model``).

        Awaiting it raises :class:`pydantic.ValidationError` when the model's output did not
        validate, or :class:`~rxagents.errors.ConfigurationError` without ``output``.
        """
        return self._result("object")

    @property
    def error(self) -> ErrorInfo | Exception | None:
        """The run's error once it ended (``None`` when it succeeded or is still running)."""
        if not self.done:
            return None
        error: ErrorInfo | Exception | None = self._outcomes()["error"]
        return error

    async def raise_for_error(self) -> None:
        """Wait for the run to end; raise :class:`~rxagents.errors.RunFailedError` if it failed.

        A failed model call (a wrong API key, a provider's 500 after retries, a dropped
        connection) does not raise by itself: it ends the stream with an ``error`` chunk, as in
        Mastra, and ``await stream.text`` gives the text received. Call this to fail loudly.
        Cancellation is not a failure.

        Example:
            >>> stream = await agent.stream("hi")  # doctest: +SKIP
            >>> await stream.raise_for_error()  # doctest: +SKIP
        """
        try:
            await self.finish_reason
        except Exception as err:
            raise run_failed(err) from err
        error = self.error
        if error is not None:
            failure = run_failed(error)
            raise failure from failure.__cause__

    @property
    def response_messages(self) -> list[dict[str, Any]]:
        """The assistant and tool messages the run produced."""
        return self._run.response_messages

    def _result(self, name: str) -> RunResult[Any]:
        future = self._results.get(name)
        if future is None:
            future = self._results[name] = self._future()
            if self.done:
                self._resolve(name, future)
        return RunResult(self, future)

    def _settle(self, chunks: ChunkBuffer[AgentChunk], error: Exception | None) -> None:
        for name, future in self._results.items():
            self._resolve(name, future)

    def _resolve(self, name: str, future: asyncio.Future[Any]) -> None:
        value = self._outcomes()[name]
        if isinstance(value, _Failure):
            fail_quietly(future, value.error)
        else:
            future.set_result(value)

    def _outcomes(self) -> dict[str, Any]:
        """Every result of the ended run, folded from its chunks on first use."""
        if self._outcome is None:
            self._outcome = self._fold(self.chunks, self._error)
        return self._outcome

    def _fold(self, chunks: ChunkBuffer[AgentChunk], error: Exception | None) -> dict[str, Any]:
        if error is not None:
            failed = _Failure(error)
            return dict.fromkeys(_RESULTS, failed) | {"error": error}
        # the stored items, read without expanding compact deltas: none of them is an error,
        # a tool call or a usage report, and steps take their text straight from the tuple
        items = chunks.raw
        steps = _steps_of(items)
        last = chunks[-1] if chunks else None
        usage = Usage.zero
        outcome: dict[str, Any] = {}
        paused = last is not None and last.type in _PAUSES
        outcome["pending_tool_calls"] = (
            [c.payload for c in items if type(c) is not tuple and c.type in _PAUSES]
            if paused
            else []
        )
        if paused:
            # paused: as in Mastra, no text; unlike Mastra, the usage so far
            outcome["text"] = ""
            outcome["finish_reason"] = "suspended"
            usage = getattr(self._run, "usage_so_far", Usage.zero)
        elif isinstance(last, Finish):
            outcome["text"] = last.payload.output.text
            outcome["finish_reason"] = last.payload.step_result.reason
            usage = Usage.zero + last.payload.output.usage  # the counters, without ``raw``
        else:
            outcome["text"] = steps[-1].text if steps else ""
            outcome["finish_reason"] = "abort" if self.cancelled else "other"
            for chunk in items:
                counted = None if type(chunk) is tuple else usage_of(chunk)
                if counted is not None:
                    usage = usage + counted
        outcome["usage"] = usage
        outcome["tool_calls"] = [c for s in steps for c in s.tool_calls]
        outcome["tool_results"] = [r for s in steps for r in s.tool_results]
        outcome["steps"] = steps
        outcome["error"] = None
        for chunk in items:
            if type(chunk) is not tuple and chunk.type == "error":
                outcome["error"] = chunk.payload.error
        run = self._run
        if run.output is None:
            outcome["object"] = _Failure(
                ConfigurationError("no structured output: pass output=Model")
            )
        elif run.object is not None:
            outcome["object"] = run.object
        elif run.object_error is not None:
            outcome["object"] = _Failure(run.object_error)
        else:
            reason = "the run was cancelled" if self.cancelled else "the run ended without it"
            outcome["object"] = _Failure(RunError(f"no structured output: {reason}"))
        return outcome


_PAUSES = frozenset({"tool-call-approval", "tool-call-suspended"})
"""The chunks a paused run ends with."""

_RESULTS = (
    "text",
    "finish_reason",
    "usage",
    "tool_calls",
    "tool_results",
    "steps",
    "object",
    "pending_tool_calls",
)
"""The awaitable results of an :class:`AgentStream`."""


@dataclass(frozen=True)
class _Failure:
    """A result that raises ``error`` when awaited."""

    error: BaseException


def run_failed(error: ErrorInfo | BaseException) -> RunFailedError:
    """The :class:`RunFailedError` for what a run reported (its cause set when known)."""
    if isinstance(error, BaseException):
        failure = RunFailedError(f"the run failed: {error}", error=ErrorInfo.from_exception(error))
        failure.__cause__ = error
        return failure
    cause = error.exception
    status = getattr(cause, "status", None)
    if status is None:
        extra = error.model_extra or {}
        status = extra.get("status") or extra.get("statusCode")
    failure = RunFailedError(
        f"the run failed: {error}",
        error=error,
        status=status if isinstance(status, int) else None,
    )
    failure.__cause__ = cause
    return failure


def _steps_of(chunks: Sequence[Any]) -> list[AgentStep]:
    """One step per ``step-start … step-finish``; ``chunks`` may hold compact deltas."""
    steps: list[AgentStep] = []
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCallPayload] = []
    results: list[ToolResultPayload | ToolErrorPayload] = []
    reason = "other"
    usage = Usage.zero
    started = False

    def close() -> None:
        steps.append(
            AgentStep("".join(text), "".join(reasoning), list(calls), list(results), reason, usage)
        )

    # dispatched on the wire type: isinstance checks against pydantic classes (ABCs) cost a
    # few times more, and every kind below is one class
    for chunk in chunks:
        if type(chunk) is tuple:
            delta = compact_text(chunk)
            if delta is not None:
                (text if delta[0] == "text-delta" else reasoning).append(delta[1])
            continue
        kind = chunk.type
        if kind == "text-delta":
            text.append(chunk.payload.text)
        elif kind == "reasoning-delta":
            reasoning.append(chunk.payload.text)
        elif kind == "step-start":
            started = True
            text, reasoning, calls, results = [], [], [], []
            reason, usage = "other", Usage.zero
        elif kind == "tool-call":
            calls.append(chunk.payload)
        elif kind == "tool-result" or kind == "tool-error":
            results.append(chunk.payload)
        elif kind == "step-finish":
            summaries = chunk.payload.output.tool_calls
            if not started and not calls and isinstance(summaries, list):
                # the step a resumed stream finishes began before the pause
                calls = [
                    ToolCallPayload.model_validate(c.model_dump(by_alias=True)) for c in summaries
                ]
            reason = chunk.payload.step_result.reason
            usage = chunk.payload.output.usage
            close()
            started = False
        elif kind == "abort" and started:
            reason = "abort"
            close()
            started = False
    return steps
