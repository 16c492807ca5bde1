"""The event-log protocol: an append-only log of chunks per run, replayed and followed live."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, TypeGuard, runtime_checkable

from rxagents.errors import RxAgentsError
from rxagents.events import (
    Chunk,
    ChunkBase,
    CompactChunk,
    DataChunk,
    compact_json,
    parse_chunk,
)

__all__ = (
    "CompactRunLog",
    "EventLog",
    "LostCallback",
    "RunInfo",
    "RunKind",
    "RunLog",
    "RunStatus",
    "chunk_json",
    "failure_chunks",
    "lost_chunks",
    "lost_message",
    "named_data_chunk",
    "takes_compact",
)

RunKind: TypeAlias = Literal["agent", "workflow", "network"]
"""What kind of run a log holds; decides the shape of the terminal chunks of a lost run."""

RunStatus: TypeAlias = Literal["running", "ended", "lost"]
"""``running`` (chunks may still come), ``ended`` (the owner ended it), ``lost`` (its owner
stopped before ending it; the log ends with the run's terminal error)."""

LostCallback: TypeAlias = Callable[[RxAgentsError], None]
"""Called once when a run's log stops taking chunks before its end (see :class:`RunLog`)."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What the log knows about one run."""

    run_id: str
    """The run's id (the log's key)."""
    kind: RunKind
    """The kind of run."""
    status: RunStatus
    """Whether the run is running, ended, or lost."""
    length: int
    """The number of chunks stored: the next position."""
    owner: str | None
    """The id of the process that runs it (while ``running``), else ``None``."""
    cancel_requested: bool
    """Whether a cancel was requested."""


@runtime_checkable
class RunLog(Protocol):
    """The owner's handle on one run's log: append chunks in order, then end it.

    :meth:`append` and :meth:`end` are synchronous and cheap, made to be called from an Rx
    ``on_next`` for every chunk; the backend stores them in the background (Redis: every chunk
    appended during one event-loop callback goes in one round trip). Positions are 0-based chunk
    indexes in append order.

    Two callbacks, given to :meth:`EventLog.open`, tell the run what happens elsewhere:
    ``on_cancel()`` once when any process asked to cancel the run, and ``on_lost(error)`` once
    when the log stops taking chunks before :meth:`end` — the lease was lost
    (:class:`~rxagents.errors.FencedError`: the readers already got the run's terminal error),
    the store stayed unreachable (:class:`~rxagents.errors.RunLostError`), or, with a
    backend that creates runs in the background, the id was taken
    (:class:`~rxagents.errors.RunExistsError`). The run should then be cancelled: later appends
    are dropped.
    """

    @property
    def run_id(self) -> str:
        """The run's id."""
        ...

    @property
    def kind(self) -> RunKind:
        """The kind of run."""
        ...

    @property
    def length(self) -> int:
        """The number of chunks appended so far: the position of the next one."""
        ...

    @property
    def buffer(self) -> Sequence[ChunkBase | CompactChunk] | None:
        """The log's own in-process list of the run's chunks, or ``None`` if it keeps none.

        The in-memory log keeps every chunk in this list (appended in place, never copied), so
        the run stream can use it as its replay buffer: one copy of the chunks (a log that
        :func:`takes_compact` may hold compact forms there). Treat it as read-only.
        """
        ...

    @property
    def is_open(self) -> bool:
        """Whether the log still takes chunks: not ended and not lost."""
        ...

    def append(self, chunk: ChunkBase) -> None:
        """Append one chunk at position :attr:`length`; dropped silently once the run was lost.

        Look the method up at each call (``run_log.append(chunk)``); do not keep the bound
        method: the in-memory log swaps it for a bare list append while no reader waits.

        Raises:
            RunStateError: The log was already ended.
        """
        ...

    def end(self) -> None:
        """Mark the end after the last appended chunk; readers stop there. Idempotent."""
        ...

    async def flush(self) -> None:
        """Wait until every chunk appended so far (and the end, if marked) is stored.

        Raises:
            RunLostError: The log stopped taking chunks (:class:`~rxagents.errors.FencedError`
                when another party ended the run).
            RunExistsError: The run id was taken (backends that create runs in the background).
        """
        ...


class CompactRunLog(RunLog, Protocol):
    """A run log whose :meth:`append` also takes compact forms (see :func:`takes_compact`)."""

    @property
    def takes_compact(self) -> Literal[True]:
        """Always ``True``: the mark :func:`takes_compact` looks for."""
        ...

    def append(self, chunk: ChunkBase | CompactChunk) -> None:
        """Append one chunk, or its compact form (see :meth:`RunLog.append`)."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """Per-run logs of chunks: the owner appends, any reader replays from a position and follows.

    One process owns each run (:meth:`open`); any process sharing the log reads it
    (:meth:`read`, :meth:`read_json`, :meth:`read_json_batches`), asks about it (:meth:`info`)
    or asks for it to be cancelled (:meth:`request_cancel`). A run's log is kept for the log's
    ``retention`` after its end, then forgotten (reading it raises
    :class:`~rxagents.errors.RunNotFoundError`).
    """

    def open(
        self,
        run_id: str,
        *,
        kind: RunKind,
        on_cancel: Callable[[], None] | None = None,
        on_lost: LostCallback | None = None,
    ) -> RunLog:
        """Start the log of a new run owned by this process; needs a running event loop.

        Raises:
            RunExistsError: The id is taken (always detected for runs of this process; a backend
                shared by processes may report a clash with another process through
                ``on_lost`` and :meth:`RunLog.flush` instead — use :meth:`create` to know
                before the first chunk).
        """
        ...

    async def create(
        self,
        run_id: str,
        *,
        kind: RunKind,
        on_cancel: Callable[[], None] | None = None,
        on_lost: LostCallback | None = None,
    ) -> RunLog:
        """Like :meth:`open`, but return only once the run exists in the log.

        Raises:
            RunExistsError: The id is taken, by any process.
            RunLostError: The log's store could not be reached.
        """
        ...

    def read(self, run_id: str, offset: int = 0) -> AsyncIterator[tuple[int, Chunk]]:
        """Yield ``(position, chunk)`` from ``offset`` on: the replay, then live chunks.

        The iteration ends after the run's last chunk (for a lost run: its terminal ``error``).
        A ``offset`` past the end of an ended run yields nothing.

        Raises:
            RunNotFoundError: On the first step, if the run is unknown or expired.
            RunLostError: The rest of the run cannot be read (its data vanished, or the store
                stayed unreachable); never a silent gap or a hang.
            InvalidInputError: ``offset`` is negative.
        """
        ...

    def read_json(self, run_id: str, offset: int = 0) -> AsyncIterator[tuple[int, bytes]]:
        """Like :meth:`read`, with each chunk as its wire JSON (camelCase), e.g. for SSE."""
        ...

    def read_json_batches(
        self, run_id: str, offset: int = 0
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        """Like :meth:`read_json`, a batch at a time: the chunks that came together.

        Each batch (never empty, positions in order) holds what one store read returned, or
        what was appended since the reader last waited: a writer that handles a batch at once
        (one write per batch, say) pays the per-chunk cost of iteration only once per batch.
        """
        ...

    async def info(self, run_id: str) -> RunInfo:
        """Describe a run; a run whose owner stopped is marked lost (and its log ended) here.

        Raises:
            RunNotFoundError: The run is unknown or expired.
        """
        ...

    async def request_cancel(self, run_id: str) -> bool:
        """Ask the run's owner to cancel it; ``False`` if the run already ended or was lost.

        The owner's ``on_cancel`` runs promptly wherever the owner is; the run then appends its
        closing chunks and ends as usual.

        Raises:
            RunNotFoundError: The run is unknown or expired.
        """
        ...

    async def aclose(self) -> None:
        """Release the log's resources.

        Runs this process still owns are ended as lost now (their readers get the terminal
        error at once instead of after the lease); runs already ended are flushed first
        (bounded by the retry window).
        """
        ...


def chunk_json(chunk: ChunkBase | CompactChunk) -> bytes:
    """Return a chunk's wire JSON (camelCase keys, absent fields left out).

    A compact form (see :func:`takes_compact`) gives the JSON of the chunk it stands for.
    """
    if isinstance(chunk, tuple):
        return compact_json(chunk)
    return type(chunk).__pydantic_serializer__.to_json(chunk, by_alias=True)


def takes_compact(run_log: RunLog) -> TypeGuard[CompactRunLog]:
    """Whether ``run_log.append`` also takes chunks in their compact form.

    The built-in logs do (their class sets ``takes_compact = True``): a text delta is then
    stored as the tuple the agent loop makes (``rxagents.events._compact``), and readers get
    the chunk it stands for — rebuilt by ``read``, encoded straight to its wire JSON by
    ``read_json`` and by the Redis log's append. Other logs get chunks only.
    """
    return getattr(run_log, "takes_compact", False) is True


def named_data_chunk(chunk: Chunk, run_id: str) -> Chunk:
    """Return a data chunk read back from JSON with its run named, like the one appended.

    A data chunk's wire form has no ``runId`` (it is dumped verbatim); in process it names the
    run that emitted it, which is the run of the log holding it. Other chunks are returned as
    they are.
    """
    if type(chunk) is DataChunk and not chunk.run_id:
        return chunk.model_copy(update={"run_id": run_id})
    return chunk


def lost_message(run_id: str) -> str:
    """Return the message of a lost run's terminal error."""
    return f"run {run_id!r} was lost: the process running it stopped or lost its lease"


def lost_chunks(run_id: str, kind: RunKind) -> list[Chunk]:
    """Return the chunks that end a lost run, as the server ends a failed run of that kind.

    See :func:`failure_chunks`; the error is named ``RunLostError`` and names the run.
    """
    return failure_chunks({"name": "RunLostError", "message": lost_message(run_id)}, run_id, kind)


def failure_chunks(error: Mapping[str, Any], run_id: str, kind: RunKind) -> list[Chunk]:
    """Return the chunks that end a failed run of ``kind`` with ``error`` (``{name, message}``).

    Agents: ``error`` then ``finish`` with reason ``error``; networks: ``error``; workflows:
    ``error`` then ``workflow-finish`` with status ``failed``.
    """
    zero = {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    source = {"agent": "AGENT", "workflow": "WORKFLOW", "network": "NETWORK"}[kind]
    wire: list[dict[str, Any]] = [
        {"type": "error", "runId": run_id, "from": source, "payload": {"error": dict(error)}}
    ]
    if kind == "agent":
        wire.append(
            {
                "type": "finish",
                "runId": run_id,
                "from": "AGENT",
                "payload": {
                    "stepResult": {"reason": "error", "isContinued": False},
                    "output": {"text": "", "usage": zero},
                },
            }
        )
    elif kind == "workflow":
        wire.append(
            {
                "type": "workflow-finish",
                "runId": run_id,
                "from": "WORKFLOW",
                "payload": {
                    "workflowStatus": "failed",
                    "output": {"usage": zero},
                    "metadata": {"error": dict(error), "errorMessage": error["message"]},
                },
            }
        )
    return [parse_chunk(chunk) for chunk in wire]
