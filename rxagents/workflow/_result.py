"""``WorkflowResult``: what a run ended with; ``StepRecord``: what one step did."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import MISSING

from rxagents.events import ErrorInfo, StepStatus, WorkflowStatus

__all__ = ("StepRecord", "StepRecords", "WorkflowResult")


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of a run, as the run result reports it (its last execution, for loops).

    Absent values are ``None``; :meth:`to_json` gives Mastra's shape (camelCase, absent keys
    left out).
    """

    status: StepStatus
    """``success``, ``failed``, ``suspended`` or ``running``."""
    payload: Any
    """The step's input."""
    started_at: int
    """Epoch milliseconds."""
    output: Any = None
    """What it returned (on success)."""
    error: ErrorInfo | None = None
    """Why it failed (on failure)."""
    ended_at: int | None = None
    """When it succeeded or failed, epoch milliseconds."""
    suspend_payload: Any = None
    """What it passed to ``suspend()``."""
    suspended_at: int | None = None
    """When it suspended."""
    resume_payload: Any = None
    """The resume data it ran with, when resumed."""
    resumed_at: int | None = None
    """When it was resumed."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepRecord:
        """Build a record from its JSON form (a run record or Mastra's step result)."""
        error = data.get("error")
        return cls(
            status=data["status"],
            payload=data.get("payload"),
            started_at=data.get("startedAt", 0),
            output=data.get("output"),
            error=None if error is None else ErrorInfo.model_validate(error),
            ended_at=data.get("endedAt"),
            suspend_payload=data.get("suspendPayload"),
            suspended_at=data.get("suspendedAt"),
            resume_payload=data.get("resumePayload"),
            resumed_at=data.get("resumedAt"),
        )

    def to_json(self) -> dict[str, Any]:
        """Return Mastra's JSON shape of the step result (absent keys left out)."""
        data: dict[str, Any] = {"status": self.status, "payload": self.payload}
        data["startedAt"] = self.started_at
        for key, value in (
            ("output", self.output if self.status == "success" else MISSING),
            ("error", None if self.error is None else self.error.model_dump()),
            ("endedAt", self.ended_at),
            ("suspendPayload", self.suspend_payload if self.status == "suspended" else MISSING),
            ("suspendedAt", self.suspended_at),
            ("resumePayload", self.resume_payload if self.resumed_at is not None else MISSING),
            ("resumedAt", self.resumed_at),
        ):
            if value is not None and value is not MISSING:
                data[key] = value
        return data


class StepRecords(Mapping[str, StepRecord]):
    """A read-only view of a run's step records that builds each :class:`StepRecord` on access.

    A run of a thousand steps should not pay for a thousand objects nobody reads.
    """

    __slots__ = ("_built", "_records")

    def __init__(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        self._records = dict(records)
        self._built: dict[str, StepRecord] = {}

    def __getitem__(self, key: str) -> StepRecord:
        record = self._built.get(key)
        if record is None:
            record = self._built[key] = StepRecord.from_json(self._records[key])
        return record

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"StepRecords({list(self._records)})"


@dataclass(frozen=True)
class WorkflowResult:
    """How a workflow run ended.

    A failed run does not raise: ``status`` is ``failed`` and ``error`` says why (the failed
    step's ``{name, message}``).
    """

    run_id: str
    """The run's id."""
    workflow_id: str
    """The workflow's id."""
    status: WorkflowStatus | Literal["running"]
    """``success``, ``failed``, ``suspended`` or ``canceled``; ``running`` for a run read from
    storage that a process is running (or was running when it died: see the README)."""
    input: Any
    """The run's input (validated, as JSON)."""
    result: Any = None
    """The workflow's output on success: the last step's (keyed by step id when the last block
    is a parallel block or a branch)."""
    error: ErrorInfo | None = None
    """Why the run failed."""
    steps: Mapping[str, StepRecord] = field(default_factory=dict)
    """Every step that ran, by id; nested workflows' steps under dotted ids (``outer.inner``)."""
    step_execution_path: list[str] = field(default_factory=list)
    """The ids of the steps in the order they started (repeated for loops)."""
    suspended: list[list[str]] = field(default_factory=list)
    """The paths of the suspended steps (``[["outer", "inner"]]``): what ``resume`` takes."""
    state: dict[str, Any] = field(default_factory=dict)
    """The run's state at the end."""

    def to_json(self) -> dict[str, Any]:
        """Return Mastra's JSON shape of a workflow result."""
        data: dict[str, Any] = {
            "status": self.status,
            "steps": {key: record.to_json() for key, record in self.steps.items()},
            "input": self.input,
            "stepExecutionPath": list(self.step_execution_path),
            "state": self.state,
        }
        if self.status == "success":
            data["result"] = self.result
        if self.error is not None:
            data["error"] = self.error.model_dump()
        if self.status == "suspended" or (self.status == "running" and self.suspended):
            data["suspended"] = [list(path) for path in self.suspended]
        return data
