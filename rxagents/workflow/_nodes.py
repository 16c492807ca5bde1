"""Nodes, and the base of leaf nodes (a step, a nested workflow, a foreach): cold Observables.

A leaf run emits ``workflow-step-start`` (a sleep: ``workflow-step-waiting``), then what the
step writes (a foreach: a ``workflow-step-progress`` per item), then exactly one
``workflow-step-result`` or ``workflow-step-suspended`` (a *quiet* run — a foreach item —
emits only what it writes); a loop body's own chunks carry ``metadata.iterationCount``. It
reads its input from its :class:`Slot` when subscribed and leaves its output (or why it
halted) there when it completes. A step that succeeded in an earlier stream of the run (its
record says so) emits nothing and just restores its output. Failures and suspensions complete
the Observable normally; ``on_error`` is for bugs only.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents._core.clock import now_ms
from rxagents._core.ids import counted_id
from rxagents._core.rx import LeanSource
from rxagents.errors import RunStateError
from rxagents.events import Chunk, ErrorInfo
from rxagents.workflow import _chunks
from rxagents.workflow._context import _Host
from rxagents.workflow._state import Record, Scope, Slot, error_json
from rxagents.workflow._step import AgentStepError

if TYPE_CHECKING:
    from rxagents.workflow._execution import Execution

__all__ = ("NO_DISPOSAL", "LeafNode", "LeafRun", "LeafStyle", "Node", "error_info")

LeafStyle = Literal["step", "foreach", "sleep"]
"""Which chunks a leaf emits (see :attr:`LeafNode.style`)."""

NO_DISPOSAL = Disposable()
"""The disposable of work that ended inside ``subscribe``."""


def error_info(error: BaseException) -> ErrorInfo:
    """Serialise a step's exception as ``{name, message}``."""
    if isinstance(error, AgentStepError):
        return ErrorInfo(name=error.error_name, message=str(error))
    return ErrorInfo(name=type(error).__name__, message=str(error) or type(error).__name__)


class Node(ABC):
    """A compiled piece of a workflow; :meth:`observe` makes its Observable for one run."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key
        """Where the node's record lives in its scope (its position in the workflow)."""

    @abstractmethod
    def observe(self, exe: Execution, scope: Scope, slot: Slot) -> Observable[Chunk]:
        """Return the node's work in ``exe`` as a cold Observable (input from ``slot``)."""
        ...


class LeafNode(Node):
    """A node that is one step in the stream (a step, a nested workflow, a foreach)."""

    __slots__ = ("deferred", "id", "quiet", "style")

    def __init__(self, key: str, id: str, *, deferred: bool = False, quiet: bool = False) -> None:
        super().__init__(key)
        self.id = id
        """The step's id (bare: nested ids get their prefix from the scope)."""
        self.style: LeafStyle = "step"
        """The chunks of the leaf, as in Mastra: ``step`` (start and result with the step's
        call id and input), ``foreach`` (a start without call id, a thin ending) or ``sleep``
        (``workflow-step-waiting`` instead of the start, a thin result)."""
        self.deferred = deferred
        """Leave the work for the enclosing block to start once every sibling has started
        (so a parallel block emits all its step starts first, as Mastra does)."""
        self.quiet = quiet
        """Emit no start/result chunks and keep no flat record (foreach items)."""

    run_type: ClassVar[type[LeafRun]]
    """The run of this kind of leaf (a class attribute of each kind)."""

    def observe(self, exe: Execution, scope: Scope, slot: Slot) -> Observable[Chunk]:
        """Return the leaf's run as a cold Observable."""
        return self.run_type(self, exe, scope, slot)


class LeafRun(_Host, LeanSource[Chunk], abc.DisposableBase):
    """One execution of a leaf: the start, the work (subclasses), then one ending.

    It is its own cold Observable: subscribing starts it (and its disposable stops it); a
    second subscription starts a fresh run of the same leaf.
    """

    __slots__ = (
        "call_id",
        "counted",
        "disposed",
        "exe",
        "had_prior",
        "handle",
        "node",
        "observer",
        "record",
        "resumed",
        "scope",
        "slot",
        "step_id",
        "subscribed",
        "subscription",
        "task",
    )

    observer: abc.ObserverBase[Chunk]
    """Where the run's chunks go (set when subscribed)."""
    record: Record
    """The step's record in this run (set when it starts)."""

    def __init__(self, node: LeafNode, exe: Execution, scope: Scope, slot: Slot) -> None:
        self.node = node
        self.exe = exe
        self.scope = scope
        self.slot = slot
        self.subscribed = False
        self.disposed = False
        self.counted = False
        self.resumed = False
        self.had_prior = False
        self.handle: asyncio.Handle | asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None
        self.subscription: abc.DisposableBase | None = None
        self.step_id = ""
        self.call_id = ""

    def direct(
        self, observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        if self.subscribed:
            again = self.node.run_type(self.node, self.exe, self.scope, self.slot)
            return again.direct(observer, scheduler)
        self.subscribed = True
        self.observer = observer
        return self.start()

    def start(self) -> abc.DisposableBase:
        node = self.node
        scope = self.scope
        prior = scope.records.get(node.key)
        if prior is not None and prior["status"] == "success":
            self.slot.value = prior["output"]  # done in an earlier stream of this run
            self.observer.on_completed()
            return NO_DISPOSAL
        self.step_id = scope.prefix + node.id if scope.prefix else node.id
        now = now_ms()
        if prior is None or prior["status"] == "failed":
            record: Record = {"status": "running", "payload": self.slot.value, "startedAt": now}
        else:
            self.had_prior = True
            record = self._resume_record(prior, now)
        self.record = scope.records[node.key] = record
        self.counted = True
        self.exe.active += 1
        if not node.quiet:
            exe = self.exe
            exe.steps[self.step_id] = record
            exe.path.append(self.step_id)
            style = node.style
            chunk: Chunk
            if style == "step":
                self.call_id = counted_id()
                start = _chunks.start_chunk(exe.run_id, self.step_id, self.call_id, record)
                if scope.loop_body:
                    _chunks.add_iteration(start, scope.iteration)
                chunk = start
            elif style == "foreach":
                chunk = _chunks.bare_start_chunk(exe.run_id, self.step_id, record)
            else:
                chunk = _chunks.waiting_chunk(exe.run_id, self.step_id, record)
            self.observer.on_next(chunk)
        if node.deferred:
            self.exe.pending.append(self.deferred_work)
        else:
            self.work()
        return self

    def _resume_record(self, prior: Record, now: int) -> Record:
        """Start again a step that was suspended: with the resume data if it is the target."""
        path = (*self.scope.path, self.node.id)
        target = self.exe.resume_target
        if self.scope.resume_all or (target is not None and target[: len(path)] == path):
            self.resumed = True
            return {
                "status": "running",
                "payload": prior["payload"],
                "startedAt": prior["startedAt"],
                "resumePayload": self.exe.resume_data,
                "resumedAt": now,
            }
        return {"status": "running", "payload": prior["payload"], "startedAt": now}

    @abstractmethod
    def work(self) -> None:
        """Do the step's work, then call exactly one of the endings below."""
        ...

    def deferred_work(self) -> None:
        if not self.disposed:
            self.work()

    # --- endings ----------------------------------------------------------------------------

    def _leave(self) -> None:
        if self.counted:
            self.counted = False
            self.exe.active -= 1

    def succeed(self, output: Any) -> None:
        record = self.record
        record["status"] = "success"
        record["output"] = output
        record["endedAt"] = now_ms()
        self.slot.value = output
        exe = self.exe
        if self.counted:  # _leave(), inline on the common path
            self.counted = False
            exe.active -= 1
        if not self.node.quiet:
            self.observer.on_next(self._result_chunk(record))
            exe.save_soon()
        self.observer.on_completed()

    def fail(self, error: ErrorInfo) -> None:
        record = self.record
        record["status"] = "failed"
        record["error"] = error_json(error)
        record["endedAt"] = now_ms()
        self.slot.fail(error)
        self._leave()
        if not self.node.quiet:
            self.observer.on_next(self._result_chunk(record))
            self.exe.save_soon()
        self.observer.on_completed()

    def suspended(self, payload: Any, *, leaf: bool = True) -> None:
        """End suspended (the run holds the chunk until a snapshot saying so is written)."""
        record = self.record
        record["status"] = "suspended"
        record["suspendPayload"] = payload
        record["suspendedAt"] = now_ms()
        self.slot.suspend(payload)
        self._leave()
        if not self.node.quiet:
            if leaf and not self.scope.in_item:
                self.exe.suspended.append([*self.scope.path, self.node.id])
            if self.node.style == "step":
                chunk = _chunks.suspended_chunk(self.exe.run_id, self.step_id, self.call_id, record)
                if self.scope.loop_body:
                    _chunks.add_iteration(chunk, self.scope.iteration)
            else:
                chunk = _chunks.thin_suspended_chunk(self.exe.run_id, self.step_id, record)
            self.observer.on_next(chunk)
        self.observer.on_completed()

    def _result_chunk(self, record: Record) -> Chunk:
        if self.node.style == "step":
            chunk = _chunks.result_chunk(self.exe.run_id, self.step_id, self.call_id, record)
            if self.scope.loop_body:
                _chunks.add_iteration(chunk, self.scope.iteration)
            return chunk
        return _chunks.thin_result_chunk(self.exe.run_id, self.step_id, record)

    def write(self, value: Any) -> None:
        if not self.disposed:
            self.observer.on_next(_chunks.output_chunk(self.exe.run_id, self.node.id, value))

    def dispose(self) -> None:
        if self.disposed:
            return
        self.disposed = True
        self._leave()
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        if self.task is not None:
            self.task.cancel()
            self.task = None
        if self.subscription is not None:
            self.subscription.dispose()
            self.subscription = None

    # --- _Host: what the step's context asks for ---------------------------------------------

    def suspend(self, payload: Any) -> None:
        raise RunStateError("only a step's execute can suspend")

    def step_result(self, step: Any) -> Any:
        step_id = step if isinstance(step, str) else step.id
        steps = self.exe.steps
        record = steps.get(self.scope.prefix + step_id) or steps.get(step_id)
        if record is None or record["status"] != "success":
            return None
        return record["output"]

    @property
    def init_data(self) -> Any:
        return self.scope.init_data
