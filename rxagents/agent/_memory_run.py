"""Agent runs with memory: load a thread's recent messages first, save the new ones after.

Used by :class:`~rxagents.agent.Agent` when it has a :class:`~rxagents.memory.Memory` and a run
names a thread (``memory={"thread": ..., "resource": ...}``). Memory itself knows threads and
messages only; running agents over them is the agent package's business.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from reactivex import Observable, abc

from rxagents._core.invoke import invoke
from rxagents.agent._loop import AgentRun, RunConfig
from rxagents.events import AgentChunk
from rxagents.memory import Memory, MemoryRef, Thread
from rxagents.models import Message

__all__ = ("MemoryAgentRun", "observe_with_memory", "with_history")

_log = logging.getLogger(__name__)


def with_history(config: RunConfig, history: list[Message]) -> RunConfig:
    """Return ``config`` with ``history`` placed after the leading system messages."""
    if not history:
        return config
    prompt = list(config.prompt)
    at = 0
    while at < len(prompt) and prompt[at].get("role") == "system":
        at += 1
    prompt[at:at] = history
    return dataclasses.replace(config, prompt=prompt)


class MemoryAgentRun(AgentRun):
    """An agent run that saves its new messages to a thread before it completes.

    The chunks are the plain run's; after ``finish`` the input messages (system ones excepted)
    and the response messages are appended to the thread, then the run completes. A run that is
    disposed first saves nothing. A failed save is logged, never raised: the run itself
    succeeded.

    A run that pauses saves what it has so far (the input, the finished steps, the paused
    step's assistant message with its tool calls) before its state is stored, and the stored
    state names the thread and how much of the run it holds; the resumed run (built with
    ``saved``) appends the rest when it ends: the paused step's results, the later steps.
    """

    def __init__(
        self,
        config: RunConfig,
        memory: Memory,
        thread: Thread,
        new_messages: list[Message],
        *,
        saved: int = 0,
    ) -> None:
        super().__init__(config)
        self.memory = memory
        """Where the messages go."""
        self.thread = thread
        """The thread of this run."""
        self._new_messages = [m for m in new_messages if m.get("role") != "system"]
        self._saved = saved
        """How many of the run's response messages the thread already holds."""
        self._save_task: asyncio.Task[Any] | None = None

    async def _before_pause(self) -> None:
        """Save the input, the finished steps and the paused step's tool calls to the thread."""
        assistant = self._step.messages()[:1]  # a paused step has calls: an assistant message
        messages = self._new_messages + (self.response_messages + assistant)[self._saved :]
        try:
            await self.memory.save_messages(self.thread.id, messages)
        except Exception as error:
            _log.error(
                "agent run %s: could not save its messages to thread %s before pausing: %r",
                self.run_id,
                self.thread.id,
                error,
            )
            return
        self._new_messages = []
        self._saved = len(self.response_messages) + len(assistant)

    def _pause_fields(self) -> dict[str, Any]:
        return {
            "memory": {
                "thread": self.thread.id,
                "resource": self.thread.resource_id,
                "saved": self._saved,
            }
        }

    def subscribe(
        self, observer: abc.ObserverBase[AgentChunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        """Start the run; the save happens between ``finish`` and completion."""
        return super().subscribe(_SaveThenComplete(self, observer), scheduler)

    def _stop(self) -> None:
        """Stop the run and any save in progress."""
        super()._stop()
        task, self._save_task = self._save_task, None
        if task is not None:
            task.cancel()

    def _save(self, done: Callable[[], None]) -> None:
        if self.pending:  # paused: saved before the pause
            done()
            return
        messages = self._new_messages + self.response_messages[self._saved :]

        def report(_: object, error: Exception | None) -> None:
            self._save_task = None
            if error is not None:
                _log.error(
                    "agent run %s: could not save its messages to thread %s: %r",
                    self.run_id,
                    self.thread.id,
                    error,
                )
            if not self._disposed:
                done()

        self._save_task = invoke(
            lambda items: self.memory.save_messages(self.thread.id, items), messages, report
        )


class _SaveThenComplete(abc.ObserverBase[AgentChunk]):
    """Forwards a run's chunks; on completion saves the messages, then completes."""

    def __init__(self, run: MemoryAgentRun, observer: abc.ObserverBase[AgentChunk]) -> None:
        self._run = run
        self._observer = observer
        self.on_next = observer.on_next  # type: ignore[method-assign]
        self.on_error = observer.on_error  # type: ignore[method-assign]

    def on_next(self, value: AgentChunk) -> None:
        """Forward a chunk."""
        self._observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        """Forward an error (nothing is saved)."""
        self._observer.on_error(error)

    def on_completed(self) -> None:
        """Save, then complete."""
        self._run._save(self._observer.on_completed)


def observe_with_memory(
    memory: Memory,
    ref: MemoryRef,
    build: Callable[[Thread, list[Message]], MemoryAgentRun],
) -> Observable[AgentChunk]:
    """Return a cold Observable that loads the thread on subscribe, then runs ``build(...)``.

    Loading fails the Observable (e.g. a thread of another resource); disposing while loading
    cancels the load.
    """

    def subscribe(
        observer: abc.ObserverBase[AgentChunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return _LoadThenRun(memory, ref, build, observer, scheduler)

    return Observable(subscribe)


class _LoadThenRun(abc.DisposableBase):
    """One subscription of :func:`observe_with_memory`: the load, then the run."""

    def __init__(
        self,
        memory: Memory,
        ref: MemoryRef,
        build: Callable[[Thread, list[Message]], MemoryAgentRun],
        observer: abc.ObserverBase[AgentChunk],
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        self._build = build
        self._observer = observer
        self._scheduler = scheduler
        self._disposed = False
        self._run: MemoryAgentRun | None = None
        self._task: asyncio.Task[Any] | None = None
        self._task = invoke(memory.load, ref, self._loaded)

    def _loaded(self, value: Any, error: Exception | None) -> None:
        self._task = None
        if self._disposed:
            return
        if error is not None:
            self._observer.on_error(error)
            return
        thread, records = value
        try:
            run = self._build(thread, [record.to_message() for record in records])
        except Exception as err:
            self._observer.on_error(err)
            return
        self._run = run
        run.subscribe(self._observer, self._scheduler)

    def dispose(self) -> None:
        """Cancel the load, or stop the run."""
        self._disposed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        if self._run is not None:
            self._run.dispose()
