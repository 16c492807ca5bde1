"""One stream of a workflow run: the root Observable, usage, the end, the snapshot.

The run begins from an event-loop callback (so ``run.stream()`` returns before any step runs
and cancelling always works): ``workflow-start``, then the workflow's nodes, then the
snapshot is written, then ``workflow-finish``. Usage is counted with one tap at the root,
using :func:`~rxagents.operators.usage_of`, so ``usage`` equals ``reduce_usage()`` over the
stream by construction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reactivex import abc

from rxagents._core.clock import now_ms
from rxagents._core.invoke import invoke
from rxagents._core.rx import OneShotRun, subscribe_direct
from rxagents.errors import InvalidInputError
from rxagents.events import Chunk, ErrorInfo, WorkflowChunk, WorkflowStatus
from rxagents.operators import usage_of
from rxagents.storage import Storage
from rxagents.usage import Usage
from rxagents.workflow import _chunks
from rxagents.workflow._result import StepRecords, WorkflowResult
from rxagents.workflow._snapshot import SNAPSHOT_NAMESPACE, SNAPSHOT_VERSION, snapshot_key
from rxagents.workflow._state import Record, Scope, Slot

if TYPE_CHECKING:
    from rxagents.workflow._workflow import Workflow

__all__ = ("Execution",)

_log = logging.getLogger(__name__)


class Execution(OneShotRun[WorkflowChunk]):
    """One stream of a run (its first, or a resumption); subscribe to it once."""

    def __init__(
        self,
        workflow: Workflow,
        run_id: str,
        storage: Storage | None,
        *,
        input_value: Any = None,
        state: dict[str, Any] | None = None,
        snapshot: dict[str, Any] | None = None,
        resume_target: tuple[str, ...] | None = None,
        resume_data: Any = None,
        on_end: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Prepare a stream: a fresh run, or (with ``snapshot``) the resumption of one."""
        self.workflow = workflow
        self.run_id = run_id
        self.storage = storage
        self.on_end = on_end
        self.resume_target = resume_target
        self.resume_data = resume_data
        self.suspended: list[list[str]] = []
        self.created_at = now_ms()
        if snapshot is None:
            self.input = input_value
            self.state: dict[str, Any] = state if state is not None else {}
            self.steps: dict[str, Record] = {}
            self.path: list[str] = []
            self.root = Scope()
        else:
            self.input = snapshot["input"]
            self.state = snapshot.get("state", {})
            self.steps = snapshot["steps"]
            self.path = snapshot.get("stepExecutionPath", [])
            self.root = Scope.from_json(snapshot["scope"])
            self.created_at = snapshot.get("createdAt", self.created_at)
        self.root.workflow_id = workflow.id
        self.root.init_data = self.input
        self.usage = Usage.zero
        self.status: WorkflowStatus | None = None
        self.output: Any = None
        self.error: ErrorInfo | None = None
        self.snapshot: dict[str, Any] | None = None
        self.loop: asyncio.AbstractEventLoop = asyncio.get_running_loop()
        self.pending: deque[Callable[[], None]] = deque()
        """Work of block children that started; :meth:`flush` runs it."""
        self._subscription: abc.DisposableBase | None = None
        self._task: asyncio.Task[Any] | None = None
        self._started = False

    # --- the Observable ---------------------------------------------------------------------

    def _stop(self) -> None:
        """Cancel running steps, timers and the snapshot write."""
        if self._subscription is not None:
            self._subscription.dispose()
            self._subscription = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def closing_chunks(self) -> list[WorkflowChunk]:
        """Return the chunks that end a cancelled stream: ``workflow-finish`` (``canceled``)."""
        if self.status is not None and self._task is None:
            return []  # it ended on its own
        self.status = "canceled"
        chunks: list[WorkflowChunk] = []
        if not self._started:
            self._started = True
            chunks.append(_chunks.workflow_start_chunk(self.run_id, self.workflow.id))
        chunks.append(_chunks.finish_chunk(self.run_id, "canceled", self.usage))
        return chunks

    def _begin(self) -> None:
        observer = self._observer
        assert observer is not None
        self._started = True
        observer.on_next(_chunks.workflow_start_chunk(self.run_id, self.workflow.id))
        slot = Slot(self.input)
        try:
            self._subscription = subscribe_direct(
                self.workflow.root().observe(self, self.root, slot),
                self._on_next,
                observer.on_error,
                lambda: self._end(slot),
            )
        except Exception as error:  # a bug: end the stream with it rather than lose it
            _log.exception("workflow run %s failed", self.run_id)
            observer.on_error(error)

    def _on_next(self, chunk: Chunk) -> None:
        usage = usage_of(chunk)
        if usage is not None:
            self.usage = self.usage + usage
        observer = self._observer
        assert observer is not None
        observer.on_next(chunk)  # type: ignore[arg-type]  # only workflow chunks get here

    def flush(self) -> None:
        """Run the pending work of started block children, in order (re-entrant)."""
        pending = self.pending
        while pending:
            pending.popleft()()

    # --- the end ----------------------------------------------------------------------------

    def _end(self, slot: Slot) -> None:
        if self._disposed:
            return
        self._subscription = None
        if slot.halt == "failed":
            self.status = "failed"
            self.error = slot.error
        elif slot.halt == "suspended":
            self.status = "suspended"
        else:
            try:
                self.output = self.workflow.dump_output(slot.value)
                self.status = "success"
            except InvalidInputError as error:
                self.status = "failed"
                self.error = ErrorInfo.from_exception(error)
        snapshot = self.snapshot = self.to_snapshot()
        if self.on_end is not None:
            self.on_end(snapshot)
        if self.storage is None:
            self._finish(None)
            return
        storage = self.storage
        key = snapshot_key(self.workflow.id, self.run_id)

        def write(data: dict[str, Any]) -> Any:
            return storage.put(SNAPSHOT_NAMESPACE, key, data)

        self._task = invoke(write, snapshot, lambda _, error: self._finish(error))

    def _finish(self, error: Exception | None) -> None:
        if self._disposed:
            return
        self._task = None
        metadata: dict[str, Any] = {}
        if error is not None:
            _log.error("run %s: could not write its snapshot: %r", self.run_id, error)
            metadata["snapshotError"] = f"{type(error).__name__}: {error}"
        observer = self._observer
        assert observer is not None
        assert self.status is not None
        observer.on_next(
            _chunks.finish_chunk(
                self.run_id, self.status, self.usage, result=self.output, metadata=metadata
            )
        )
        observer.on_completed()

    # --- results ----------------------------------------------------------------------------

    def to_snapshot(self) -> dict[str, Any]:
        """Return the run as a JSON-ready snapshot (records shared, not copied).

        Only a suspended run keeps its record tree (what resuming needs); a finished one keeps
        what its result needs.
        """
        snapshot = {
            "version": SNAPSHOT_VERSION,
            "workflowId": self.workflow.id,
            "runId": self.run_id,
            "status": self.status,
            "input": self.input,
            "state": self.state,
            "result": self.output,
            "error": None if self.error is None else self.error.model_dump(),
            "steps": self.steps,
            "stepExecutionPath": self.path,
            "suspended": self.suspended,
            "createdAt": self.created_at,
            "updatedAt": now_ms(),
        }
        if self.status == "suspended":
            snapshot["scope"] = self.root.to_json()
        return snapshot

    def result(self) -> WorkflowResult:
        """Return the run's result as it stands (``canceled`` once cancelled)."""
        status = self.status or "canceled"
        return WorkflowResult(
            run_id=self.run_id,
            workflow_id=self.workflow.id,
            status=status,
            input=self.input,
            result=self.output if status == "success" else None,
            error=self.error,
            steps=StepRecords(self.steps),
            step_execution_path=list(self.path),
            suspended=[list(path) for path in self.suspended],
            state=self.state,
        )
