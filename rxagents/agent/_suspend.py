"""Paused agent runs: what a run waiting on a tool call keeps in storage, and the decisions.

A run pauses when a tool call needs approval or a tool suspends itself. Before the
``tool-call-approval`` / ``tool-call-suspended`` chunk reaches any reader, the run's state (the
conversation so far, the open step with its calls and results, usage so far, the pending calls)
is written as one entry of the :data:`NAMESPACE` namespace, keyed by run id, owned by the agent,
status ``"suspended"``. A resume claims the entry with a compare-and-set (status
``"resuming"``), so of two concurrent resumes exactly one runs the tool; the entry is deleted
when the resumed run ends (or rewritten, when calls are still pending), and put back to
``"suspended"`` as it was when the resumed run is cancelled or fails before its end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from pydantic import MISSING

from rxagents.agent._step_state import PendingCall, StepState
from rxagents.errors import (
    InvalidInputError,
    RunNotFoundError,
    RunStateError,
    SnapshotFormatError,
)
from rxagents.events import ErrorInfo
from rxagents.storage import Entry, Storage
from rxagents.usage import Usage

__all__ = (
    "APPROVAL_RESUME_SCHEMA",
    "DEFAULT_DECLINE_REASON",
    "NAMESPACE",
    "Decision",
    "Pending",
    "SuspendedRun",
    "SuspendedToolCall",
    "claim",
    "give_back",
    "list_suspended",
    "restore_step",
    "save_paused",
    "step_snapshot",
)

NAMESPACE = "agent_suspended_runs"
"""The storage namespace of paused agent runs (key: run id, owner: agent id)."""

APPROVAL_RESUME_SCHEMA = (
    '{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":'
    '{"approved":{"description":"Controls if the tool call is approved or not, should be true '
    'when approved and false when declined","type":"boolean"},"reason":{"description":'
    '"Optional explanation for the decision, surfaced to the model when the tool call is '
    'declined","type":"string"}},"required":["approved"],"additionalProperties":false}'
)
"""The ``resumeSchema`` of every ``tool-call-approval`` (Mastra's, verbatim)."""

DEFAULT_DECLINE_REASON = "Tool call was not approved by the user"
"""What the model receives as the result of a declined call when no reason is given."""

_VERSION = 1

_log = logging.getLogger("rxagents.agent")

_giving_back: dict[tuple[int, str], asyncio.Task[None]] = {}
"""Claims being put back (by storage and run id): claims and listings wait for them first."""


class SuspendedToolCall(TypedDict):
    """A call a suspended run waits on, as ``list_suspended_runs`` lists it."""

    tool_call_id: str
    tool_name: str
    args: NotRequired[Any]
    """The call's arguments (approvals only, as in Mastra)."""
    requires_approval: bool
    suspend_payload: NotRequired[Any]
    """What the tool suspended with (suspensions only)."""


class SuspendedRun(TypedDict):
    """A suspended agent run, as ``list_suspended_runs`` lists it."""

    run_id: str
    status: Literal["suspended"]
    thread_id: NotRequired[str]
    """The memory thread of the run (runs with memory only)."""
    resource_id: NotRequired[str]
    """The owner of that thread."""
    suspended_at: int
    """When the run paused (milliseconds since the epoch)."""
    tool_calls: list[SuspendedToolCall]


@dataclass(frozen=True)
class Pending:
    """A call the paused run waits on."""

    call: PendingCall
    kind: Literal["approval", "suspension"]
    resume_schema: str | None = None
    suspend_payload: Any = None
    nested: dict[str, Any] | None = None
    """When the tool paused on a nested call (a sub-agent's tool): ``{"toolName", "args",
    "suspendPayload"}`` of that call, shown instead of this call's; answering it runs this
    call's tool again with the answer as resume data."""

    @property
    def shown_name(self) -> str:
        """The tool name the pause chunk and listings show."""
        return self.call.tool_name if self.nested is None else str(self.nested["toolName"])

    @property
    def shown_args(self) -> Any:
        """The arguments the pause chunk and listings show."""
        return self.call.args if self.nested is None else self.nested["args"]

    @property
    def shown_payload(self) -> Any:
        """The suspend payload the pause chunk and listings show."""
        return self.suspend_payload if self.nested is None else self.nested["suspendPayload"]

    def to_json(self) -> dict[str, Any]:
        """The call as the snapshot stores it."""
        value = {
            "toolCallId": self.call.tool_call_id,
            "toolName": self.call.tool_name,
            "args": None if self.call.args is MISSING else self.call.args,
            "kind": self.kind,
            "resumeSchema": self.resume_schema,
            "suspendPayload": self.suspend_payload,
        }
        if self.nested is not None:
            value["nested"] = self.nested
        return value

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Pending:
        """Read a pending call back."""
        call = PendingCall(value["toolCallId"], value["toolName"], value["args"])
        return cls(
            call,
            value["kind"],
            value.get("resumeSchema"),
            value.get("suspendPayload"),
            value.get("nested"),
        )


@dataclass(frozen=True)
class Decision:
    """How a resume answers the pending call it names."""

    tool_call_id: str | None
    approved: bool = True
    reason: str | None = None
    resume_data: Any = None
    has_resume_data: bool = False


def step_snapshot(step: StepState) -> dict[str, Any]:
    """The open step, as JSON (what a resumed run needs to finish it)."""
    return {
        "text": "".join(step.text),
        "reasoning": {
            key: {"text": "".join(block["text"]), "meta": block.get("meta")}
            for key, block in step.reasoning_blocks.items()
        },
        "calls": [
            {"toolCallId": c.tool_call_id, "toolName": c.tool_name, "args": c.args}
            for c in step.calls
            if c.args is not MISSING
        ],
        "results": [
            {
                "toolCallId": call.tool_call_id,
                "result": result,
                "error": None if error is None else error.model_dump(mode="json", by_alias=True),
            }
            for call, result, error in step.results
        ],
        "denied": dict(step.denied),
        "modelOutputs": dict(step.model_outputs),
        "reason": step.reason,
        "usage": step.usage.model_dump(mode="json", by_alias=True, exclude_none=True),
        "response": step.response,
        "warnings": step.warnings,
        "rawUsage": None if step.raw_usage is MISSING else step.raw_usage,
    }


def restore_step(value: dict[str, Any]) -> StepState:
    """Rebuild the open step from :func:`step_snapshot`'s JSON."""
    step = StepState()
    if value["text"]:
        step.text.append(value["text"])
    for key, block in value["reasoning"].items():
        step.reasoning_blocks[key] = {"text": [block["text"]], "meta": block["meta"]}
    by_id: dict[str, PendingCall] = {}
    for c in value["calls"]:
        call = PendingCall(c["toolCallId"], c["toolName"], c["args"])
        step.calls.append(call)
        by_id[call.tool_call_id] = call
    for r in value["results"]:
        error = None if r["error"] is None else ErrorInfo.model_validate(r["error"])
        step.results.append((by_id[r["toolCallId"]], r["result"], error))
    step.denied.update(value["denied"])
    step.model_outputs.update(value.get("modelOutputs", {}))
    step.reason = value["reason"]
    step.usage = Usage.model_validate(value["usage"])
    step.response = value["response"]
    step.warnings = value["warnings"]
    step.raw_usage = MISSING if value["rawUsage"] is None else value["rawUsage"]
    return step


async def save_paused(
    storage: Storage, agent_id: str, run_id: str, snapshot: dict[str, Any], version: int | None
) -> None:
    """Write a paused run's snapshot (create it, or rewrite the claimed one).

    Raises:
        RunStateError: The run id already has a paused run (or the claim was lost).
    """
    snapshot = {"version": _VERSION, "agentId": agent_id, **snapshot}
    if version is None:
        entry = await storage.create(
            NAMESPACE, run_id, snapshot, owner=agent_id, status="suspended"
        )
    else:
        entry = await storage.update(
            NAMESPACE, run_id, snapshot, version=version, status="suspended"
        )
    if entry is None:
        raise RunStateError(f"agent run {run_id!r} is already suspended or being resumed")


async def claim(
    storage: Storage,
    agent_id: str,
    run_id: str,
    tool_call_id: str | None,
    check: Callable[[Pending], None] | None = None,
) -> tuple[dict[str, Any], Pending, int]:
    """Claim a paused run for one resume: its snapshot, the call answered, the new version.

    ``check`` may refuse the answer (raising) before anything is claimed.

    Raises:
        RunNotFoundError: No paused run of this agent has this id.
        RunStateError: The run is being resumed already (or was, concurrently).
        InvalidInputError: The run waits on no call with this id.
        SnapshotFormatError: The snapshot was written by an incompatible version.
    """
    await _settled(storage, run_id)
    entry = await storage.get_entry(NAMESPACE, run_id)
    if entry is None or entry.owner != agent_id:
        raise RunNotFoundError(
            f"agent {agent_id!r} has no suspended run {run_id!r}: it may have completed, "
            "never suspended, or the run id is wrong"
        )
    if entry.status != "suspended":
        raise RunStateError(f"agent run {run_id!r} is not suspended (it is being resumed)")
    snapshot = entry.value
    if not isinstance(snapshot, dict) or snapshot.get("version") != _VERSION:
        raise SnapshotFormatError(f"agent run {run_id!r}: unreadable suspended-run snapshot")
    pending = [Pending.from_json(p) for p in snapshot["pending"]]
    chosen = _choose(run_id, pending, tool_call_id)
    if check is not None:
        check(chosen)
    claimed = await storage.update(
        NAMESPACE, run_id, snapshot, version=entry.version, status="resuming"
    )
    if claimed is None:
        raise RunStateError(f"agent run {run_id!r} is not suspended (it is being resumed)")
    return snapshot, chosen, claimed.version


def give_back(storage: Storage, run_id: str, snapshot: dict[str, Any], version: int) -> None:
    """Put a claimed run back to ``"suspended"``, as it was (its resume was cancelled or failed).

    Runs in the background (from a disposal, which cannot wait); in this process, a later
    :func:`claim` or :func:`list_suspended` on the same storage waits for it. The write is a
    compare-and-set on the claim's ``version``: a run that paused again in the meantime keeps
    its new state.
    """
    key = (id(storage), run_id)
    task = asyncio.get_running_loop().create_task(_give_back(storage, run_id, snapshot, version))
    _giving_back[key] = task

    def forget(_: object) -> None:
        if _giving_back.get(key) is task:
            del _giving_back[key]

    task.add_done_callback(forget)


async def _give_back(storage: Storage, run_id: str, snapshot: dict[str, Any], version: int) -> None:
    try:
        entry = await storage.update(
            NAMESPACE, run_id, snapshot, version=version, status="suspended"
        )
    except Exception:
        _log.exception("agent run %s could not be put back to suspended", run_id)
        return
    if entry is None:
        _log.debug("agent run %s was not put back to suspended: its state moved on", run_id)


async def _settled(storage: Storage, run_id: str | None = None) -> None:
    """Wait for the claims on ``storage`` being put back (of ``run_id``, or all)."""
    tasks = [
        task
        for (store, run), task in _giving_back.items()
        if store == id(storage) and (run_id is None or run == run_id)
    ]
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


def _choose(run_id: str, pending: list[Pending], tool_call_id: str | None) -> Pending:
    if tool_call_id is None:
        return pending[0]
    for item in pending:
        if item.call.tool_call_id == tool_call_id:
            return item
    known = ", ".join(p.call.tool_call_id for p in pending)
    raise InvalidInputError(
        f"agent run {run_id!r} waits on no tool call {tool_call_id!r} (pending: {known})"
    )


async def list_suspended(
    storage: Storage,
    agent_id: str,
    *,
    thread_id: str | None = None,
    resource_id: str | None = None,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> list[SuspendedRun]:
    """The agent's paused runs, newest first, as ``list_suspended_runs`` returns them.

    Only those of the memory thread ``thread_id``, of the resource ``resource_id``, paused at
    or after ``from_ms`` and at or before ``to_ms`` (milliseconds since the epoch), when given.
    """
    await _settled(storage)
    entries = await storage.list_entries(NAMESPACE, owner=agent_id, status="suspended")
    runs = [
        run
        for run in map(_summary, entries)
        if (thread_id is None or run.get("thread_id") == thread_id)
        and (resource_id is None or run.get("resource_id") == resource_id)
        and (from_ms is None or run["suspended_at"] >= from_ms)
        and (to_ms is None or run["suspended_at"] <= to_ms)
    ]
    runs.sort(key=lambda run: run["suspended_at"], reverse=True)
    return runs


def _summary(entry: Entry) -> SuspendedRun:
    snapshot = entry.value
    calls: list[SuspendedToolCall] = []
    for value in snapshot["pending"]:
        item = Pending.from_json(value)
        call: SuspendedToolCall = {
            "tool_call_id": item.call.tool_call_id,
            "tool_name": item.shown_name,
            "requires_approval": item.kind == "approval",
        }
        if item.kind == "approval":  # as in Mastra: a suspension's entry has no args
            call["args"] = item.shown_args
        else:
            call["suspend_payload"] = item.shown_payload
        calls.append(call)
    run: SuspendedRun = {
        "run_id": entry.key,
        "status": "suspended",
        "suspended_at": snapshot["suspendedAt"],
        "tool_calls": calls,
    }
    memory = snapshot.get("memory")
    if memory is not None:
        run["thread_id"] = memory["thread"]
        run["resource_id"] = memory["resource"]
    return run
