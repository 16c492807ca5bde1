"""Leaves that run other nodes: a nested workflow, and a foreach over a list.

Both appear as one step in the stream. A nested workflow's steps run in the same stream under
dotted ids (``outer.inner``); a foreach's items run quietly (no start or result of their own),
at most ``concurrency`` at a time (:func:`~rxagents._core.rx.merge_each`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reactivex import Observable, abc

from rxagents._core.rx import lean, merge_each, subscribe_direct
from rxagents.errors import InvalidInputError
from rxagents.events import Chunk, ErrorInfo
from rxagents.workflow import _chunks
from rxagents.workflow._nodes import NO_DISPOSAL, LeafNode, LeafRun, error_info
from rxagents.workflow._state import Scope, Slot

if TYPE_CHECKING:
    from rxagents.workflow._workflow import Workflow

__all__ = ("ForeachNode", "NestedNode")


class _NestedRun(LeafRun):
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


class NestedNode(LeafNode):
    """A workflow used as a step: its steps run in the same stream under dotted ids."""

    __slots__ = ("workflow",)

    run_type = _NestedRun

    def __init__(
        self, workflow: Workflow, key: str, *, deferred: bool = False, quiet: bool = False
    ):
        super().__init__(key, workflow.id, deferred=deferred, quiet=quiet)
        self.workflow = workflow


class _ForeachRun(LeafRun):
    __slots__ = ("completed", "slots", "stopped")

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
        self.completed = 0
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
                return NO_DISPOSAL
            scope = holder.child(str(index), holder.prefix, holder.path)
            scope.resume_all = resume
            prior = scope.records.get(item.key)
            done_before = prior is not None and prior["status"] == "success"

            def on_completed() -> None:
                halt = slot.halt
                if halt is not None:
                    self.stopped = True
                if not done_before:  # an item done in an earlier stream reports nothing
                    observer.on_next(self._progress(index, slot))
                observer.on_completed()

            return subscribe_direct(
                item.observe(exe, scope, slot), observer.on_next, observer.on_error, on_completed
            )

        return lean(subscribe)

    def _progress(self, index: int, slot: Slot) -> Chunk:
        """``workflow-step-progress`` for an item that ended (a suspended one is not counted)."""
        halt = slot.halt
        total = len(self.slots)
        run_id = self.exe.run_id
        if halt is None:
            self.completed += 1
            return _chunks.progress_chunk(
                run_id, self.step_id, self.completed, total, index, "success", slot.value
            )
        if halt == "failed":
            self.completed += 1
            return _chunks.progress_chunk(
                run_id, self.step_id, self.completed, total, index, "failed"
            )
        return _chunks.progress_chunk(
            run_id, self.step_id, self.completed, total, index, "suspended"
        )

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


class ForeachNode(LeafNode):
    """Run a step for each item of its input list, at most ``concurrency`` at a time.

    One start and one result for the whole foreach (as in Mastra); the items run quietly.
    After a failure or a suspension no further item starts; running items settle first.
    """

    __slots__ = ("concurrency", "item")

    run_type = _ForeachRun

    def __init__(self, item: LeafNode, key: str, concurrency: int) -> None:
        super().__init__(key, item.id)
        self.item = item
        self.concurrency = concurrency
        self.style = "foreach"
