"""How an agent run pauses on a tool call and how a resumed run picks the call up again.

:class:`PauseHandling` is the part of :class:`~rxagents.agent._loop.AgentRun` that decides
which calls wait for approval, saves the paused run's state before the pause chunks reach any
reader, and answers the pending call when the run is resumed (approve: run the tool; decline:
``tool-output-denied`` and the reason as the tool's result; suspension: run the tool again with
the resume data, validated first).
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import ValidationError

from rxagents._core.clock import now_ms
from rxagents.agent._step_state import PendingCall, StepState
from rxagents.agent._suspend import (
    APPROVAL_RESUME_SCHEMA,
    DEFAULT_DECLINE_REASON,
    NAMESPACE,
    Decision,
    Pending,
    give_back,
    restore_step,
    save_paused,
    step_snapshot,
)
from rxagents.agent._tool_calls import execute_call
from rxagents.agent._writer import ToolWriter
from rxagents.agent.tools import ToolSuspended, resume_schema_text, to_json_value
from rxagents.errors import ConfigurationError
from rxagents.events import (
    AgentChunk,
    ErrorInfo,
    ToolApproval,
    ToolCallApproval,
    ToolCallApprovalPayload,
    ToolCallSuspended,
    ToolCallSuspendedPayload,
    ToolOutputDenied,
    ToolOutputDeniedPayload,
)
from rxagents.usage import Usage

if TYPE_CHECKING:
    from rxagents.agent._loop import RunConfig
    from rxagents.models import Message

__all__ = ("PauseHandling", "Resume", "RunApprovalPolicy")

_log = logging.getLogger("rxagents.agent")

RunApprovalPolicy: TypeAlias = "bool | Callable[[str, Any], bool]"
"""A run's ``require_tool_approval``: a flag, or a function of ``(tool name, args)``."""


@dataclass(frozen=True)
class Resume:
    """A claimed paused run and the answer to one of its pending calls."""

    snapshot: Mapping[str, Any]
    """The stored state of the paused run."""
    pending: Pending
    """The call answered."""
    version: int
    """The claimed entry's version (the compare-and-set token for rewriting it)."""
    decision: Decision
    """The answer."""


class PauseHandling(ABC):
    """Pausing and resuming (a base class of the agent run)."""

    run_id: str
    message_id: str
    config: RunConfig
    pending: list[Pending]
    usage_so_far: Usage
    response_messages: list[Message]
    _step: StepState
    _prompt: list[Message]
    _step_count: int
    _total: Usage
    _ended: bool
    _disposed: bool
    _claim_version: int | None
    _resumed_step: bool
    _tool_task: asyncio.Task[None] | None
    _emit: Callable[[AgentChunk], None]
    _observer: Any

    @abstractmethod
    def _end_step(self) -> None: ...

    @abstractmethod
    def _writer(self, call: PendingCall) -> ToolWriter: ...

    @abstractmethod
    def _emit_result(
        self, call: PendingCall, result: Any, error: ErrorInfo | None, writer: ToolWriter
    ) -> None: ...

    @abstractmethod
    def _guard(self, action: Callable[[], None]) -> None: ...

    @abstractmethod
    def _error_out(self, err: Exception) -> None: ...

    @abstractmethod
    def _release(self) -> None: ...

    async def _before_pause(self) -> None:
        """Called when the run pauses, before its state is saved (memory saves its thread)."""
        return

    def _pause_fields(self) -> dict[str, Any]:
        """Extra fields of the paused run's snapshot (memory: the thread, what it holds)."""
        return {}

    # --- deciding -------------------------------------------------------------------------

    def _needs_approval(self, call: PendingCall) -> bool:
        tool = self.config.tools.get(call.tool_name)
        if tool is None or call.parse_error is not None:
            return False  # the call fails without running: nothing to approve
        policy = self.config.require_tool_approval
        if policy is True or (callable(policy) and policy(call.tool_name, call.args)):
            return True
        return tool.needs_approval(call.args)

    def _approval(self, call: PendingCall) -> Pending:
        return Pending(call, "approval", APPROVAL_RESUME_SCHEMA)

    def _suspension(self, call: PendingCall, suspended: ToolSuspended) -> Pending:
        inner = suspended.nested
        if inner is not None:  # the tool waits on a nested call
            nested = {
                "toolName": inner.tool_name,
                "args": to_json_value(inner.args),
                "suspendPayload": to_json_value(inner.suspend_payload),
            }
            schema = APPROVAL_RESUME_SCHEMA if inner.kind == "approval" else inner.resume_schema
            return Pending(call, inner.kind, schema, suspended.payload, nested)
        tool = self.config.tools[call.tool_name]
        schema = None if tool.resume_schema is None else resume_schema_text(tool.resume_schema)
        return Pending(call, "suspension", schema, suspended.payload)

    # --- pausing --------------------------------------------------------------------------

    async def _pause(self, pending: list[Pending]) -> None:
        """Save the run, then emit the pause chunks and complete (no step-finish)."""
        storage = self.config.storage
        try:
            if storage is None:
                raise ConfigurationError(
                    f"agent run {self.run_id!r} cannot pause without storage for its state"
                )
            await self._before_pause()
            step = self._step
            snapshot = {
                "runId": self.run_id,
                "suspendedAt": now_ms(),
                "messageId": self.message_id,
                "prompt": self._prompt,
                "responseMessages": self.response_messages,
                "step": step_snapshot(step),
                "stepCount": self._step_count,
                "total": self._total.model_dump(mode="json", by_alias=True, exclude_none=True),
                "pending": [p.to_json() for p in pending],
                "requireToolApproval": self.config.require_tool_approval is True,
                "maxSteps": self.config.max_steps,
                "settings": dict(self.config.settings),
                **self._pause_fields(),
            }
            await save_paused(
                storage, self.config.agent_id, self.run_id, snapshot, self._claim_version
            )
        except Exception as err:
            _log.exception("agent run %s could not save its paused state", self.run_id)
            self._error_out(err)
            return
        if self._disposed:
            return
        self._claim_version = None  # the snapshot is the paused run's again
        self.pending = pending
        self.usage_so_far = self._total + self._step.usage
        self._ended = True
        for item in pending:
            self._emit(self._pause_chunk(item))
        observer = self._observer
        self._release()
        if observer is not None:
            observer.on_completed()

    def _pause_chunk(self, item: Pending) -> AgentChunk:
        call = item.call
        if item.kind == "approval":
            return ToolCallApproval(
                run_id=self.run_id,
                payload=ToolCallApprovalPayload(
                    tool_call_id=call.tool_call_id,
                    tool_name=item.shown_name,
                    args=item.shown_args,
                    resume_schema=item.resume_schema or APPROVAL_RESUME_SCHEMA,
                ),
            )
        fields: dict[str, Any] = {}
        if item.resume_schema is not None:
            fields["resume_schema"] = item.resume_schema
        return ToolCallSuspended(
            run_id=self.run_id,
            payload=ToolCallSuspendedPayload(
                tool_call_id=call.tool_call_id,
                tool_name=item.shown_name,
                suspend_payload=item.shown_payload,
                args=item.shown_args,
                **fields,
            ),
        )

    # --- resuming -------------------------------------------------------------------------

    def _resume(self) -> None:
        resume = self.config.resume
        assert resume is not None
        snapshot = resume.snapshot
        self._prompt = list(snapshot["prompt"])
        self.response_messages = list(snapshot["responseMessages"])
        self._step = restore_step(snapshot["step"])
        self._step_count = snapshot["stepCount"]
        self._total = Usage.model_validate(snapshot["total"])
        self._claim_version = resume.version
        self._resumed_step = True
        others = [
            Pending.from_json(p)
            for p in snapshot["pending"]
            if p["toolCallId"] != resume.pending.call.tool_call_id
        ]
        loop = asyncio.get_running_loop()
        self._tool_task = loop.create_task(self._answer(resume, others))

    async def _answer(self, resume: Resume, others: list[Pending]) -> None:
        item, decision = resume.pending, resume.decision
        call = item.call
        pending = list(others)
        if item.kind == "approval" and not decision.approved and item.nested is None:
            reason = decision.reason or DEFAULT_DECLINE_REASON
            self._step.denied[call.tool_call_id] = reason
            self._emit(
                ToolOutputDenied(
                    run_id=self.run_id,
                    payload=ToolOutputDeniedPayload(
                        tool_call_id=call.tool_call_id,
                        tool_name=call.tool_name,
                        args=call.args,
                        approval=ToolApproval(id=call.tool_call_id, reason=reason),
                    ),
                )
            )
        else:
            outcome = await self._run_answered(item, decision)
            if self._disposed:
                return
            if isinstance(outcome, Pending):
                pending.insert(0, outcome)
            else:
                result, error, writer = outcome
                self._emit_result(call, result, error, writer)
        self._tool_task = None
        if pending:
            await self._pause(pending)
            return
        self._guard(self._end_step)

    async def _run_answered(self, item: Pending, decision: Decision) -> Any:
        """Run the answered call: its ``(result, error)``, or a new :class:`Pending`."""
        call = item.call
        tool = self.config.tools.get(call.tool_name)
        resume_data: Any = None
        if item.nested is not None:  # the tool answers its nested call itself
            resume_data = decision.resume_data
            if item.kind == "approval":
                resume_data = {"approved": decision.approved}
                if decision.reason is not None:
                    resume_data["reason"] = decision.reason
        elif item.kind == "suspension":
            resume_data = decision.resume_data
            if tool is not None and tool.resume_schema is not None:
                try:
                    resume_data = tool.resume_schema.model_validate(resume_data)
                except ValidationError as err:
                    invalid = _invalid_resume_data(call.tool_name, decision.resume_data, err)
                    return invalid, None, self._writer(call)
        writer = self._writer(call)
        result, error = await execute_call(
            self.config.tools,
            call,
            self.config.model.model_id,
            self.run_id,
            writer=writer,
            resume_data=resume_data,
            suspend_payload=item.suspend_payload,
            messages=self._prompt,
        )
        if isinstance(result, ToolSuspended):
            return self._suspension(call, result)
        return result, error, writer

    def _give_back_claim(self) -> None:
        """Put the resumed run's snapshot back to suspended: the run stopped before its end."""
        version, self._claim_version = self._claim_version, None
        storage, resume = self.config.storage, self.config.resume
        if version is None or self._ended or storage is None or resume is None:
            return
        try:
            give_back(storage, self.run_id, dict(resume.snapshot), version)
        except RuntimeError:  # no running event loop: the claim stays until the state is removed
            _log.error("agent run %s stopped outside an event loop: still claimed", self.run_id)

    async def _forget_paused(self) -> None:
        """Delete the resumed run's snapshot (the run ended)."""
        storage = self.config.storage
        if storage is None:
            return
        try:
            await storage.delete(NAMESPACE, self.run_id)
        except Exception:
            _log.exception("agent run %s could not delete its paused state", self.run_id)


def _invalid_resume_data(tool_name: str, data: Any, err: ValidationError) -> dict[str, Any]:
    """The result of a call resumed with data its resume schema rejects (the tool not run)."""
    problems = []
    fields: dict[str, Any] = {}
    for e in err.errors(include_url=False):
        path = [str(p) for p in e["loc"]]
        problems.append(f"- {'.'.join(path) or '<root>'}: {e['msg']}")
        node = fields
        for part in path[:-1]:
            node = node.setdefault(part, {"errors": [], "fields": {}})["fields"]
        leaf = node.setdefault(path[-1] if path else "<root>", {"errors": [], "fields": {}})
        leaf["errors"].append(e["msg"])
    shown = json.dumps(to_json_value(data), indent=2, default=str)
    return {
        "error": True,
        "message": (
            f"Resume data validation failed for {tool_name}: the data sent to resume the "
            "suspended call does not fit the tool's resume schema. Please fix the following "
            f"errors and try again:\n" + "\n".join(problems) + f"\n\nProvided resume data: {shown}"
        ),
        "validationErrors": {"errors": [], "fields": fields},
    }
