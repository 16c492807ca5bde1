"""Control-flow nodes composed with Rx: sequences, parallel blocks, branches and loops.

- a sequence is a concatenation (:func:`concat_each`, ``concat_with_iterable`` with a plain
  trampoline) over a generator of its children's Observables; the generator stops when the
  shared :class:`Slot` says a child failed or suspended;
- a parallel block is a merge (:func:`merge_each`) of its children, each with its own slot;
  running siblings always settle (Rx errors are never used for step failures), then the block
  ends with the first failure in declaration order, else the first suspension, else
  ``{step id: output}``;
- a branch evaluates every condition (sync or async), then runs the chosen steps like a
  parallel block (Mastra runs every step whose condition holds; usually one);
- ``dountil``/``dowhile`` run their body over a generator (:func:`concat_each`), never as
  recursive ``defer``, which would grow with every iteration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from reactivex import Observable, abc
from reactivex.disposable import Disposable, SerialDisposable

from rxagents._core.invoke import invoke
from rxagents._core.rx import concat_each, lean, merge_each, subscribe_direct
from rxagents.errors import RunStateError
from rxagents.events import Chunk, ErrorInfo
from rxagents.workflow._context import StepContext, StepWriter, _Host
from rxagents.workflow._nodes import LeafNode, Node, error_info
from rxagents.workflow._state import Record, Scope, Slot, error_json

if TYPE_CHECKING:
    from rxagents.workflow._execution import Execution

__all__ = ("BranchNode", "Condition", "LoopNode", "ParallelNode", "SequenceNode")

Condition = Callable[[StepContext[Any]], "bool | Awaitable[bool]"]
"""``condition(ctx) -> bool``, sync or async; ``ctx.input_data`` is the raw JSON value."""

_NO_DISPOSAL = Disposable()
_LOOP_HOP_EVERY = 64  # a loop of quick steps yields to the event loop this often (cancellable)


class SequenceNode(Node):
    """Children one after the other; each reads the previous one's output from the slot."""

    __slots__ = ("children",)

    def __init__(self, key: str, children: Sequence[Node]) -> None:
        super().__init__(key)
        self.children = tuple(children)

    def observe(self, exe: Execution, scope: Scope, slot: Slot) -> Observable[Chunk]:
        """Return the children concatenated, stopping at the first that halts."""
        children = self.children

        def each() -> Iterator[Observable[Chunk]]:
            for child in children:
                yield child.observe(exe, scope, slot)
                if slot.halt is not None:
                    return

        return concat_each(each)


def _restore(scope: Scope, key: str, slot: Slot) -> bool:
    record = scope.records.get(key)
    if record is not None and record["status"] == "success":
        slot.value = record["output"]
        return True
    return False


def _settle(record: Record, slot: Slot, ids: Sequence[str], slots: Sequence[Slot]) -> None:
    """End a block from its children's slots: first failure, else suspension, else outputs."""
    for child in slots:
        if child.halt == "failed":
            assert child.error is not None
            record["status"] = "failed"
            record["error"] = error_json(child.error)
            slot.fail(child.error)
            return
    for child in slots:
        if child.halt == "suspended":
            record["status"] = "suspended"
            slot.suspend(child.suspend_payload)
            return
    output = {step_id: child.value for step_id, child in zip(ids, slots, strict=True)}
    record["status"] = "success"
    record["output"] = output
    slot.value = output


def _run_block(
    exe: Execution,
    scope: Scope,
    slot: Slot,
    record: Record,
    children: Sequence[LeafNode],
    observer: abc.ObserverBase[Chunk],
) -> abc.DisposableBase:
    """Merge ``children`` (each with its own slot holding the block's input), then settle."""
    value = slot.value
    slots = [Slot(value) for _ in children]

    def on_completed() -> None:
        _settle(record, slot, [child.id for child in children], slots)
        observer.on_completed()

    sources = [child.observe(exe, scope, s) for child, s in zip(children, slots, strict=True)]
    subscription = subscribe_direct(
        merge_each(sources), observer.on_next, observer.on_error, on_completed
    )
    exe.flush()  # the children emitted their starts; now their work begins, in order
    return subscription


class ParallelNode(Node):
    """Steps that run at the same time on the same input; the output is keyed by step id."""

    __slots__ = ("children",)

    def __init__(self, key: str, children: Sequence[LeafNode]) -> None:
        super().__init__(key)
        self.children = tuple(children)

    def observe(self, exe: Execution, scope: Scope, slot: Slot) -> Observable[Chunk]:
        """Return the merged children; they all settle before the block ends."""

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            if _restore(scope, self.key, slot):
                observer.on_completed()
                return _NO_DISPOSAL
            record: Record = {"status": "running"}
            scope.records[self.key] = record
            return _run_block(exe, scope, slot, record, self.children, observer)

        return lean(subscribe)


class _ConditionHost(_Host):
    """The host of a condition's context: no suspension, step results of the run."""

    __slots__ = ("exe", "scope")

    def __init__(self, exe: Execution, scope: Scope) -> None:
        self.exe = exe
        self.scope = scope

    def suspend(self, payload: Any) -> None:
        raise RunStateError("a condition cannot suspend the workflow; suspend in a step")

    def step_result(self, step: Any) -> Any:
        step_id = step if isinstance(step, str) else step.id
        steps = self.exe.steps
        record = steps.get(self.scope.prefix + step_id) or steps.get(step_id)
        return None if record is None or record["status"] != "success" else record["output"]

    @property
    def init_data(self) -> Any:
        return self.scope.init_data


def _discard(value: Any) -> None:
    """Drop what a condition writes: a condition is not a step and has no output."""


_NULL_WRITER = StepWriter(_discard)


def _condition_context(exe: Execution, scope: Scope, value: Any) -> StepContext[Any]:
    return StepContext(
        _ConditionHost(exe, scope),
        value,
        run_id=exe.run_id,
        workflow_id=scope.workflow_id,
        state=exe.state,
        writer=_NULL_WRITER,
        iteration_count=scope.iteration,
    )


def _evaluate(
    exe: Execution,
    conditions: Sequence[Condition],
    context: StepContext[Any],
    done: Callable[[list[bool] | None, Exception | None], None],
) -> abc.DisposableBase:
    """Evaluate every condition (concurrently when async); report their truth values once.

    The evaluation counts as running work of the run (``exe.active``) until it reports.
    """
    results: list[bool] = [False] * len(conditions)
    errors: list[Exception | None] = [None] * len(conditions)
    tasks: list[asyncio.Task[Any]] = []
    remaining = len(conditions)
    disposed = False

    def reporter(index: int) -> Callable[[Any, Exception | None], None]:
        def report(value: Any, error: Exception | None) -> None:
            nonlocal remaining
            if disposed:
                return
            exe.active -= 1
            if error is None:
                results[index] = bool(value)
            else:
                errors[index] = error
            remaining -= 1
            if remaining == 0:
                first = next((e for e in errors if e is not None), None)
                done(None if first is not None else results, first)

        return report

    exe.active += len(conditions)
    for index, condition in enumerate(conditions):
        task = invoke(condition, context, reporter(index), exe.loop)
        if task is not None:
            tasks.append(task)

    def dispose() -> None:
        nonlocal disposed
        disposed = True
        for task in tasks:
            task.cancel()

    return Disposable(dispose)


class BranchNode(Node):
    """Run the steps whose condition holds (evaluated on the branch's input)."""

    __slots__ = ("children", "conditions")

    def __init__(
        self, key: str, conditions: Sequence[Condition], children: Sequence[LeafNode]
    ) -> None:
        super().__init__(key)
        self.conditions = tuple(conditions)
        self.children = tuple(children)

    def observe(self, exe: Execution, scope: Scope, slot: Slot) -> Observable[Chunk]:
        """Return the chosen steps merged; events only for them."""

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            if _restore(scope, self.key, slot):
                observer.on_completed()
                return _NO_DISPOSAL
            serial = SerialDisposable()
            prior = scope.records.get(self.key)

            def run(chosen: list[int]) -> None:
                record: Record = {"status": "running", "chosen": chosen}
                scope.records[self.key] = record
                children = [self.children[i] for i in chosen]
                serial.disposable = _run_block(exe, scope, slot, record, children, observer)

            def decided(truth: list[bool] | None, error: Exception | None) -> None:
                if truth is None:
                    assert error is not None
                    info = ErrorInfo(
                        name=type(error).__name__,
                        message=f"a branch condition failed: {error_info(error).message}",
                    )
                    scope.records[self.key] = {"status": "failed", "error": error_json(info)}
                    slot.fail(info)
                    observer.on_completed()
                    return
                run([i for i, holds in enumerate(truth) if holds])

            if prior is not None and "chosen" in prior:  # resuming: keep the earlier decision
                run(list(prior["chosen"]))
            else:
                context = _condition_context(exe, scope, slot.value)
                evaluation = _evaluate(exe, self.conditions, context, decided)
                if serial.disposable is None:  # still evaluating (async conditions)
                    serial.disposable = evaluation
            return serial

        return lean(subscribe)


class LoopNode(Node):
    """``dountil`` (stop once the condition holds) or ``dowhile`` (go on while it holds).

    The body runs at least once; each iteration's output is the next one's input and, at
    the end, the loop's output. The condition sees the body's output and the iteration count.
    """

    __slots__ = ("body", "condition", "until")

    def __init__(self, key: str, body: LeafNode, condition: Condition, *, until: bool) -> None:
        super().__init__(key)
        self.body = body
        self.condition = condition
        self.until = until

    def observe(self, exe: Execution, scope: Scope, slot: Slot) -> Observable[Chunk]:
        """Return the iterations concatenated from a generator."""
        key = self.key

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            if _restore(scope, key, slot):
                observer.on_completed()
                return _NO_DISPOSAL
            record = scope.records.get(key)
            resuming = record is not None and record["status"] == "suspended"
            if record is None or not resuming:
                record = scope.records[key] = {"status": "running", "iteration": 0}
            body_slot = Slot(slot.value)
            verdict: list[Any] = [None, None]  # [truth, error] of the last condition

            def decide(value: Any, error: Exception | None) -> None:
                verdict[0], verdict[1] = value, error

            def each() -> Iterator[Observable[Chunk]]:
                nonlocal resuming
                while True:
                    if resuming:
                        resuming = False
                        body_scope = scope.child(key, scope.prefix, scope.path)
                    else:
                        record["iteration"] += 1
                        body_scope = scope.child(key, scope.prefix, scope.path, fresh=True)
                        if record["iteration"] % _LOOP_HOP_EVERY == 0:
                            yield _hop(exe)
                    record["status"] = "running"
                    body_scope.iteration = record["iteration"]
                    body_scope.loop_body = True  # its chunks carry the iteration count
                    yield self.body.observe(exe, body_scope, body_slot)
                    if body_slot.halt is not None:
                        record["status"] = body_slot.halt
                        if body_slot.halt == "failed":
                            assert body_slot.error is not None
                            slot.fail(body_slot.error)
                        else:
                            slot.suspend(body_slot.suspend_payload)
                        return
                    context = _condition_context(exe, body_scope, body_slot.value)
                    yield _call(exe, self.condition, context, decide)
                    truth, error = verdict
                    if error is not None:
                        info = ErrorInfo(
                            name=type(error).__name__,
                            message=f"a loop condition failed: {error_info(error).message}",
                        )
                        record["status"] = "failed"
                        record["error"] = error_json(info)
                        slot.fail(info)
                        return
                    if bool(truth) == self.until:
                        record["status"] = "success"
                        record["output"] = body_slot.value
                        slot.value = body_slot.value
                        return

            return subscribe_direct(
                concat_each(each), observer.on_next, observer.on_error, observer.on_completed
            )

        return lean(subscribe)


def _call(
    exe: Execution,
    function: Condition,
    context: StepContext[Any],
    report: Callable[[Any, Exception | None], None],
) -> Observable[Chunk]:
    """Return an Observable that calls ``function`` on subscribe and completes with it.

    The call counts as running work of the run (``exe.active``) until it reports.
    """

    def subscribe(
        observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        disposed = False
        exe.active += 1

        def reported(value: Any, error: Exception | None) -> None:
            if not disposed:
                exe.active -= 1
                report(value, error)
                observer.on_completed()

        task = invoke(function, context, reported, exe.loop)

        def dispose() -> None:
            nonlocal disposed
            disposed = True
            if task is not None:
                task.cancel()

        return Disposable(dispose)

    return lean(subscribe)


def _hop(exe: Execution) -> Observable[Chunk]:
    """Return an Observable completing from the next loop callback (a cancellation point)."""

    def subscribe(
        observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        exe.active += 1

        def hopped() -> None:
            exe.active -= 1
            observer.on_completed()

        handle = exe.loop.call_soon(hopped)
        return Disposable(handle.cancel)

    return lean(subscribe)
