"""A :class:`Step` as a leaf node: validate the input, call ``execute``, retry, validate."""

from __future__ import annotations

from typing import Any

import tenacity

from rxagents._core.invoke import invoke
from rxagents.errors import InvalidInputError
from rxagents.workflow._context import StepContext, StepWriter
from rxagents.workflow._nodes import LeafNode, LeafRun, error_info
from rxagents.workflow._step import Step

__all__ = ("StepNode",)


class _StepRun(LeafRun):
    __slots__ = ("input_data", "resume_data", "retry_count", "retry_state", "suspend_payload")

    node: StepNode

    def work(self) -> None:
        step = self.node.step
        self.retry_count = 0
        self.retry_state: tenacity.RetryCallState | None = None
        try:
            self.input_data = step.validate_input(self.record["payload"])
            self.resume_data = None
            if self.resumed:
                data = self.exe.resume_data
                schema = step.resume_schema
                self.resume_data = data if schema is None else schema.model_validate(data)
        except Exception as error:
            self.fail(error_info(error))
            return
        self.attempt()

    def attempt(self) -> None:
        self.handle = None
        self.suspend_payload: Any = _NOTHING
        exe = self.exe
        scope = self.scope
        context = StepContext(
            self,
            self.input_data,
            run_id=exe.run_id,
            workflow_id=scope.workflow_id,
            state=exe.state,
            writer=StepWriter(self.write),
            resume_data=self.resume_data,
            retry_count=self.retry_count,
            iteration_count=scope.iteration,
        )
        self.task = invoke(self.node.step.execute, context, self.outcome, exe.loop)

    def outcome(self, value: Any, error: Exception | None) -> None:
        if self.disposed:
            return
        self.task = None
        if error is None:
            if self.suspend_payload is not _NOTHING:
                self.suspended(self.suspend_payload)
                return
            try:
                output = self.node.step.dump_output(value)
            except Exception as invalid:
                error = invalid
            else:
                self.succeed(output)
                return
        if not self.retry_later(error):
            self.fail(error_info(error))

    def retry_later(self, error: Exception) -> bool:
        """Schedule another attempt if the step's retry policy allows one."""
        policy = self.node.step.retry_policy
        if policy is None:
            return False
        state = self.retry_state
        if state is None:
            state = self.retry_state = tenacity.RetryCallState(policy, None, (), {})
        state.set_exception((type(error), error, error.__traceback__))
        if not policy.retry(state) or policy.stop(state):
            return False
        delay = float(policy.wait(state))
        state.idle_for += delay
        state.prepare_for_next_attempt()
        self.retry_count += 1
        loop = self.exe.loop
        self.handle = (
            loop.call_later(delay, self.attempt) if delay > 0 else loop.call_soon(self.attempt)
        )
        return True

    def suspend(self, payload: Any) -> None:
        schema = self.node.step.suspend_schema
        if schema is not None:
            try:
                payload = schema.model_validate(payload).model_dump(mode="json", by_alias=True)
            except Exception as error:
                raise InvalidInputError(
                    f"invalid suspend payload of step {self.node.id!r}: {error}"
                ) from error
        self.suspend_payload = payload


_NOTHING: Any = object()


class StepNode(LeafNode):
    """A :class:`Step`: validate the input, call ``execute``, retry, validate the output."""

    __slots__ = ("step",)

    run_type = _StepRun

    def __init__(self, step: Step, key: str, *, deferred: bool = False, quiet: bool = False):
        super().__init__(key, step.id, deferred=deferred, quiet=quiet)
        self.step = step
        if step.is_sleep:
            self.style = "sleep"
