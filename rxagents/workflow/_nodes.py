"""Leaf nodes: a step, a nested workflow, a foreach — each a cold Observable of chunks.

A leaf run emits ``workflow-step-start``, then what the step writes, then exactly one
``workflow-step-result`` or ``workflow-step-suspended`` (a *quiet* run — a foreach item —
emits only what it writes). It reads its input from its :class:`Slot` when subscribed and
leaves its output (or why it halted) there when it completes. A step that succeeded in an
earlier stream of the run (its record says so) emits nothing and just restores its output.
Failures and suspensions complete the Observable normally; ``on_error`` is for bugs only.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import tenacity
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents.errors import InvalidInputError
from rxagents.events import Chunk, ErrorInfo
from rxagents.workflow import _chunks
from rxagents.workflow._context import StepContext, StepWriter, _Host
from rxagents.workflow._drive import invoke
from rxagents.workflow._rx import lean, merge_each, subscribe_direct
from rxagents.workflow._state import Record, Scope, Slot, error_json, new_call_id, now_ms
from rxagents.workflow._step import AgentStepError, Step

if TYPE_CHECKING:
    from rxagents.workflow._execution import Execution
    from rxagents.workflow._workflow import Workflow

__all__ = ("ForeachNode", "LeafNode", "NestedNode", "Node", "StepNode", "error_info")

_NO_DISPOSAL = Disposable()


def error_info(error: BaseException) -> ErrorInfo:
    """Serialise a step's exception as ``{name, message}``."""
    if isinstance(error, AgentStepError):
        return ErrorInfo(name=error.error_name, message=str(error))
    return ErrorInfo(name=type(error).__name__, message=str(error) or type(error).__name__)


class Node:
    """A compiled piece of a workflow; :meth:`observe` makes its Observable for one run."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key
        """Where the node's record lives in its scope (its position in the workflow)."""

    def observe(self, exe: Execution, scope: Scope, slot: Slot) -> Observable[Chunk]:
        """Return the node's work in ``exe`` as a cold Observable (input from ``slot``)."""
        raise NotImplementedError


class LeafNode(Node):
    """A node that is one step in the stream (a step, a nested workflow, a foreach)."""

    __slots__ = ("deferred", "id", "quiet")

    def __init__(self, key: str, id: str, *, deferred: bool = False, quiet: bool = False) -> None:
        super().__init__(key)
        self.id = id
        """The step's id (bare: nested ids get their prefix from the scope)."""
        self.deferred = deferred
        """Leave the work for the enclosing block to start once every sibling has started
        (so a parallel block emits all its step starts first, as Mastra does)."""
        self.quiet = quiet
        """Emit no start/result chunks and keep no flat record (foreach items)."""

    def observe(self, exe: Execution, scope: Scope, slot: Slot) -> Observable[Chunk]:
        """Return the leaf's run as a cold Observable."""

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return self.run(exe, scope, slot, observer).start()

        return lean(subscribe)

    def run(
        self, exe: Execution, scope: Scope, slot: Slot, observer: abc.ObserverBase[Chunk]
    ) -> _LeafRun:
        """Return the run object of one subscription."""
        raise NotImplementedError


class _LeafRun(_Host, abc.DisposableBase):
    """One execution of a leaf: the start, the work (subclasses), then one ending."""

    __slots__ = (
        "call_id",
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
        "subscription",
        "task",
    )

    def __init__(
        self,
        node: LeafNode,
        exe: Execution,
        scope: Scope,
        slot: Slot,
        observer: abc.ObserverBase[Chunk],
    ) -> None:
        self.node = node
        self.exe = exe
        self.scope = scope
        self.slot = slot
        self.observer = observer
        self.disposed = False
        self.resumed = False
        self.had_prior = False
        self.handle: asyncio.Handle | asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None
        self.subscription: abc.DisposableBase | None = None
        self.step_id = ""
        self.call_id = ""
        self.record: Record = {}

    def start(self) -> abc.DisposableBase:
        node = self.node
        scope = self.scope
        prior = scope.records.get(node.key)
        if prior is not None and prior["status"] == "success":
            self.slot.value = prior["output"]  # done in an earlier stream of this run
            self.observer.on_completed()
            return _NO_DISPOSAL
        self.step_id = scope.prefix + node.id if scope.prefix else node.id
        now = now_ms()
        if prior is None or prior["status"] == "failed":
            record: Record = {"status": "running", "payload": self.slot.value, "startedAt": now}
        else:
            self.had_prior = True
            record = self._resume_record(prior, now)
        self.record = scope.records[node.key] = record
        if not node.quiet:
            exe = self.exe
            self.call_id = new_call_id()
            exe.steps[self.step_id] = record
            exe.path.append(self.step_id)
            self.observer.on_next(
                _chunks.start_chunk(exe.run_id, self.step_id, self.call_id, record)
            )
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

    def work(self) -> None:
        """Do the step's work, then call exactly one of the endings below."""
        raise NotImplementedError

    def deferred_work(self) -> None:
        if not self.disposed:
            self.work()

    # --- endings ----------------------------------------------------------------------------

    def succeed(self, output: Any) -> None:
        record = self.record
        record["status"] = "success"
        record["output"] = output
        record["endedAt"] = now_ms()
        self.slot.value = output
        if not self.node.quiet:
            self.observer.on_next(
                _chunks.result_chunk(self.exe.run_id, self.step_id, self.call_id, record)
            )
        self.observer.on_completed()

    def fail(self, error: ErrorInfo) -> None:
        record = self.record
        record["status"] = "failed"
        record["error"] = error_json(error)
        record["endedAt"] = now_ms()
        self.slot.fail(error)
        if not self.node.quiet:
            self.observer.on_next(
                _chunks.result_chunk(self.exe.run_id, self.step_id, self.call_id, record)
            )
        self.observer.on_completed()

    def suspended(self, payload: Any, *, leaf: bool = True) -> None:
        record = self.record
        record["status"] = "suspended"
        record["suspendPayload"] = payload
        record["suspendedAt"] = now_ms()
        self.slot.suspend(payload)
        if not self.node.quiet:
            if leaf and not self.scope.in_item:
                self.exe.suspended.append([*self.scope.path, self.node.id])
            self.observer.on_next(
                _chunks.suspended_chunk(self.exe.run_id, self.step_id, self.call_id, record)
            )
        self.observer.on_completed()

    def write(self, value: Any) -> None:
        if not self.disposed:
            self.observer.on_next(_chunks.output_chunk(self.exe.run_id, self.node.id, value))

    def dispose(self) -> None:
        if self.disposed:
            return
        self.disposed = True
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
        raise RuntimeError("only a step's execute can suspend")

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


# --- a step --------------------------------------------------------------------------------


class StepNode(LeafNode):
    """A :class:`Step`: validate the input, call ``execute``, retry, validate the output."""

    __slots__ = ("step",)

    def __init__(self, step: Step, key: str, *, deferred: bool = False, quiet: bool = False):
        super().__init__(key, step.id, deferred=deferred, quiet=quiet)
        self.step = step

    def run(
        self, exe: Execution, scope: Scope, slot: Slot, observer: abc.ObserverBase[Chunk]
    ) -> _LeafRun:
        return _StepRun(self, exe, scope, slot, observer)


class _StepRun(_LeafRun):
    __slots__ = ("input_data", "resume_data", "retry_count", "retry_state", "suspend_payload")

    node: StepNode

    def work(self) -> None:
        self.handle = None
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
        self.task = invoke(self.node.step.execute, context, self.outcome)

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
        if not self.retry(error):
            self.fail(error_info(error))

    def retry(self, error: Exception) -> bool:
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


# --- a nested workflow ---------------------------------------------------------------------


class NestedNode(LeafNode):
    """A workflow used as a step: its steps run in the same stream under dotted ids."""

    __slots__ = ("workflow",)

    def __init__(
        self, workflow: Workflow, key: str, *, deferred: bool = False, quiet: bool = False
    ):
        super().__init__(key, workflow.id, deferred=deferred, quiet=quiet)
        self.workflow = workflow

    def run(
        self, exe: Execution, scope: Scope, slot: Slot, observer: abc.ObserverBase[Chunk]
    ) -> _LeafRun:
        return _NestedRun(self, exe, scope, slot, observer)


class _NestedRun(_LeafRun):
    __slots__ = ("inner",)

    node: NestedNode

    def work(self) -> None:
        self.handle = None
        workflow = self.node.workflow
        try:
            data = workflow.validate_input(self.record["payload"])
        except InvalidInputError as error:
            self.fail(error_info(error))
            return
        scope = self.scope
        inner = scope.child(
            self.node.key, self.step_id + ".", (*scope.path, self.node.id), fresh=not self.had_prior
        )
        inner.workflow_id = workflow.id
        inner.init_data = data
        self.inner = Slot(data)
        self.subscription = subscribe_direct(
            workflow.root().observe(self.exe, inner, self.inner),
            self.observer.on_next,
            self.observer.on_error,
            self.inner_done,
        )

    def inner_done(self) -> None:
        if self.disposed:
            return
        self.subscription = None
        inner = self.inner
        if inner.halt == "failed":
            assert inner.error is not None
            self.fail(inner.error)
        elif inner.halt == "suspended":
            self.suspended(inner.suspend_payload, leaf=False)
        else:
            try:
                output = self.node.workflow.dump_output(inner.value)
            except InvalidInputError as error:
                self.fail(error_info(error))
                return
            self.succeed(output)


# --- foreach -------------------------------------------------------------------------------


class ForeachNode(LeafNode):
    """Run a step for each item of its input list, at most ``concurrency`` at a time.

    One start and one result for the whole foreach (as in Mastra); the items run quietly.
    After a failure or a suspension no further item starts; running items settle first.
    """

    __slots__ = ("concurrency", "item")

    def __init__(self, item: LeafNode, key: str, concurrency: int) -> None:
        super().__init__(key, item.id)
        self.item = item
        self.concurrency = concurrency

    def run(
        self, exe: Execution, scope: Scope, slot: Slot, observer: abc.ObserverBase[Chunk]
    ) -> _LeafRun:
        return _ForeachRun(self, exe, scope, slot, observer)


class _ForeachRun(_LeafRun):
    __slots__ = ("slots", "stopped")

    node: ForeachNode

    def work(self) -> None:
        self.handle = None
        items = self.record["payload"]
        if not isinstance(items, list):
            self.fail(
                ErrorInfo(
                    name="InvalidInputError",
                    message=f"foreach step {self.node.id!r} needs a list as input, "
                    f"got {type(items).__name__}",
                )
            )
            return
        scope = self.scope
        holder = scope.child(self.node.key, scope.prefix, scope.path, fresh=not self.had_prior)
        holder.in_item = True
        self.slots = [Slot(item) for item in items]
        self.stopped = False
        first_suspended = -1
        if self.resumed:
            for index in range(len(items)):
                record = holder.scopes.get(str(index))
                if record is not None and record.records.get("item", {}).get("status") == (
                    "suspended"
                ):
                    first_suspended = index
                    break
        sources = [self._item(holder, i, i == first_suspended) for i in range(len(items))]
        merged = merge_each(sources, self.node.concurrency)
        self.subscription = subscribe_direct(
            merged, self.observer.on_next, self.observer.on_error, self.items_done
        )

    def _item(self, holder: Scope, index: int, resume: bool) -> Observable[Chunk]:
        item = self.node.item
        slot = self.slots[index]
        exe = self.exe

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            if self.stopped:
                observer.on_completed()
                return _NO_DISPOSAL
            scope = holder.child(str(index), holder.prefix, holder.path)
            scope.resume_all = resume

            def on_completed() -> None:
                if slot.halt is not None:
                    self.stopped = True
                observer.on_completed()

            return subscribe_direct(
                item.observe(exe, scope, slot), observer.on_next, observer.on_error, on_completed
            )

        return lean(subscribe)

    def items_done(self) -> None:
        if self.disposed:
            return
        self.subscription = None
        slots = self.slots
        failed = next((s for s in slots if s.halt == "failed"), None)
        if failed is not None:
            assert failed.error is not None
            self.fail(failed.error)
            return
        suspended = next((s for s in slots if s.halt == "suspended"), None)
        if suspended is not None:
            self.suspended(suspended.suspend_payload)
            return
        self.succeed([s.value for s in slots])
