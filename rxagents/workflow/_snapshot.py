"""Run snapshots: the JSON a run leaves in storage, from which another process can resume it.

A snapshot holds the run's status, input, state, record tree (which steps succeeded, what the
suspended ones had as input), the flat step records of the run result, and the suspended
paths. It lives under namespace :data:`SNAPSHOT_NAMESPACE`, key ``"<workflow id>/<run id>"``,
with the run's status as the entry's status (so runs can be listed by status). The first
stream creates it (``running``); it is rewritten after each step ends, before a step's
suspension is announced, and when a stream ends.
"""

from __future__ import annotations

import json
from typing import Any

from rxagents._core.clock import now_ms
from rxagents.errors import SnapshotFormatError
from rxagents.events import ErrorInfo
from rxagents.storage import Storage
from rxagents.workflow._result import StepRecords, WorkflowResult

__all__ = (
    "SNAPSHOT_NAMESPACE",
    "SNAPSHOT_VERSION",
    "check_snapshot",
    "copy_snapshot",
    "load_snapshot",
    "now_ms",
    "result_from_snapshot",
    "snapshot_key",
)

SNAPSHOT_NAMESPACE = "workflow_snapshots"
"""The storage namespace of workflow run snapshots."""
SNAPSHOT_VERSION = 1
"""The snapshot format's version (stored as ``version``)."""


def snapshot_key(workflow_id: str, run_id: str) -> str:
    """Return the storage key of a run's snapshot."""
    return f"{workflow_id}/{run_id}"


async def load_snapshot(storage: Storage, workflow_id: str, run_id: str) -> dict[str, Any] | None:
    """Read a run's snapshot, or ``None`` when the run never ended a stream."""
    data = await storage.get(SNAPSHOT_NAMESPACE, snapshot_key(workflow_id, run_id))
    return None if data is None else check_snapshot(run_id, data)


def check_snapshot(run_id: str, data: Any) -> dict[str, Any]:
    """Return ``data`` if it is a snapshot this version understands.

    Raises:
        SnapshotFormatError: It is not (also a ValueError).
    """
    if not isinstance(data, dict) or data.get("version") != SNAPSHOT_VERSION:
        raise SnapshotFormatError(f"run {run_id!r}: the stored snapshot has an unknown format")
    return data


def copy_snapshot(data: dict[str, Any]) -> dict[str, Any]:
    """Return a deep copy of a snapshot (a resumed stream updates its copy in place)."""
    copied: dict[str, Any] = json.loads(json.dumps(data))
    return copied


def result_from_snapshot(data: dict[str, Any]) -> WorkflowResult:
    """Rebuild the :class:`WorkflowResult` a snapshot describes."""
    error = data.get("error")
    return WorkflowResult(
        run_id=data["runId"],
        workflow_id=data["workflowId"],
        status=data["status"],
        input=data.get("input"),
        result=data.get("result"),
        error=None if error is None else ErrorInfo.model_validate(error),
        steps=StepRecords(data["steps"]),
        step_execution_path=list(data.get("stepExecutionPath", [])),
        suspended=[list(path) for path in data.get("suspended", [])],
        state=dict(data.get("state", {})),
    )
