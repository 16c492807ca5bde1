"""One stream of a workflow run: the root Observable, usage, the end, the snapshots.

The run begins from an event-loop callback (so ``run.stream()`` returns before any step runs
and cancelling always works): ``workflow-start``, then the workflow's nodes, then the last
snapshot is written, then ``workflow-finish``. Snapshots are also written while the run goes
(:class:`~rxagents.workflow._persist.SnapshotWriter`): after each step ends, and before a
step's ``workflow-step-suspended`` is emitted. Usage is counted with one tap at the root,
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
from rxagents._core.rx import OneShotRun, subscribe_direct
from rxagents.errors import InvalidInputError
from rxagents.events import (
    Chunk,
    ErrorInfo,
    WorkflowChunk,
    WorkflowStatus,
    WorkflowStepResult,
    WorkflowStepStart,
)
from rxagents.operators import usage_of
from rxagents.storage import Storage
from rxagents.usage import Usage
from rxagents.workflow import _chunks
from rxagents.workflow._persist import SnapshotWriter
from rxagents.workflow._result import StepRecords, WorkflowResult
from rxagents.workflow._snapshot import SNAPSHOT_VERSION, copy_snapshot, snapshot_key
from rxagents.workflow._state import Record, Scope, Slot

if TYPE_CHECKING:
    from rxagents.workflow._workflow import Workflow

__all__ = ("Execution",)

_log = logging.getLogger(__name__)

_WITHOUT_USAGE: frozenset[type] = frozenset({WorkflowStepStart, WorkflowStepResult})
"""The chunks every step emits, which never carry usage (a step's output chunks may)."""


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
        version: int | None = None,
    ) -> None:
        """Prepare a stream: a fresh run, or (with ``snapshot``) the resumption of one.

        ``version`` is the version of the run's stored snapshot this stream owns (``None``: the
        first write creates it); ``snapshot`` is restored when a resumption is cancelled.
        """
        self.workflow = workflow
        self.run_id = run_id
        self.storage = storage
        self.on_end = on_end
        self.resume_target = resume_target
        self.resume_data = resume_data
        self.suspended: list[list[str]] = []
        self.active = 0
        """Work running now: leaf steps, conditions, loop hops (0 with a step suspended: the run
        is suspended)."""
        self.created_at = now_ms()
        self.restore: dict[str, Any] | None = None
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
            self.restore = copy_snapshot(snapshot)
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
        self.sent = 0
        """How many chunks the run emitted (to readers, or held back for them)."""
        self._released = 0
        self._held: deque[WorkflowChunk] = deque()
        self._gates: deque[int] = deque()
        self._barrier: asyncio.Handle | None = None
        self._barrier_late = False
        self._last_save = -1e9
        self.snapshots = SnapshotWriter(self, storage, snapshot_key(workflow.id, run_id), version)
        """This stream's snapshot writes."""
        self._subscription: abc.DisposableBase | None = None
        self._finished = False
        self._started = False

    # --- the Observable ---------------------------------------------------------------------

    def _stop(self) -> None:
        """Cancel running steps and timers.

        A started stream then saves its last word: a first stream leaves the run ``canceled``
        (with the steps done), a resumption puts back the snapshot it resumed (``suspended``).
        """
        self._save_cancel()
        if self._barrier is not None:
            self._barrier.cancel()
            self._barrier = None
        if self._subscription is not None:
            self._subscription.dispose()
            self._subscription = None
        self._let_go()

    def _let_go(self) -> None:
        """Drop the links that tie an ended stream in reference cycles (reader, run, writer).

        A finished run is then freed by reference counting alone, without the collector.
        """
        self._observer = None
        self.on_end = None
        self.pending.clear()
        self.snapshots.close()

    def closing_chunks(self) -> list[WorkflowChunk]:
        """Return the chunks that end a cancelled stream: ``workflow-finish`` (``canceled``)."""
        if self._finished:
            return []  # it ended on its own
        self._save_cancel()
        self.status = "canceled"
        chunks: list[WorkflowChunk] = []
        if not self._started:
            self._started = True
            chunks.append(_chunks.workflow_start_chunk(self.run_id, self.workflow.id))
        chunks.append(_chunks.finish_chunk(self.run_id, "canceled", self.usage))
        return chunks

    def _save_cancel(self) -> None:
        if self.status is not None or not (self._started or self.snapshots.version is not None):
            return  # ending on its own, or nothing stored yet
        self.status = "canceled"
        if self.restore is not None:
            self.snapshots.override = {**self.restore, "updatedAt": now_ms()}
        self.snapshots.request()

    def _begin(self) -> None:
        observer = self._observer
        assert observer is not None
        self._started = True
        observer.on_next(_chunks.workflow_start_chunk(self.run_id, self.workflow.id))
        slot = Slot(self.input)
        try:
            subscription = subscribe_direct(
                self.workflow.root().observe(self, self.root, slot),
                self._on_next,
                self._on_error,
                lambda: self._end(slot),
            )
        except Exception as error:  # a bug: end the stream with it rather than lose it
            _log.exception("workflow run %s failed", self.run_id)
            self._on_error(error)
            return
        if self._disposed:  # cancelled from inside the first leg
            subscription.dispose()
        elif self.status is None and not self._finished:  # still running
            self._subscription = subscription

    def _on_error(self, error: Exception) -> None:
        """End the stream with an error (a bug in the library: steps fail in-band)."""
        observer = self._observer
        if self._disposed or observer is None:
            return
        self._subscription = None
        self._finished = True
        self._let_go()
        observer.on_error(error)

    def _on_next(self, chunk: Chunk) -> None:
        if type(chunk) not in _WITHOUT_USAGE:
            usage = usage_of(chunk)
            if usage is not None:
                self.usage = self.usage + usage
        if chunk.type == "workflow-step-suspended":
            # Readers see a suspension only once storage says so: hold it (and what follows,
            # to keep the order) until a snapshot written after this point succeeded. The
            # write waits for the next callback, so the halt spreads through the flow first.
            self._gates.append(self.sent)
            self.save_soon(now=True)
        self.sent += 1
        if self._gates:
            self._held.append(chunk)  # type: ignore[arg-type]  # only workflow chunks here
            return
        self._released += 1
        observer = self._observer
        assert observer is not None
        observer.on_next(chunk)  # type: ignore[arg-type]  # only workflow chunks get here

    def save_soon(self, *, now: bool = False) -> None:
        """Write a snapshot from the next loop callback (once however often asked).

        Waiting for the next callback lets the step's ending spread through the flow first (the
        next step starts, a block settles), so the snapshot shows where the run really is, and
        steps that end in one callback share one write. With the workflow's ``save_interval``,
        a step's ending waits until that long after the last write (a suspension, ``now``,
        never waits).
        """
        if self._disposed:
            return
        if self._barrier is not None:
            if not (now and self._barrier_late):
                return
            self._barrier.cancel()
        loop = self.loop
        delay = self._last_save + self.workflow.save_interval - loop.time()
        self._barrier_late = not now and delay > 0
        if self._barrier_late:
            self._barrier = loop.call_later(delay, self._write_barrier)
        else:
            self._barrier = loop.call_soon(self._write_barrier)

    def when_saved(self, then: Callable[[Exception | None], None]) -> None:
        """Call ``then(error)`` once every snapshot asked for so far is written (now if none)."""
        if self._barrier is not None:
            self._barrier.cancel()
            self._write_barrier()
        self.snapshots.when_idle(then)

    def _write_barrier(self) -> None:
        self._barrier = None
        self._last_save = self.loop.time()
        self.snapshots.request(self._release)

    def _release(self, error: Exception | None) -> None:
        """Let held chunks through, up to the first suspension not yet covered by a write."""
        observer = self._observer
        if self._disposed or observer is None:
            return
        mark = self.snapshots.durable_mark if error is None else self.sent
        held, gates = self._held, self._gates
        while held:
            if gates and gates[0] == self._released:
                if gates[0] >= mark:
                    return
                gates.popleft()
            self._released += 1
            observer.on_next(held.popleft())

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
            self.on_end = None
        if self._barrier is not None:  # the last write covers every held chunk
            self._barrier.cancel()
            self._barrier = None
        self.snapshots.request(self._finish)

    def _finish(self, error: Exception | None) -> None:
        if self._disposed:
            return
        self._finished = True
        metadata: dict[str, Any] = {}
        error = error or self.snapshots.error
        self._release(error)
        if error is not None:
            metadata["snapshotError"] = f"{type(error).__name__}: {error}"
            if self.status == "suspended":  # it could not be resumed: say so
                self.status = "failed"
                self.error = ErrorInfo(
                    name=type(error).__name__,
                    message=f"the suspended run could not be saved, so it cannot be resumed: "
                    f"{error}",
                )
        observer = self._observer
        assert observer is not None
        assert self.status is not None
        observer.on_next(
            _chunks.finish_chunk(
                self.run_id, self.status, self.usage, result=self.output, metadata=metadata
            )
        )
        self._let_go()
        observer.on_completed()

    # --- results ----------------------------------------------------------------------------

    def live_status(self) -> str:
        """The run's status as storage should see it now.

        ``running`` while a step runs; ``suspended`` once nothing runs and a step suspended
        (the stream may not have ended yet, but nothing is left to do but resume); how the
        stream ended once it did.
        """
        if self.status is not None:
            return self.status
        if self.active == 0 and self.suspended:
            return "suspended"
        return "running"

    def to_snapshot(self) -> dict[str, Any]:
        """Return the run as a JSON-ready snapshot (records shared, not copied).

        Only a suspended run keeps its record tree (what resuming needs); the others keep what
        their result needs (a running one: the steps done so far).
        """
        status = self.live_status()
        snapshot = {
            "version": SNAPSHOT_VERSION,
            "workflowId": self.workflow.id,
            "runId": self.run_id,
            "status": status,
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
        if status == "suspended":
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
