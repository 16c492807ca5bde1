"""``WorkflowRun``: one run of a workflow — start it, stream it, resume it, cancel it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from rxagents.errors import InvalidInputError, RunStateError
from rxagents.events import WorkflowStatus
from rxagents.workflow._execution import Execution
from rxagents.workflow._result import WorkflowResult
from rxagents.workflow._snapshot import (
    SNAPSHOT_NAMESPACE,
    check_snapshot,
    copy_snapshot,
    now_ms,
    snapshot_key,
)
from rxagents.workflow._step import Step, to_json, validate
from rxagents.workflow._stream import WorkflowStream

if TYPE_CHECKING:
    from rxagents.workflow._workflow import Workflow

__all__ = ("RunStateError", "RunStatus", "StepRef", "WorkflowRun")

RunStatus: TypeAlias = Literal["pending", "running"] | WorkflowStatus
"""Where a run stands: not started, streaming, or how its last stream ended."""

StepRef: TypeAlias = "str | Step | Workflow | Sequence[str | Step | Workflow]"
"""A suspended step: an id, a dotted path (``"outer.inner"``), a step, or a list of them."""


class WorkflowRun:
    """One run of a workflow; from :meth:`Workflow.create_run`.

    A run has one id for all its streams: the first (:meth:`stream` / :meth:`start`) and each
    resumption (:meth:`resume_stream` / :meth:`resume`). The run's snapshot in the workflow's
    storage is the truth every process shares: the first stream creates it (only one stream
    can), each step that ends or suspends updates it, and a resumption first claims it
    (``suspended`` → ``running``, a compare-and-set: of concurrent resumptions exactly one
    wins). Another process resumes the run with a new ``Workflow`` object of the same
    definition: ``await workflow.create_run(run_id=...)``.
    """

    def __init__(
        self, workflow: Workflow, run_id: str, snapshot: dict[str, Any] | None = None
    ) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self._snapshot = snapshot
        self._stream: WorkflowStream | None = None
        self._execution: Execution | None = None
        self._canceled = False

    def __repr__(self) -> str:
        return f"WorkflowRun({self.workflow.id!r}, run_id={self.run_id!r}, status={self.status!r})"

    @property
    def status(self) -> RunStatus:
        """``pending``, ``running``, or how the run stands after its last stream.

        A cancelled first stream leaves the run ``canceled``; a cancelled resumption leaves it
        as it was before (``suspended``, as its snapshot in storage says again), so it can be
        resumed again. A run read from storage whose process died while a step ran stays
        ``running`` (its snapshot lists the steps done).
        """
        if self._stream is not None and not self._stream.done:
            return "running"
        if self._snapshot is not None:
            status: RunStatus = self._snapshot["status"]
            return status
        if self._canceled or (self._stream is not None and self._stream.cancelled):
            return "canceled"
        return "pending"

    async def stream(
        self, input_data: Any = None, *, initial_state: dict[str, Any] | None = None
    ) -> WorkflowStream:
        """Start the run and return its stream; no step has run yet when this returns.

        Args:
            input_data: The run's input (validated against the workflow's input schema).
            initial_state: The run's starting ``ctx.state`` (JSON-compatible).

        Raises:
            InvalidInputError: ``input_data`` does not fit the input schema (nothing started).
            RunStateError: The run already started (here, or in any process sharing the
                storage: the run's snapshot is created atomically before this returns).
        """
        if self.status != "pending":
            raise self._started_error(self.status)
        data = self.workflow.validate_input(input_data)
        execution = Execution(
            self.workflow,
            self.run_id,
            self.workflow.storage,
            input_value=data,
            state=to_json(dict(initial_state or {})),
            on_end=self._ended,
        )
        storage = self.workflow.storage
        key = snapshot_key(self.workflow.id, self.run_id)
        entry = await storage.create(
            SNAPSHOT_NAMESPACE, key, execution.to_snapshot(), status="running"
        )
        if entry is None:
            raise self._started_error("started elsewhere")
        execution.snapshots.version = entry.version
        self._execution = execution
        self._stream = WorkflowStream(execution)
        return self._stream

    def _started_error(self, status: str) -> RunStateError:
        return RunStateError(
            f"run {self.run_id!r} already started ({status}); create a new run, or "
            "resume_stream() a suspended one"
        )

    async def start(
        self, input_data: Any = None, *, initial_state: dict[str, Any] | None = None
    ) -> WorkflowResult:
        """Run to the end without streaming and return the result (a failure does not raise)."""
        stream = await self.stream(input_data, initial_state=initial_state)
        return await stream.result

    async def resume_stream(
        self, step: StepRef | None = None, resume_data: Any = None
    ) -> WorkflowStream:
        """Continue a suspended run; return the new stream (a fresh ``workflow-start``).

        Steps that already succeeded emit nothing again; the resumed step starts with its
        original ``payload`` and ``startedAt``, plus ``resumePayload`` and ``resumedAt``, and
        sees ``ctx.resume_data``.

        Args:
            step: The suspended step to resume: an id, a dotted path or a list of ids (a
                nested workflow's id alone picks its one suspended step). Optional when one
                step is suspended.
            resume_data: Validated against the step's resume schema.

        Raises:
            RunStateError: The run is not suspended (never ran, still running, finished).
            InvalidInputError: No such suspended step, or ``resume_data`` fails its schema.
                Nothing changes then.
        """
        if self._stream is not None and not self._stream.done:
            raise RunStateError(f"run {self.run_id!r} is still running; it cannot be resumed")
        await self.saved()
        storage = self.workflow.storage
        key = snapshot_key(self.workflow.id, self.run_id)
        entry = await storage.get_entry(SNAPSHOT_NAMESPACE, key)
        if entry is None:
            raise RunStateError(
                f"run {self.run_id!r} is {self.status}, not suspended; only a suspended run resumes"
            )
        snapshot = check_snapshot(self.run_id, entry.value)
        self._snapshot = snapshot
        if snapshot["status"] != "suspended":
            raise RunStateError(
                f"run {self.run_id!r} is {snapshot['status']}, not suspended; only a suspended "
                "run resumes"
            )
        target = _resolve(self.run_id, step, [tuple(path) for path in snapshot["suspended"]])
        data = _resume_data(self.workflow.find_step(target), resume_data)
        claimed = {**snapshot, "status": "running", "updatedAt": now_ms()}
        won = await storage.update(
            SNAPSHOT_NAMESPACE, key, claimed, version=entry.version, status="running"
        )
        if won is None:
            raise RunStateError(
                f"run {self.run_id!r} was resumed by another caller at the same time; it runs "
                "there, not here"
            )
        execution = Execution(
            self.workflow,
            self.run_id,
            storage,
            snapshot=copy_snapshot(snapshot),
            resume_target=target,
            resume_data=data,
            on_end=self._ended,
            version=won.version,
        )
        self._execution = execution
        self._stream = WorkflowStream(execution)
        return self._stream

    async def resume(self, step: StepRef | None = None, resume_data: Any = None) -> WorkflowResult:
        """Continue a suspended run to the end and return the result."""
        stream = await self.resume_stream(step, resume_data)
        return await stream.result

    def cancel(self) -> None:
        """Cancel the running stream (see :class:`WorkflowStream`); a pending run never starts.

        Cancelling a resumption leaves the run suspended (see :attr:`status`).
        """
        if self._stream is not None and not self._stream.done:
            self._stream.cancel()
        elif self.status == "pending":
            self._canceled = True

    def _ended(self, snapshot: dict[str, Any]) -> None:
        self._snapshot = snapshot

    async def saved(self) -> None:
        """Wait until the snapshots this run's last stream asked for so far are written.

        Steps that ended are saved shortly after (see the README on what a crash can lose);
        this waits for those writes, e.g. before a process shuts down. A cancelled stream's
        last snapshot is included.
        """
        execution = self._execution
        if execution is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def idle(_: Exception | None) -> None:
            if not done.done():
                done.set_result(None)

        execution.when_saved(idle)
        await done


def _path_of(ref: object) -> tuple[str, ...]:
    if isinstance(ref, str):
        return tuple(ref.split("."))
    step_id = getattr(ref, "id", None)
    if isinstance(step_id, str):
        return (step_id,)
    if isinstance(ref, Sequence):
        return tuple(part for item in ref for part in _path_of(item))
    raise InvalidInputError(f"step must be an id, a dotted path, a step or a list, not {ref!r}")


def _resolve(
    run_id: str, step: StepRef | None, suspended: list[tuple[str, ...]]
) -> tuple[str, ...]:
    names = [".".join(path) for path in suspended]
    if step is None:
        if len(suspended) == 1:
            return suspended[0]
        raise InvalidInputError(
            f"run {run_id!r} has several suspended steps {names}; pass step= to pick one"
        )
    wanted = _path_of(step)
    size = len(wanted)
    for matches in (
        [path for path in suspended if path == wanted],
        [path for path in suspended if path[:size] == wanted],
        [path for path in suspended if path[-size:] == wanted],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            break
    raise InvalidInputError(
        f"step {'.'.join(wanted)!r} does not name one suspended step of run {run_id!r}; "
        f"suspended: {names}"
    )


def _resume_data(step: object, data: Any) -> Any:
    if not isinstance(step, Step) or step.resume_schema is None:
        return to_json(data)
    checked = validate(step.resume_schema, data, f"resume data of step {step.id!r}")
    return checked.model_dump(mode="json", by_alias=True)
