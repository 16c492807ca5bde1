"""Running the primitive the router chose: a sub-agent, a workflow or a tool.

Each is a phase of the run: ``*-execution-start``, then (agents and workflows) the primitive's
own stream wrapped whole by :func:`~rxagents.operators.prefix_events` under the execution's run
id, then ``*-execution-end``. A primitive that fails ends its phase normally: its end chunk
carries the error, and the run goes on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reactivex import Observable, abc

from rxagents._core.invoke import invoke
from rxagents._core.rx import lean
from rxagents.agent import _agent
from rxagents.agent._loop import AgentRun
from rxagents.agent._observed import ObservedRun
from rxagents.events import (
    AgentExecutionEnd,
    AgentExecutionEndPayload,
    AgentExecutionStart,
    AgentExecutionStartPayload,
    Chunk,
    ErrorInfo,
    Finish,
    ToolExecutionEnd,
    ToolExecutionEndPayload,
    ToolExecutionStart,
    ToolExecutionStartPayload,
    WorkflowExecutionEnd,
    WorkflowExecutionEndPayload,
    WorkflowExecutionStart,
    WorkflowExecutionStartPayload,
    WrappedChunk,
)
from rxagents.network._primitives import Plan
from rxagents.network._state import AGENT_PREFIX, WORKFLOW_PREFIX, RunState
from rxagents.operators import wrap_chunk
from rxagents.usage import Usage

if TYPE_CHECKING:
    from rxagents.agent import AgentLike, Tool
    from rxagents.workflow import Workflow

__all__ = ("execution_phase",)

_log = logging.getLogger(__name__)


def execution_phase(state: RunState, plan: Plan) -> Observable[Chunk]:
    """Return the phase running ``plan``'s primitive.

    Its outcome is left in ``state.result`` and ``state.error``; while it runs,
    ``state.active`` gives the chunks that close it on cancellation.
    """
    kinds: dict[str, Callable[[RunState, Plan, abc.ObserverBase[Chunk]], _Execution]] = {
        "agent": _AgentExecution,
        "workflow": _WorkflowExecution,
        "tool": _ToolExecution,
    }
    kind = kinds[plan.kind]

    def subscribe(
        observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        execution = kind(state, plan, observer)
        execution.start()
        return execution

    return lean(subscribe)


class _Execution(abc.DisposableBase):
    def __init__(self, state: RunState, plan: Plan, observer: abc.ObserverBase[Chunk]) -> None:
        self.state = state
        self.plan = plan
        self.observer = observer
        self.ended = False
        self.subscription: abc.DisposableBase | None = None
        state.active = self
        state.primitive_id = plan.primitive_id
        state.primitive_type = plan.primitive_type
        state.error = None

    @abstractmethod
    def start(self) -> None:
        """Emit the start chunk and run the primitive."""
        ...

    def closing_chunks(self) -> list[Chunk]:
        """Return the wrapped chunks that end the inner stream on cancellation."""
        return []

    def dispose(self) -> None:
        """Stop the primitive."""
        self.ended = True
        self.state.active = None
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            subscription.dispose()

    def _finish(self, end: Chunk, result: Any, error: ErrorInfo | None) -> None:
        """Record the outcome, emit the end chunk, complete the phase."""
        state = self.state
        self.ended = True
        self.subscription = None
        state.active = None
        state.result = result
        state.error = error
        if error is not None:
            what = f"{self.plan.kind} {self.plan.primitive_id!r}"
            _log.info("network %s: %s failed: %s", state.run_id, what, error)
            state.feedback = f"the {what} failed: {error.message or error.name}"
            state.from_check = False
        self.observer.on_next(end)
        self.observer.on_completed()

    def _guard_error(self, error: Exception) -> None:
        _log.exception("network %s failed", self.state.run_id)
        self.observer.on_error(error)


class _AgentExecution(_Execution):
    """A sub-agent: its whole stream as ``agent-execution-event-*``."""

    def start(self) -> None:
        state, plan = self.state, self.plan
        agent: AgentLike = plan.target
        self.exec_id = str(uuid.uuid4())
        self.final: Finish | None = None
        self.failure: ErrorInfo | None = None
        self.started = False
        self.observer.on_next(
            AgentExecutionStart(
                run_id=state.run_id,
                payload=AgentExecutionStartPayload(
                    agent_id=plan.primitive_id, args=state.routing_fields, run_id=self.exec_id
                ),
            )
        )
        try:
            if isinstance(agent, _agent.Agent):
                self.run: AgentRun | ObservedRun = AgentRun(
                    agent._config(plan.prompt, {"run_id": self.exec_id})
                )
            else:  # a remote agent, or any other AgentLike
                self.run = ObservedRun(agent.observe(plan.prompt), self.exec_id)
        except Exception as err:  # the prompt or the sub-agent's settings are unusable
            self._end(ErrorInfo.from_exception(err))
            return
        wrapped = state.wrap_agent(self.run.observable())
        subscription = wrapped.subscribe(self._on_next, self._on_error, self._on_completed)
        if not self.ended:
            self.subscription = subscription

    def closing_chunks(self) -> list[Chunk]:
        if self.ended or not self.started:
            return []  # the sub-agent has not emitted ``start``: its stream is empty
        run_id = self.state.run_id
        return [wrap_chunk(c, AGENT_PREFIX, run_id=run_id) for c in self.run.closing_chunks()]

    def _on_next(self, wrapped: WrappedChunk) -> None:
        self.started = True
        inner = wrapped.payload
        kind = inner.type
        if kind == "finish":
            self.final = inner  # type: ignore[assignment]  # the type says it
        elif kind == "error":
            self.failure = inner.payload.error  # type: ignore[union-attr]  # an AgentError
        self.observer.on_next(wrapped)

    def _on_error(self, error: Exception) -> None:
        if not self.ended:
            self._end(ErrorInfo.from_exception(error))

    def _on_completed(self) -> None:
        if not self.ended:
            self._end(self.failure)

    def _end(self, error: ErrorInfo | None) -> None:
        state = self.state
        final = self.final
        text = final.payload.output.text if final is not None else ""
        usage = final.payload.output.usage if final is not None else Usage.zero
        if error is None and final is not None and final.payload.step_result.reason == "error":
            error = ErrorInfo(name="AgentError", message="the agent's run ended with an error")
        fields: dict[str, Any] = {
            "task": state.config.task,
            "agentId": self.plan.primitive_id,
            "result": text,
            "isComplete": False,
            "iteration": state.iteration,
            "runId": self.exec_id,
            "usage": usage,
        }
        if error is not None:
            fields["error"] = error.model_dump()
        end = AgentExecutionEnd(
            run_id=state.run_id, payload=AgentExecutionEndPayload.model_validate(fields)
        )
        self._finish(end, text, error)


class _WorkflowExecution(_Execution):
    """A workflow run: its whole stream as ``workflow-execution-event-*``."""

    def start(self) -> None:
        state, plan = self.state, self.plan
        workflow: Workflow = plan.target
        self.exec_id = str(uuid.uuid4())
        self.observer.on_next(
            WorkflowExecutionStart(
                run_id=state.run_id,
                payload=WorkflowExecutionStartPayload(
                    workflow_id=plan.primitive_id, args=state.routing_fields, run_id=self.exec_id
                ),
            )
        )
        self.execution = workflow.execution(plan.input, run_id=self.exec_id)
        wrapped = state.wrap_workflow(self.execution.observable())
        subscription = wrapped.subscribe(self.observer.on_next, self._on_error, self._on_completed)
        if not self.ended:
            self.subscription = subscription

    def closing_chunks(self) -> list[Chunk]:
        if self.ended:
            return []
        run_id = self.state.run_id
        return [
            wrap_chunk(c, WORKFLOW_PREFIX, run_id=run_id) for c in self.execution.closing_chunks()
        ]

    def _on_error(self, error: Exception) -> None:
        if not self.ended:
            self._end(ErrorInfo.from_exception(error))

    def _on_completed(self) -> None:
        if not self.ended:
            self._end(None)

    def _end(self, error: ErrorInfo | None) -> None:
        state = self.state
        result = self.execution.result()
        if error is None and result.status == "failed":
            error = result.error or ErrorInfo(name="WorkflowError", message="the workflow failed")
        output = result.result if result.status == "success" else None
        fields: dict[str, Any] = {
            "task": state.config.task,
            "primitiveId": self.plan.primitive_id,
            "primitiveType": "workflow",
            # Mastra's workflow run has the network's run id (its chunks the execution's)
            "result": {**result.to_json(), "runId": state.run_id},
            "isComplete": False,
            "iteration": state.iteration,
            "name": self.plan.primitive_id,
            "runId": self.exec_id,
            "usage": self.execution.usage.filled(),
        }
        if error is not None:
            fields["error"] = error.model_dump()
        end = WorkflowExecutionEnd(
            run_id=state.run_id, payload=WorkflowExecutionEndPayload.model_validate(fields)
        )
        self._finish(end, output, error)


class _ToolExecution(_Execution):
    """A tool call: ``tool-execution-start`` and ``-end`` (a tool has no stream of its own)."""

    def start(self) -> None:
        state, plan = self.state, self.plan
        tool: Tool = plan.target
        self.call_id = str(uuid.uuid4())
        args = {
            **state.routing_fields,
            "args": plan.input,
            "toolName": plan.primitive_id,
            "toolCallId": self.call_id,
        }
        self.observer.on_next(
            ToolExecutionStart(
                run_id=state.run_id,
                payload=ToolExecutionStartPayload(args=args, run_id=state.run_id),
            )
        )
        self.task: asyncio.Task[Any] | None = None
        task = invoke(tool.run, plan.input, self._report)
        if not self.ended:
            self.task = task

    def dispose(self) -> None:
        super().dispose()
        task, self.task = self.task, None
        if task is not None:
            task.cancel()

    def _report(self, value: Any, error: Exception | None) -> None:
        if self.ended:
            return
        self.task = None
        state = self.state
        info = None if error is None else ErrorInfo.from_exception(error)
        fields: dict[str, Any] = {
            "task": state.config.task,
            "primitiveId": self.plan.primitive_id,
            "primitiveType": "tool",
            "result": value,
            "isComplete": False,
            "iteration": state.iteration,
            "toolCallId": self.call_id,
            "toolName": self.plan.primitive_id,
        }
        if info is not None:
            fields["error"] = info.model_dump()
        try:
            end = ToolExecutionEnd(
                run_id=state.run_id, payload=ToolExecutionEndPayload.model_validate(fields)
            )
        except Exception as err:
            self._guard_error(err)
            return
        self._finish(end, value, info)
