"""The network's own model calls: routing, and the completion check after each iteration.

Each is a phase of the run: a lean Observable of network chunks that makes one structured
model call and completes. A failed call never fails the run: a routing failure is fed back to
the router like any unusable answer, a failed check does not pass.
"""

from __future__ import annotations

import logging
import time
import uuid
from abc import abstractmethod
from typing import Any

from pydantic import ValidationError
from reactivex import Observable, abc

from rxagents._core.partial_json import parse_partial_json
from rxagents._core.rx import lean
from rxagents.events import (
    Chunk,
    ErrorInfo,
    NetworkValidationEnd,
    NetworkValidationEndPayload,
    NetworkValidationStart,
    NetworkValidationStartPayload,
    RoutingAgentEnd,
    RoutingAgentEndPayload,
    RoutingAgentStart,
    RoutingAgentStartPayload,
    RoutingAgentTextDelta,
    RoutingAgentTextDeltaPayload,
    RoutingAgentTextStart,
    RoutingAgentTextStartPayload,
)
from rxagents.models import (
    FinishPart,
    Message,
    ModelCall,
    ModelErrorPart,
    ModelPart,
    TextDeltaPart,
)
from rxagents.network._primitives import Plan, parse_decision, strip_fences
from rxagents.network._prompts import (
    check_user_message,
    completion_feedback,
    router_state_message,
)
from rxagents.network._schemas import CHECK_FORMAT, ROUTING_FORMAT, CompletionVerdict
from rxagents.network._state import ROUTING_AGENT_ID, RunState
from rxagents.usage import Usage

__all__ = ("check_phase", "routing_phase", "with_raw")

_log = logging.getLogger(__name__)


class _Call(abc.DisposableBase):
    """One structured model call: text and usage collected, then :meth:`_done`."""

    def __init__(self, state: RunState, observer: abc.ObserverBase[Chunk]) -> None:
        self.state = state
        self.observer = observer
        self.text = ""
        self.usage = Usage.zero
        self.failure: str | None = None
        self.ended = False
        self.subscription: abc.DisposableBase | None = None

    def start(self, prompt: list[Message], response_format: dict[str, Any]) -> None:
        """Send the call."""
        if self.ended:  # disposed by a reader of the phase's first chunk
            return
        config = self.state.config
        try:
            call = ModelCall(prompt=prompt, response_format=response_format, **config.settings)
            source = config.model.do_stream(call)
            subscription = source.subscribe(self._on_part, self._on_error, self._on_completed)
        except Exception as err:  # the model failed before streaming anything
            self.failure = str(ErrorInfo.from_value(err))
            self._end()
            return
        if not self.ended:
            self.subscription = subscription

    def dispose(self) -> None:
        """Stop the call."""
        self.ended = True
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            subscription.dispose()

    def _on_part(self, part: ModelPart) -> None:
        if self.ended:
            return
        if isinstance(part, TextDeltaPart):
            self.text += part.delta
            self._on_text()
        elif isinstance(part, FinishPart):
            self.usage = part.usage
        elif isinstance(part, ModelErrorPart) and self.failure is None:
            self.failure = str(ErrorInfo.from_value(part.error))

    def _on_error(self, error: Exception) -> None:
        if self.failure is None:
            self.failure = str(ErrorInfo.from_value(error))
        self._end()

    def _on_completed(self) -> None:
        self._end()

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.subscription = None
        try:
            self._done()
        except Exception as err:  # a bug here: fail the run, not the event loop
            _log.exception("network run %s failed", self.state.run_id)
            self.observer.on_error(err)
            return
        self.observer.on_completed()

    def _on_text(self) -> None:
        """React to a text delta (the check streams its final answer)."""

    @abstractmethod
    def _done(self) -> None:
        """Emit the phase's last chunks from :attr:`text`, :attr:`usage`, :attr:`failure`."""
        ...


class _Routing(_Call):
    def __init__(self, state: RunState, observer: abc.ObserverBase[Chunk]) -> None:
        super().__init__(state, observer)
        state.iteration += 1
        config = state.config
        self.step_id = str(uuid.uuid4())
        observer.on_next(
            RoutingAgentStart(
                run_id=state.run_id,
                payload=RoutingAgentStartPayload(
                    network_id=config.network_id,
                    agent_id=ROUTING_AGENT_ID,
                    run_id=self.step_id,
                    input_data=_input_data(state),
                ),
            )
        )
        conversation, self.context = state.window()
        prompt: list[Message] = [
            {"role": "system", "content": config.router_system},
            *conversation,
            router_state_message(config.task, state.iteration, config.max_steps, state.feedback),
        ]
        self.start(prompt, ROUTING_FORMAT)

    def _done(self) -> None:
        state = self.state
        if self.failure is not None:
            _log.warning("network %s: the routing call failed: %s", state.run_id, self.failure)
            plan = Plan.invalid(f"the routing call failed: {self.failure}")
        else:
            decision = parse_decision(self.text)
            plan = (
                Plan.invalid(decision)
                if isinstance(decision, str)
                else state.config.primitives.resolve(decision)
            )
        state.plan = plan
        is_complete = plan.kind == "none"
        fields: dict[str, Any] = {
            "task": state.config.task,
            "result": plan.selection_reason if is_complete else "",
            "primitiveId": plan.primitive_id,
            "primitiveType": plan.primitive_type,
            "prompt": plan.prompt,
            "isComplete": is_complete,
            "selectionReason": plan.selection_reason,
            "iteration": state.iteration,
            "runId": self.step_id,
            "conversationContext": self.context,
        }
        state.routing_fields = fields
        self.observer.on_next(
            RoutingAgentEnd(
                run_id=state.run_id,
                payload=RoutingAgentEndPayload.model_validate(
                    {**fields, "usage": with_raw(self.usage)}
                ),
            )
        )


def with_raw(usage: Usage) -> Usage:
    """Return ``usage`` with the provider's own report as ``raw``, as Mastra adds it.

    A usage that already has a ``raw`` (a provider that sends one) is returned as it is.
    """
    extra = usage.__pydantic_extra__
    if extra and "raw" in extra:
        return usage
    raw = usage.model_dump(by_alias=True)
    return Usage.model_validate({**raw, "raw": raw})


def routing_phase(state: RunState) -> Observable[Chunk]:
    """Return the routing phase: ``routing-agent-start``, the call, ``routing-agent-end``.

    The decision is left in ``state.plan`` (``invalid`` with the reason when the answer could
    not be used).
    """

    def subscribe(
        observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return _Routing(state, observer)

    return lean(subscribe)


def _input_data(state: RunState) -> dict[str, Any]:
    """``routing-agent-start.payload.inputData``, in Mastra's two shapes."""
    config = state.config
    if state.iteration == 0:
        return {
            "task": config.task,
            "primitiveId": "",
            "primitiveType": "none",
            "iteration": 0,
            "threadResourceId": state.resource_id,
            "threadId": state.thread_id,
            "isOneOff": config.is_one_off,
            "verboseIntrospection": True,
        }
    data: dict[str, Any] = {
        "task": config.task,
        "isComplete": False,
        "result": state.result,
        "primitiveId": state.primitive_id,
        "primitiveType": state.primitive_type,
        "iteration": state.iteration,
        "isOneOff": config.is_one_off,
        "threadId": state.thread_id,
        "threadResourceId": state.resource_id,
        "validationPassed": False,
    }
    if state.feedback:
        data["validationFeedback" if state.from_check else "feedback"] = state.feedback
    return data


class _Check(_Call):
    def __init__(self, state: RunState, observer: abc.ObserverBase[Chunk]) -> None:
        super().__init__(state, observer)
        self.sent = ""
        self.started = time.monotonic()
        observer.on_next(
            NetworkValidationStart(
                run_id=state.run_id,
                payload=NetworkValidationStartPayload.model_validate(
                    {"runId": state.run_id, "iteration": state.iteration, "checksCount": 1}
                ),
            )
        )
        observer.on_next(
            RoutingAgentTextStart(
                run_id=state.run_id,
                payload=RoutingAgentTextStartPayload(run_id=str(uuid.uuid4())),
            )
        )
        config = state.config
        primitive = (
            "the router (it chose none)"
            if state.primitive_type == "none"
            else f"{state.primitive_type} {state.primitive_id!r}"
        )
        error = state.error
        failure = None if error is None else error.message or error.name
        # a failed primitive is reported by the check's feedback too (the check overwrites it)
        self.failure_note = state.feedback if error is not None else None
        prompt: list[Message] = [
            {"role": "system", "content": config.check_system},
            *state.window(state.run_start)[0],
            check_user_message(config.task, primitive, state.result, failure),
        ]
        self.start(prompt, CHECK_FORMAT)

    def _on_text(self) -> None:
        if '"finalResult"' not in self.text:
            return
        partial = parse_partial_json(self.text)
        if isinstance(partial, dict) and partial.get("isComplete") is True:
            final = partial.get("finalResult")
            if isinstance(final, str):
                self._grow(final)

    def _grow(self, final: str) -> None:
        """Send the part of ``final`` not sent yet (when it extends what was sent)."""
        if len(final) > len(self.sent) and final.startswith(self.sent):
            delta = final[len(self.sent) :]
            self.sent = final
            self.observer.on_next(
                RoutingAgentTextDelta(
                    run_id=self.state.run_id, payload=RoutingAgentTextDeltaPayload(text=delta)
                )
            )

    def _done(self) -> None:
        state = self.state
        verdict: CompletionVerdict | None = None
        if self.failure is not None:
            _log.warning("network %s: the completion check failed: %s", state.run_id, self.failure)
            reason = f"the completion check failed: {self.failure}"
        else:
            try:
                verdict = CompletionVerdict.model_validate_json(strip_fences(self.text))
                reason = verdict.completion_reason
            except ValidationError as err:
                first = err.errors(include_url=False)[0]
                reason = f"the completion check's answer is not valid ({first['msg']})"
        passed = verdict is not None and verdict.is_complete
        result: dict[str, Any] = {"score": 1 if passed else 0, "passed": passed, "reason": reason}
        if passed and verdict is not None and verdict.final_result is not None:
            self._grow(verdict.final_result)
            result["finalResult"] = verdict.final_result
            state.final_result = verdict.final_result
            state.final_given = True
        duration = int((time.monotonic() - self.started) * 1000)
        result.update(
            scorerId="default-completion", scorerName="Default LLM Completion", duration=duration
        )
        state.passed = passed
        state.completion_reason = reason
        # Mastra's ``iteration >= maxIterations``, whether the check passed or not
        max_reached = state.iteration >= state.config.max_steps
        if not passed:
            feedback = completion_feedback(passed, reason, duration, max_reached)
            note = self.failure_note
            state.feedback = feedback if note is None else f"{note}\n\n{feedback}"
            state.from_check = True
        self.observer.on_next(
            NetworkValidationEnd(
                run_id=state.run_id,
                payload=NetworkValidationEndPayload.model_validate(
                    {
                        "runId": state.run_id,
                        "iteration": state.iteration,
                        "passed": passed,
                        "results": [result],
                        "duration": duration,
                        "timedOut": False,
                        "reason": reason,
                        "maxIterationReached": max_reached,
                        "suppressFeedback": False,
                        "usage": self.usage,
                    }
                ),
            )
        )


def check_phase(state: RunState) -> Observable[Chunk]:
    """Return the completion check phase.

    Its chunks: ``network-validation-start``, ``routing-agent-text-start``, the final answer's
    ``routing-agent-text-delta``s, ``network-validation-end``.
    The verdict is left in ``state.passed``, ``state.completion_reason`` and
    ``state.final_result``; a failed check sets ``state.feedback`` for the next routing.
    """

    def subscribe(
        observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return _Check(state, observer)

    return lean(subscribe)
