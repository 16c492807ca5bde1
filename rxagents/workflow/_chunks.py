"""Build the workflow chunks a run emits, without re-validating them (trusted builders)."""

from __future__ import annotations

from typing import Any, cast

from pydantic import MISSING, BaseModel

from rxagents._core.wire import trusted_builder
from rxagents.events import (
    ChunkBase,
    ErrorInfo,
    IterationStatus,
    WorkflowFinish,
    WorkflowFinishOutput,
    WorkflowFinishPayload,
    WorkflowStart,
    WorkflowStartPayload,
    WorkflowStatus,
    WorkflowStepOutput,
    WorkflowStepOutputPayload,
    WorkflowStepProgress,
    WorkflowStepProgressPayload,
    WorkflowStepResult,
    WorkflowStepResultPayload,
    WorkflowStepStart,
    WorkflowStepStartPayload,
    WorkflowStepSuspended,
    WorkflowStepSuspendedPayload,
    WorkflowStepWaiting,
    WorkflowStepWaitingPayload,
)
from rxagents.usage import Usage
from rxagents.workflow._state import Record

__all__ = (
    "add_iteration",
    "bare_start_chunk",
    "finish_chunk",
    "output_chunk",
    "progress_chunk",
    "result_chunk",
    "start_chunk",
    "suspended_chunk",
    "thin_result_chunk",
    "thin_suspended_chunk",
    "waiting_chunk",
    "workflow_start_chunk",
)

_COMMON = ("id", "step_name", "step_call_id", "payload", "started_at")
_RESUMED = ("resume_payload", "resumed_at")

_start = trusted_builder(WorkflowStepStart, "run_id", "payload")
_start_payload = trusted_builder(WorkflowStepStartPayload, *_COMMON)
_start_payload_resumed = trusted_builder(WorkflowStepStartPayload, *_COMMON, *_RESUMED)
_result = trusted_builder(WorkflowStepResult, "run_id", "payload")
_success_payload = trusted_builder(
    WorkflowStepResultPayload, *_COMMON, "status", "output", "ended_at"
)
_success_payload_resumed = trusted_builder(
    WorkflowStepResultPayload, *_COMMON, *_RESUMED, "status", "output", "ended_at"
)
_failure_payload = trusted_builder(
    WorkflowStepResultPayload, *_COMMON, "status", "error", "ended_at"
)
_failure_payload_resumed = trusted_builder(
    WorkflowStepResultPayload, *_COMMON, *_RESUMED, "status", "error", "ended_at"
)
_suspended = trusted_builder(WorkflowStepSuspended, "run_id", "payload")
_suspended_payload = trusted_builder(
    WorkflowStepSuspendedPayload, *_COMMON, "suspend_payload", "suspended_at"
)
_suspended_payload_resumed = trusted_builder(
    WorkflowStepSuspendedPayload, *_COMMON, *_RESUMED, "suspend_payload", "suspended_at"
)
_output = trusted_builder(WorkflowStepOutput, "run_id", "payload")
# a foreach's start has no stepCallId; its ending and a sleep's are thin (Mastra 1.71.0)
_bare_start_payload = trusted_builder(
    WorkflowStepStartPayload, "id", "step_name", "payload", "started_at"
)
_bare_start_payload_resumed = trusted_builder(
    WorkflowStepStartPayload, "id", "step_name", "payload", "started_at", *_RESUMED
)
_thin_success_payload = trusted_builder(
    WorkflowStepResultPayload, "id", "step_name", "status", "output", "ended_at"
)
_thin_failure_payload = trusted_builder(
    WorkflowStepResultPayload, "id", "step_name", "status", "error", "ended_at"
)
_thin_suspended_payload = trusted_builder(
    WorkflowStepSuspendedPayload, "id", "step_name", "suspend_payload", "suspended_at"
)
_waiting = trusted_builder(WorkflowStepWaiting, "run_id", "payload")
_waiting_payload = trusted_builder(
    WorkflowStepWaitingPayload, "id", "step_name", "payload", "started_at"
)
_progress = trusted_builder(WorkflowStepProgress, "run_id", "payload")
_progress_payload = trusted_builder(
    WorkflowStepProgressPayload,
    "id",
    "step_name",
    "completed_count",
    "total_count",
    "current_index",
    "iteration_status",
)
_progress_payload_output = trusted_builder(
    WorkflowStepProgressPayload,
    "id",
    "step_name",
    "completed_count",
    "total_count",
    "current_index",
    "iteration_status",
    "iteration_output",
)
_output_payload = trusted_builder(WorkflowStepOutputPayload, "step_name", "run_id", "output")


def workflow_start_chunk(run_id: str, workflow_id: str) -> WorkflowStart:
    """Return ``workflow-start``."""
    return WorkflowStart(run_id=run_id, payload=WorkflowStartPayload(workflow_id=workflow_id))


def start_chunk(run_id: str, step_id: str, call_id: str, record: Record) -> WorkflowStepStart:
    """Return ``workflow-step-start`` for a step's record (``resumePayload`` when resumed)."""
    if "resumedAt" in record:
        payload = _start_payload_resumed(
            step_id,
            step_id,
            call_id,
            record["payload"],
            record["startedAt"],
            record["resumePayload"],
            record["resumedAt"],
        )
    else:
        payload = _start_payload(step_id, step_id, call_id, record["payload"], record["startedAt"])
    return _start(run_id, payload)


_WITH_METADATA: dict[frozenset[str], frozenset[str]] = {}


def add_iteration(
    chunk: WorkflowStepStart | WorkflowStepResult | WorkflowStepSuspended, count: int
) -> None:
    """Give a loop body's freshly built chunk ``metadata: {"iterationCount": count}``.

    The chunk is not published yet, so its payload is completed in place, as if its builder
    had been given the field (the builders' fields sets are shared frozensets).
    """
    payload = chunk.payload
    payload.__dict__["metadata"] = {"iterationCount": count}
    fields = cast(frozenset[str], payload.__pydantic_fields_set__)
    joined = _WITH_METADATA.get(fields)
    if joined is None:
        joined = _WITH_METADATA[fields] = fields | {"metadata"}
    object.__setattr__(payload, "__pydantic_fields_set__", joined)


def bare_start_chunk(run_id: str, step_id: str, record: Record) -> WorkflowStepStart:
    """Return a foreach's ``workflow-step-start``: no ``stepCallId``, as in Mastra."""
    if "resumedAt" in record:
        payload = _bare_start_payload_resumed(
            step_id,
            step_id,
            record["payload"],
            record["startedAt"],
            record["resumePayload"],
            record["resumedAt"],
        )
    else:
        payload = _bare_start_payload(step_id, step_id, record["payload"], record["startedAt"])
    return _start(run_id, payload)


def waiting_chunk(run_id: str, step_id: str, record: Record) -> WorkflowStepWaiting:
    """Return ``workflow-step-waiting``: a sleep step begins (instead of a step start)."""
    return _waiting(
        run_id, _waiting_payload(step_id, step_id, record["payload"], record["startedAt"])
    )


def thin_result_chunk(run_id: str, step_id: str, record: Record) -> WorkflowStepResult:
    """Return the thin ``workflow-step-result`` of a foreach or a sleep.

    ``{id, stepName, status, output | error, endedAt}``, without the start data (as in Mastra).
    """
    if record["status"] == "success":
        payload = _thin_success_payload(
            step_id, step_id, "success", record["output"], record["endedAt"]
        )
    else:
        error = ErrorInfo(name=record["error"]["name"], message=record["error"]["message"])
        payload = _thin_failure_payload(step_id, step_id, "failed", error, record["endedAt"])
    return _result(run_id, payload)


def thin_suspended_chunk(run_id: str, step_id: str, record: Record) -> WorkflowStepSuspended:
    """Return a foreach's thin ``workflow-step-suspended``.

    ``{id, stepName, status, suspendPayload, suspendedAt}``, as in Mastra.
    """
    payload = _thin_suspended_payload(
        step_id, step_id, record["suspendPayload"], record["suspendedAt"]
    )
    return _suspended(run_id, payload)


def progress_chunk(
    run_id: str,
    step_id: str,
    completed: int,
    total: int,
    index: int,
    status: IterationStatus,
    output: Any = MISSING,
) -> WorkflowStepProgress:
    """Return ``workflow-step-progress``: one item of a foreach ended (output on success)."""
    if output is MISSING:
        payload = _progress_payload(step_id, step_id, completed, total, index, status)
    else:
        payload = _progress_payload_output(
            step_id, step_id, completed, total, index, status, output
        )
    return _progress(run_id, payload)


def result_chunk(run_id: str, step_id: str, call_id: str, record: Record) -> WorkflowStepResult:
    """Return ``workflow-step-result`` (success or failure) for a finished step's record."""
    resumed = "resumedAt" in record
    if not resumed and record["status"] == "success":  # the common case, without packing
        return _result(
            run_id,
            _success_payload(
                step_id,
                step_id,
                call_id,
                record["payload"],
                record["startedAt"],
                "success",
                record["output"],
                record["endedAt"],
            ),
        )
    common = (step_id, step_id, call_id, record["payload"], record["startedAt"])
    extra = (record["resumePayload"], record["resumedAt"]) if resumed else ()
    if record["status"] == "success":
        build = _success_payload_resumed if resumed else _success_payload
        payload = build(*common, *extra, "success", record["output"], record["endedAt"])
    else:
        build = _failure_payload_resumed if resumed else _failure_payload
        error = ErrorInfo(name=record["error"]["name"], message=record["error"]["message"])
        payload = build(*common, *extra, "failed", error, record["endedAt"])
    return _result(run_id, payload)


def suspended_chunk(
    run_id: str, step_id: str, call_id: str, record: Record
) -> WorkflowStepSuspended:
    """Return ``workflow-step-suspended`` for a suspended step's record."""
    common = (step_id, step_id, call_id, record["payload"], record["startedAt"])
    if "resumedAt" in record:
        payload = _suspended_payload_resumed(
            *common,
            record["resumePayload"],
            record["resumedAt"],
            record["suspendPayload"],
            record["suspendedAt"],
        )
    else:
        payload = _suspended_payload(*common, record["suspendPayload"], record["suspendedAt"])
    return _suspended(run_id, payload)


def output_chunk(run_id: str, step_name: str, value: Any) -> WorkflowStepOutput:
    """Return ``workflow-step-output`` carrying what a step wrote.

    Chunks are kept whole; chunk-shaped dicts are parsed (as the wire parser would); pydantic
    models are dumped; anything else is kept as given.
    """
    if isinstance(value, BaseModel) and not isinstance(value, ChunkBase):
        value = value.model_dump(mode="json", by_alias=True)
    elif isinstance(value, dict) and "type" in value:
        value = WorkflowStepOutputPayload.parse_output(value)
    return _output(run_id, _output_payload(step_name, run_id, value))


def finish_chunk(
    run_id: str,
    status: WorkflowStatus,
    usage: Usage,
    *,
    result: Any = None,
    metadata: dict[str, Any] | None = None,
) -> WorkflowFinish:
    """Return ``workflow-finish``; ``finalWorkflowResult`` only on success (as in Mastra)."""
    fields: dict[str, Any] = {
        "workflow_status": status,
        "output": WorkflowFinishOutput(usage=usage.filled()),
        "metadata": metadata or {},
    }
    if status == "success":
        fields["final_workflow_result"] = result
    return WorkflowFinish(run_id=run_id, payload=WorkflowFinishPayload(**fields))
