"""Writing a run's snapshot while it runs: coalesced, in order, compare-and-set on the version.

A stream asks for a write when a step ends (:meth:`SnapshotWriter.request`); the stream
holds a ``workflow-step-suspended`` chunk back from its readers until a write that captured
the run after that chunk (:attr:`SnapshotWriter.durable_mark`) succeeded. Writes never
overlap: a request made while a write is in flight is served by the next write, which
captures the run as it is when it starts (so a burst of step endings costs one or two writes,
not one each). Every write is an ``update`` on the version the previous one
returned (the first stream's is a ``create``), so a stream whose run was claimed by another
stream (a resumption elsewhere) is fenced: its writes fail, nothing it does is saved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from itertools import islice
from operator import is_
from typing import TYPE_CHECKING, Any

from rxagents._core.invoke import invoke
from rxagents.errors import RunStateError
from rxagents.storage import JsonText, Storage
from rxagents.workflow._snapshot import SNAPSHOT_NAMESPACE
from rxagents.workflow._state import Record

if TYPE_CHECKING:
    from rxagents.workflow._execution import Execution

__all__ = ("Done", "SnapshotWriter")

_log = logging.getLogger(__name__)

_ENDED = frozenset({"success", "failed"})
_encode_strict = json.JSONEncoder(allow_nan=False).encode
"""``json.dumps(value, allow_nan=False)`` without building an encoder per call."""

Done = Callable[[Exception | None], None]
"""Called once a write that includes the run's state at request time ended (its error)."""


class SnapshotWriter:
    """The snapshot writes of one stream of a run."""

    __slots__ = (
        "_busy",
        "_closed",
        "_dirty",
        "_ended",
        "_ended_text",
        "_exe",
        "_idle",
        "_in_start",
        "_loop",
        "_waiting",
        "durable_mark",
        "error",
        "key",
        "override",
        "run_id",
        "storage",
        "version",
        "written_status",
    )

    def __init__(
        self, exe: Execution, storage: Storage | None, key: str, version: int | None
    ) -> None:
        self._exe: Execution | None = exe
        """The stream whose run is written; dropped once it ended and its writes did."""
        self._loop = exe.loop
        self.run_id = exe.run_id
        self.storage = storage
        self.key = key
        self.version = version
        """The stored entry's version after our last write (``None``: not created yet)."""
        self.error: Exception | None = None
        """The first failed write's error; no write is attempted after it."""
        self.written_status: str | None = None
        """The status of the last snapshot written."""
        self.override: dict[str, Any] | None = None
        """What to write instead of the live run (a cancelled stream's last word)."""
        self.durable_mark = 0
        """How many chunks the run had emitted when the last successful write captured it."""
        self._dirty = False
        self._busy = False
        self._closed = False
        self._in_start = False
        self._waiting: list[Done] = []
        self._idle: list[Done] = []
        self._ended: list[Record] = []
        """The records of the run's first steps, all ended when a write encoded them."""
        self._ended_text = ""
        """Those steps as JSON object members (``"id": {...}, ...``)."""

    @property
    def busy(self) -> bool:
        """Whether a write is in flight or asked for."""
        return self._busy or self._dirty

    @property
    def clean(self) -> bool:
        """Whether everything asked for is written (nothing in flight, nothing new)."""
        return not self._busy and not self._dirty

    def request(self, then: Done | None = None) -> None:
        """Write the run's snapshot soon; ``then(error)`` once a write made after now ends.

        After :meth:`close` took effect, nothing is written: ``then`` is called at once.
        """
        if self.storage is None or self.error is not None or self._exe is None:
            if then is not None:
                then(self.error)
            return
        if then is not None:
            self._waiting.append(then)
        self._dirty = True
        if not self._busy and not self._in_start:
            self._start()

    def when_idle(self, then: Done) -> None:
        """Call ``then(error)`` when no write is in flight or asked for (now if none)."""
        if self.clean or self.storage is None:
            then(self.error)
        else:
            self._idle.append(then)

    def close(self) -> None:
        """The stream ended (it asks for no more writes): let go of it once the writes did."""
        self._closed = True
        if self.clean:
            self._exe = None

    def _start(self) -> None:
        self._in_start = True
        try:
            while self._dirty and not self._busy and self.error is None:
                self._dirty = False
                waiters, self._waiting = self._waiting, []
                self._busy = True
                invoke(self._write, None, self._reporter(waiters), self._loop)
        finally:
            self._in_start = False
        if self.error is not None:
            self._fail_waiting()
        if self.clean:
            if self._closed:
                self._exe = None
            idle, self._idle = self._idle, []
            for then in idle:
                then(self.error)

    async def _write(self, _: None) -> None:
        storage, exe = self.storage, self._exe
        assert storage is not None
        assert exe is not None  # kept while a write is asked for or in flight
        snapshot = self.override if self.override is not None else exe.to_snapshot()
        mark = exe.sent
        status = snapshot["status"]
        value: Any = snapshot if self.override is not None else self._encode(snapshot)
        if self.version is None:
            entry = await storage.create(SNAPSHOT_NAMESPACE, self.key, value, status=status)
        else:
            entry = await storage.update(
                SNAPSHOT_NAMESPACE, self.key, value, version=self.version, status=status
            )
        if entry is None:
            raise RunStateError(
                f"run {self.run_id!r} was changed by another stream (resumed or started "
                "elsewhere); this stream's progress is not saved"
            )
        self.version = entry.version
        self.written_status = status
        self.durable_mark = max(self.durable_mark, mark)

    def _encode(self, snapshot: dict[str, Any]) -> JsonText:
        """Encode ``snapshot``, reusing the JSON of the leading steps that ended (``steps`` last).

        A run's snapshot grows with its steps and may be written after each: the run's first
        steps that ended (their records no longer change) are encoded once, together, and
        their text kept; a write encodes only the steps after them. A kept record that was
        replaced since (a loop's next iteration, a failed step run again) drops the kept text.
        """
        steps: dict[str, Record] = snapshot["steps"]
        records = list(steps.values())
        ended = self._ended
        if ended and (len(records) < len(ended) or not all(map(is_, ended, records))):
            ended.clear()
            self._ended_text = ""
        start = end = len(ended)
        while end < len(records) and records[end].get("status") in _ENDED:
            end += 1
        if end > start:
            members = _encode_strict(dict(islice(steps.items(), start, end)))[1:-1]
            self._ended_text = f"{self._ended_text}, {members}" if start else members
            ended.extend(records[start:end])
        parts = [self._ended_text] if end else []
        if end < len(records):
            parts.append(_encode_strict(dict(islice(steps.items(), end, None)))[1:-1])
        head = _encode_strict({key: item for key, item in snapshot.items() if key != "steps"})
        return JsonText(f'{head[:-1]}, "steps": {{{", ".join(parts)}}}}}')

    def _reporter(self, waiters: list[Done]) -> Callable[[Any, Exception | None], None]:
        return lambda _, error: self._done(waiters, error)

    def _done(self, waiters: list[Done], error: Exception | None) -> None:
        self._busy = False
        if error is not None and self.error is None:
            _log.error("run %s: could not write its snapshot: %r", self.run_id, error)
            self.error = error
        for then in waiters:
            then(error)
        if not self._in_start:
            self._start()

    def _fail_waiting(self) -> None:
        self._dirty = False
        waiting, self._waiting = self._waiting, []
        for then in waiting:
            then(self.error)
