"""Record a run started in this process (``agent.stream()`` …) into an event log.

A server records every run it serves by itself (``Runtime(event_log=...)``). A run started
anywhere else (a worker, a script, a notebook) is recorded with :func:`record`: its chunks go into
the log under its run id as they come, so any process sharing the log can read it, follow it
live, or cancel it.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from reactivex import Observable

from rxagents._core.rx import subscribe_direct
from rxagents.errors import RxAgentsError
from rxagents.eventlog._protocol import EventLog, RunKind, RunLog, failure_chunks
from rxagents.events import ErrorInfo

__all__ = ("Recordable", "record")

_log = logging.getLogger("rxagents.eventlog")


class Recordable(Protocol):
    """A run stream: ``AgentStream``, ``WorkflowStream``, ``NetworkStream``."""

    @property
    def run_id(self) -> str:
        """The run's id: the key of its log."""
        ...

    @property
    def observable(self) -> Observable[Any]:
        """The run's chunks, replayed from the first, then live."""
        ...

    def cancel(self) -> None:
        """Stop the run; its closing chunks follow."""
        ...


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
    run_id = stream.run_id

    def on_cancel() -> None:
        _log.info("recorded run %s: cancel requested", run_id)
        stream.cancel()

    def on_lost(error: RxAgentsError) -> None:
        _log.warning("recorded run %s lost its log: %s", run_id, error)
        stream.cancel()

    try:
        run_log = await log.create(run_id, kind=kind, on_cancel=on_cancel, on_lost=on_lost)
    except BaseException:
        stream.cancel()
        raise

    def on_next(chunk: Any) -> None:
        if run_log.is_open:
            run_log.append(chunk)

    def on_error(error: Exception) -> None:
        if run_log.is_open:
            info = ErrorInfo.from_exception(error).model_dump(by_alias=True)
            for chunk in failure_chunks(info, run_id, kind):
                run_log.append(chunk)
        on_completed()

    def on_completed() -> None:
        if run_log.is_open:
            run_log.end()

    subscribe_direct(stream.observable, on_next, on_error, on_completed)
    return run_log
