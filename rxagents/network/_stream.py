"""``NetworkStream``: one network run shared by every reader, with awaitable results."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol, final

from reactivex import abc

from rxagents._core.run_stream import ChunkBuffer, RunResult, RunStream, fail_quietly
from rxagents.errors import RunError
from rxagents.events import Chunk, NetworkFinish, compact_chunk, compact_text, expand_chunk
from rxagents.network._schemas import NetworkResult, NetworkStatus
from rxagents.usage import Usage

__all__ = ("NetworkSource", "NetworkStream")


class _Thread(Protocol):
    thread_id: str


class NetworkSource(Protocol):
    """What a :class:`NetworkStream` reads of its run: a local run, or a remote one.

    ``usage`` and ``finish`` must be up to date when the run completes; ``closing_chunks`` is
    called on cancellation, before the subscription is disposed.
    """

    run_id: str
    """The run's id."""
    usage: Usage
    """The usage counted so far."""
    finish: NetworkFinish | None
    """The finish chunk, once emitted."""

    @property
    def state(self) -> _Thread:
        """Where the run's memory thread id is read."""
        ...

    def subscribe(self, observer: abc.ObserverBase[Chunk], /) -> abc.DisposableBase:
        """Start the run (once); the disposable stops it."""
        ...

    def closing_chunks(self) -> list[Chunk]:
        """Return the chunks that end a cancelled run (``abort`` last)."""
        ...


@final
class NetworkStream(RunStream[Chunk]):
    """A running network: iterate its chunks, await its status, result and usage.

    Every reader shares one run and replays what already happened (see
    :class:`~rxagents._core.run_stream.RunStream` for buffering). Cancelling —
    :meth:`cancel`, cancelling the task awaiting a result, or the last reader leaving ``async
    for`` early — stops the active primitive (its model call, tool task or workflow steps) and
    the loop; the stream then ends with the primitive's closing chunks (wrapped, e.g.
    ``agent-execution-event-abort``) and ``abort``. ``status`` is then ``canceled``, ``usage``
    what was spent, and awaiting ``result`` raises :class:`~rxagents.errors.RunError`.
    """

    def __init__(self, run: NetworkSource) -> None:
        loop = asyncio.get_running_loop()
        self._run = run
        self._status: asyncio.Future[NetworkStatus] = loop.create_future()
        self._result: asyncio.Future[NetworkResult] = loop.create_future()
        self._usage: asyncio.Future[Usage] = loop.create_future()
        super().__init__(
            run,
            closing_chunks=run.closing_chunks,
            compact=compact_chunk,
            expand=expand_chunk,
            peek_text=compact_text,
        )

    @property
    def run_id(self) -> str:
        """The run's id (every chunk's ``runId``)."""
        return self._run.run_id

    @property
    def thread_id(self) -> str:
        """The memory thread of the run."""
        return self._run.state.thread_id

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The final answer as it streams (``routing-agent-text-delta``; replayed).

        Empty when the completion check gave no ``finalResult`` (the last primitive's result is
        the answer then: ``(await stream.result).result``).
        """
        return self._follow("routing-agent-text-delta")

    @property
    def status(self) -> RunResult[NetworkStatus]:
        """How the run ended: ``success``, ``max-steps`` or ``canceled``."""
        return RunResult(self, self._status)

    @property
    def result(self) -> RunResult[NetworkResult]:
        """The finish payload, typed (raises :class:`RunError` when the run was cancelled)."""
        return RunResult(self, self._result)

    @property
    def usage(self) -> RunResult[Usage]:
        """Every model call of the run summed (equals ``reduce_usage()`` over the stream)."""
        return RunResult(self, self._usage)

    def _settle(self, chunks: ChunkBuffer[Chunk], error: Exception | None) -> None:
        if error is not None:
            for name in ("_status", "_result", "_usage"):
                self._resolve(name, error=error)
            return
        run = self._run
        self._resolve("_usage", run.usage)
        finish = run.finish
        if finish is None:
            self._resolve("_status", "canceled")
            reason = "cancelled" if self.cancelled else "ended without a finish chunk"
            self._resolve("_result", error=RunError(f"network run {run.run_id} was {reason}"))
            return
        payload = finish.payload.model_dump(by_alias=True)
        payload["runId"] = finish.run_id
        result = NetworkResult.model_validate(payload)
        self._resolve("_result", result)
        self._resolve("_status", "success" if result.is_complete else "max-steps")

    def _resolve(self, name: str, value: Any = None, error: Exception | None = None) -> None:
        """Settle a result future (awaiters are shielded, so it is still pending here)."""
        future: asyncio.Future[Any] = getattr(self, name)
        if error is None:
            future.set_result(value)
        else:
            fail_quietly(future, error)
