"""Record a run started in this process (``agent.stream()`` …) into an event log.

A server records every run it serves by itself (``Runtime(event_log=...)``). A run started
anywhere else (a worker, a script, a notebook) is recorded with :func:`record`: its chunks go into
the log under its run id as they come, so any process sharing the log can read it, follow it
live, or cancel it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from reactivex import Observable, abc

from rxagents._core.rx import subscribe_direct
from rxagents.errors import RxAgentsError
from rxagents.eventlog._protocol import EventLog, RunKind, RunLog, failure_chunks, takes_compact
from rxagents.events import ErrorInfo

__all__ = ("Recordable", "RunSource", "copy_into", "create_owned", "record")

_log = logging.getLogger("rxagents.eventlog")


class RunSource(Protocol):
    """A run as an owner copies it: its chunks (replayed, then live) and a way to stop it."""

    @property
    def observable(self) -> Observable[Any]:
        """The run's chunks, replayed from the first, then live."""
        ...

    def cancel(self) -> None:
        """Stop the run; its closing chunks follow."""
        ...


class Recordable(RunSource, Protocol):
    """A run stream: ``AgentStream``, ``WorkflowStream``, ``NetworkStream``."""

    @property
    def run_id(self) -> str:
        """The run's id: the key of its log."""
        ...


async def create_owned(log: EventLog, key: str, kind: RunKind, stream: RunSource) -> RunLog:
    """Create the log ``key`` for ``stream``, which a cancel request or a lost log cancels.

    Raises:
        RunExistsError: The log already holds ``key`` (the run is cancelled).
        RunLostError: The log's store cannot be reached (the run is cancelled).
    """

    def on_cancel() -> None:
        _log.info("run %s: cancel requested", key)
        stream.cancel()

    def on_lost(error: RxAgentsError) -> None:
        _log.warning("run %s lost its log: %s", key, error)
        stream.cancel()

    try:
        return await log.create(key, kind=kind, on_cancel=on_cancel, on_lost=on_lost)
    except BaseException:
        stream.cancel()
        raise


def copy_into(
    run_log: RunLog,
    stream: RunSource,
    *,
    run_id: str,
    kind: RunKind,
    on_end: Callable[[], None] | None = None,
) -> abc.DisposableBase:
    """Append ``stream``'s chunks to ``run_log`` as they come, and end it with the run.

    A failure of the source ends the log with the failure's chunks, under the run id the
    chunks carry (the first chunk's, else ``run_id``). A log that takes compact forms
    (:func:`takes_compact`) gets an agent run's text deltas unbuilt. ``on_end`` is called once
    the log has ended.
    """
    chunk_run_id = run_id  # the run id the chunks carry (a source may set its own)
    first = True

    def on_next(chunk: Any) -> None:
        nonlocal chunk_run_id, first
        if run_log.is_open:
            if first:
                first = False
                chunk_run_id = str(getattr(chunk, "run_id", None) or run_id)
            run_log.append(chunk)

    def on_error(error: Exception) -> None:
        if run_log.is_open:
            info = ErrorInfo.from_exception(error).model_dump(by_alias=True)
            for chunk in failure_chunks(info, chunk_run_id, kind):
                run_log.append(chunk)
        on_completed()

    def on_completed() -> None:
        if run_log.is_open:
            run_log.end()
        if on_end is not None:
            on_end()

    on_compact: Callable[[tuple[Any, ...]], None] | None = None
    if takes_compact(run_log):  # the log stores an agent run's text deltas unbuilt
        compact_log = run_log

        def append_compact(form: tuple[Any, ...]) -> None:
            nonlocal chunk_run_id, first
            if compact_log.is_open:
                if first:
                    first = False
                    chunk_run_id = str(form[1] or run_id)  # the form's run id
                compact_log.append(form)

        on_compact = append_compact
    return subscribe_direct(
        stream.observable, on_next, on_error, on_completed, on_compact=on_compact
    )


async def record(log: EventLog, stream: Recordable, *, kind: RunKind) -> RunLog:
    """Copy ``stream``'s chunks into ``log`` under its run id, from its first chunk to its end.

    Returns once the log holds the run (the chunks so far are in it; the rest follow as they
    come). From then on, a cancel request through the log (``await log.request_cancel(run_id)``,
    or a server's cancel route, in any process sharing the log) cancels the run, and so does
    losing the log (a Redis owner fenced or out of reach past its retries). A run that fails ends
    its log with the failure's chunks, as a served run's does.

    Args:
        log: Where to record.
        stream: The run's stream, as ``agent.stream()`` returned it.
        kind: ``"agent"``, ``"workflow"`` or ``"network"``: how readers close a lost run.

    Returns:
        The owner's handle on the run's log (``await run_log.flush()`` waits until every chunk
        appended so far is stored).

    Raises:
        RunExistsError: The log already holds this run id (the run is cancelled).
        RunLostError: The log's store cannot be reached (the run is cancelled).

    Example:
        >>> import asyncio
        >>> from rxagents import Agent, InMemoryEventLog
        >>> from rxagents.models import ScriptedModel
        >>> async def main() -> str:
        ...     agent = Agent("a", model=ScriptedModel([[
        ...         {"type": "text-delta", "id": "t", "delta": "Hi"},
        ...         {"type": "finish", "finishReason": "stop"}]]))
        ...     log = InMemoryEventLog()
        ...     stream = await agent.stream("Hello")
        ...     await record(log, stream, kind="agent")
        ...     chunks = [chunk async for _, chunk in log.read(stream.run_id)]
        ...     return " ".join(chunk.type for chunk in chunks)
        >>> asyncio.run(main())
        'start step-start text-start text-delta text-end step-finish finish'
    """
    run_log = await create_owned(log, stream.run_id, kind, stream)
    copy_into(run_log, stream, run_id=stream.run_id, kind=kind)
    return run_log
