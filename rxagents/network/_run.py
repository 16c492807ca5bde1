"""``NetworkRun``: one network run as a cold Observable of network chunks.

The run is a loop over a generator of phases, concatenated one after the other
(``concat_each``, the workflow's lean ``concat_with_iterable``): open the thread; then per
iteration routing, the chosen primitive (or ``step-finish`` for ``none``) and the completion
check (also after a failed primitive; a rejected decision goes straight back to the router);
then ``network-execution-event-finish``. The generator decides what comes next from what
the previous phase left in the shared :class:`~rxagents.network._state.RunState`, so the loop
never nests (no recursive ``defer``).

The thread gets the task, one message per iteration (decision and result) and the final
result. They are placed in the thread when they happen and written in the background, one
batch at a time, so a slow storage (SQLite: a worker-thread hop per write) never delays the
next model call; the finish waits until everything is written.

Usage is counted with one tap at the root, with :func:`~rxagents.operators.usage_of`, so the
run's usage equals ``reduce_usage()`` over its stream by construction.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any, final

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents._core.invoke import invoke
from rxagents._core.rx import OneShotRun, concat_each, lean, subscribe_direct
from rxagents.events import (
    Abort,
    Chunk,
    NetworkFinish,
    NetworkFinishPayload,
    NetworkStepFinish,
    NetworkStepFinishPayload,
)
from rxagents.network._calls import check_phase, routing_phase
from rxagents.network._execute import execution_phase
from rxagents.network._primitives import Plan
from rxagents.network._prompts import iteration_message, result_message
from rxagents.network._state import NetworkConfig, RunState
from rxagents.operators import usage_of
from rxagents.usage import Usage

__all__ = ("NetworkRun",)

_log = logging.getLogger(__name__)


@final
class NetworkRun(OneShotRun[Chunk]):
    """One network run; :meth:`subscribe` starts it (once)."""

    def __init__(self, config: NetworkConfig) -> None:
        self.config = config
        self.run_id = config.run_id or str(uuid.uuid4())
        """The run's id (every chunk's ``runId``)."""
        self.state = RunState(config, self.run_id)
        """What the phases share (the thread, the last result, the verdict …)."""
        self.usage = Usage.zero
        """Every model call so far: routing, primitives and completion checks."""
        self.finish: NetworkFinish | None = None
        """The last chunk, once emitted."""
        self._subscription: abc.DisposableBase | None = None
        self._ended = False
        self._writing = False
        self._writer: asyncio.Task[Any] | None = None
        self._written: Callable[[], None] | None = None
        self._finishing = False
        self._touched = False

    # --- Rx plumbing ----------------------------------------------------------------------

    def _stop(self) -> None:
        """Stop the active primitive or model call, the loop, any memory write."""
        self._observer = None
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.dispose()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()

    def closing_chunks(self) -> list[Chunk]:
        """Chunks that end a cancelled run: the active primitive's closing chunks, ``abort``."""
        if self._ended or self.finish is not None:
            return []
        active = self.state.active
        chunks = active.closing_chunks() if active is not None else []
        chunks.append(Abort(run_id=self.run_id, from_="NETWORK"))
        return chunks

    def _begin(self) -> None:
        subscription = subscribe_direct(
            concat_each(self._phases), self._on_next, self._on_error, self._on_completed
        )
        if not self._ended and not self._disposed:
            self._subscription = subscription

    def _on_next(self, chunk: Chunk) -> None:
        usage = usage_of(chunk)
        if usage is not None:
            self.usage = self.usage + usage
        observer = self._observer
        if observer is not None:
            observer.on_next(chunk)

    def _on_error(self, error: Exception) -> None:
        self._ended = True
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.on_error(error)

    def _on_completed(self) -> None:
        self._ended = True
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.on_completed()

    # --- the loop -------------------------------------------------------------------------

    def _phases(self) -> Iterator[Observable[Chunk]]:
        state = self.state
        max_steps = self.config.max_steps
        yield self._opening()
        while True:
            yield routing_phase(state)
            plan = state.plan
            assert plan is not None
            if plan.kind == "invalid":
                state.feedback = f"your last decision could not be used: {plan.selection_reason}"
                state.from_check = False
            else:
                if plan.kind == "none":
                    state.primitive_id = plan.primitive_id
                    state.primitive_type = "none"
                    state.result = plan.selection_reason
                    state.error = None
                    yield self._emit(self._step_finish)
                else:
                    yield execution_phase(state, plan)
                # as in Mastra, a failed primitive is checked too: its error is the result
                yield check_phase(state)
                state.add(iteration_message(self._record(plan)))
                self._write()
            # iterations count from 0 and the run stops once iteration ``max_steps`` has run:
            # at most ``max_steps + 1`` rounds, as Mastra's ``iteration >= maxIterations``
            if state.passed or state.iteration >= max_steps:
                break
        result = self._final_result()
        if result is not None and result != "":
            record = {
                "runId": self.run_id,
                "type": "result",
                "isComplete": state.passed,
                "completionReason": self._completion_reason(),
                "iteration": state.iteration,
            }
            state.add(result_message(result, record))
            self._write()
        yield self._all_written()
        yield self._emit(self._finish_chunk)

    def _record(self, plan: Plan) -> dict[str, Any]:
        state = self.state
        record: dict[str, Any] = {
            "runId": self.run_id,
            "iteration": state.iteration,
            "primitiveType": plan.primitive_type,
            "primitiveId": plan.primitive_id,
            "prompt": plan.prompt,
            "selectionReason": plan.selection_reason,
            "result": state.result,
        }
        if state.error is not None:
            record["error"] = state.error.model_dump()
        return record

    def _final_result(self) -> Any:
        state = self.state
        return state.final_result if state.final_given else state.result

    def _completion_reason(self) -> str:
        if self.state.passed:
            return self.state.completion_reason
        return f"Max iterations reached: {self.config.max_steps}"

    # --- chunks ---------------------------------------------------------------------------

    def _step_finish(self) -> Chunk:
        state = self.state
        return NetworkStepFinish(
            run_id=self.run_id,
            payload=NetworkStepFinishPayload(
                task=self.config.task,
                result=state.result,
                is_complete=True,
                iteration=state.iteration,
                run_id=self.run_id,
            ),
        )

    def _finish_chunk(self) -> Chunk:
        state = self.state
        payload = NetworkFinishPayload.model_validate(
            {
                "task": self.config.task,
                "isComplete": state.passed,
                "completionReason": self._completion_reason(),
                "result": self._final_result(),
                "primitiveId": state.primitive_id,
                "primitiveType": state.primitive_type,
                "iteration": state.iteration,
                "isOneOff": self.config.is_one_off,
                "threadId": state.thread_id,
                "threadResourceId": state.resource_id,
                "validationPassed": state.passed,
                **self._feedback(),
                "usage": self.usage.filled(),
            }
        )
        self.finish = NetworkFinish(run_id=self.run_id, payload=payload)
        return self.finish

    def _feedback(self) -> dict[str, Any]:
        """``validationFeedback`` of the finish: the last check's report when it did not pass."""
        state = self.state
        if state.passed or not state.from_check or not state.feedback:
            return {}
        return {"validationFeedback": state.feedback}

    def _emit(self, build: Callable[[], Chunk]) -> Observable[Chunk]:
        """Return a phase that emits one chunk (built on subscribe) and completes."""

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            observer.on_next(build())
            observer.on_completed()
            return Disposable()

        return lean(subscribe)

    # --- memory ---------------------------------------------------------------------------

    def _opening(self) -> Observable[Chunk]:
        """Return the first phase: open the thread (unless loaded), show and save the task."""

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            config = self.config
            done = False

            def opened(loaded: Any, error: Exception | None) -> None:
                nonlocal done
                if done:
                    return
                done = True
                if error is not None:
                    observer.on_error(error)
                    return
                thread, records = loaded
                self.state.open(thread, records)
                task = dict(config.task_message)
                task["metadata"] = {"network": {"runId": self.run_id, "type": "task"}}
                self.state.add(task)
                self._write()
                observer.on_completed()

            if config.loaded is not None:
                opened(config.loaded, None)
                return Disposable()
            task = invoke(config.memory.load, config.ref, opened)

            def dispose() -> None:
                nonlocal done
                done = True
                if task is not None:
                    task.cancel()

            return Disposable(dispose)

        return lean(subscribe)

    def _write(self) -> None:
        """Start writing the waiting messages, unless a write is under way (it takes them)."""
        if self._writing or self._disposed:
            return
        if not self.state.to_save and not (self._finishing and not self._touched):
            return
        self._writing = True
        writer = invoke(self._drain, None, self._drained)
        if self._writing:
            self._writer = writer

    async def _drain(self, _: None) -> None:
        state = self.state
        memory = self.config.memory
        while state.to_save:
            batch, state.to_save = state.to_save, []
            try:
                # the thread's updatedAt is set once, at the end: one storage write less
                # per iteration (with SQLite, one worker-thread hop less)
                await memory.write_messages(state.thread_id, batch, touch=False)
            except Exception:
                _log.exception(
                    "network %s: could not write %d message(s) to thread %s",
                    self.run_id,
                    len(batch),
                    state.thread_id,
                )
        if self._finishing and not self._touched:
            self._touched = True
            try:
                await memory.update_thread(state.thread_id)
            except Exception:
                _log.exception(
                    "network %s: could not update thread %s", self.run_id, state.thread_id
                )

    def _drained(self, _: object, error: Exception | None) -> None:
        self._writing = False
        self._writer = None
        if error is not None and not self._disposed:  # pragma: no cover - _drain logs its own
            _log.error("network %s: the thread writer failed: %r", self.run_id, error)
        if self._disposed:
            return
        if self.state.to_save or (self._finishing and not self._touched):  # after its last look
            self._write()
            return
        written, self._written = self._written, None
        if written is not None:
            written()

    def _all_written(self) -> Observable[Chunk]:
        """Return a phase that completes once every message of the run is written."""

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            self._finishing = True
            self._write()
            if not self._writing:
                observer.on_completed()
                return Disposable()
            self._written = observer.on_completed

            def dispose() -> None:
                self._written = None

            return Disposable(dispose)

        return lean(subscribe)
