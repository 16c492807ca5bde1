"""``WorkflowStream``: one stream of a workflow run, shared by every reader."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from reactivex import Observable

from rxagents._core.run_stream import ChunkBuffer, RunResult, RunStream, fail_quietly
from rxagents.errors import RunFailedError
from rxagents.events import WorkflowChunk, WorkflowStatus
from rxagents.usage import Usage
from rxagents.workflow._result import WorkflowResult

__all__ = ("WorkflowSource", "WorkflowStream")


class WorkflowSource(Protocol):
    """What a :class:`WorkflowStream` reads from the run behind it.

    A local run's execution implements it; so can a remote run (a client reading a server's
    stream), which then gets the same stream object.
    """

    @property
    def run_id(self) -> str:
        """The run's id."""
        ...

    @property
    def usage(self) -> Usage:
        """Usage counted so far (read when the stream ends)."""
        ...

    def observable(self) -> Observable[WorkflowChunk]:
        """The run's chunks; subscribed once, when the stream is created."""
        ...

    def closing_chunks(self) -> Sequence[WorkflowChunk]:
        """The chunks that end a cancelled stream (``workflow-finish`` ``canceled``)."""
        ...

    def result(self) -> WorkflowResult:
        """The run's result once the stream ended (``canceled`` after cancellation)."""
        ...


class WorkflowStream(RunStream[WorkflowChunk]):
    """A running workflow stream: iterate its chunks, await its status, result and usage.

    Every reader shares one run and replays what already happened (see
    :class:`~rxagents._core.run_stream.RunStream` for cancellation and buffering).

    Cancellation — ``stream.cancel()``, ``run.cancel()``, or the last reader leaving early —
    disposes the run (running steps' tasks are cancelled, timers dropped), then appends
    ``workflow-finish`` with ``workflowStatus: "canceled"`` (after a ``workflow-start`` if the
    run had not begun) and ends the replay there. Steps still running get no result chunk;
    ``await stream.result`` then gives a result with status ``canceled``.
    """

    def __init__(self, execution: WorkflowSource) -> None:
        loop = asyncio.get_running_loop()
        self._execution = execution
        self._status: asyncio.Future[WorkflowStatus] = loop.create_future()
        self._result: asyncio.Future[WorkflowResult] = loop.create_future()
        self._usage: asyncio.Future[Usage] = loop.create_future()
        super().__init__(execution.observable(), closing_chunks=execution.closing_chunks)

    @property
    def run_id(self) -> str:
        """The run's id (every chunk's ``runId``)."""
        return self._execution.run_id

    @property
    def status(self) -> RunResult[WorkflowStatus]:
        """How the stream ended: ``success``, ``failed``, ``suspended`` or ``canceled``."""
        return RunResult(self, self._status)

    @property
    def result(self) -> RunResult[WorkflowResult]:
        """The run's result; a failed run resolves too (``status``/``error`` say why)."""
        return RunResult(self, self._result)

    @property
    def usage(self) -> RunResult[Usage]:
        """Usage summed over every agent used in this stream (equals ``reduce_usage()``)."""
        return RunResult(self, self._usage)

    async def raise_for_error(self) -> None:
        """Wait for the stream to end; raise :class:`~rxagents.errors.RunFailedError` if failed.

        A failed step ends the workflow with ``workflowStatus: "failed"`` (in-band, as in
        Mastra); this turns that into an exception. Suspension and cancellation are not
        failures.
        """
        try:
            result = await self.result
        except Exception as err:
            failure = RunFailedError(f"workflow run {self.run_id} failed: {err}")
            raise failure from err
        if result.status == "failed":
            error = result.error
            raise RunFailedError(f"workflow run {self.run_id} failed: {error}", error=error)

    def _settle(self, chunks: ChunkBuffer[WorkflowChunk], error: Exception | None) -> None:
        if error is not None:
            for future in (self._status, self._result, self._usage):
                fail_quietly(future, error)
            return
        result = self._execution.result()
        status = result.status
        self._status.set_result(
            "canceled" if status == "running" else status
        )  # ended: never running
        self._result.set_result(result)
        self._usage.set_result(self._execution.usage)
