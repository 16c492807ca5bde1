"""Workflow chunks (``from: WORKFLOW``; what a step writes is ``from: USER``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import MISSING, Field, field_validator

from rxagents.events._base import ChunkBase, ErrorInfo, Payload, Source
from rxagents.usage import Usage

__all__ = (
    "IterationStatus",
    "StepStatus",
    "WorkflowChunk",
    "WorkflowFinish",
    "WorkflowFinishOutput",
    "WorkflowFinishPayload",
    "WorkflowStart",
    "WorkflowStartPayload",
    "WorkflowStatus",
    "WorkflowStepOutput",
    "WorkflowStepOutputPayload",
    "WorkflowStepProgress",
    "WorkflowStepProgressPayload",
    "WorkflowStepResult",
    "WorkflowStepResultPayload",
    "WorkflowStepStart",
    "WorkflowStepStartPayload",
    "WorkflowStepSuspended",
    "WorkflowStepSuspendedPayload",
    "WorkflowStepWaiting",
    "WorkflowStepWaitingPayload",
)

StepStatus = Literal["running", "success", "failed", "suspended", "waiting", "canceled"]
"""The status of one step."""
WorkflowStatus = Literal["success", "failed", "suspended", "canceled"]
"""How a workflow run ended."""


class WorkflowStartPayload(Payload):
    """Payload of ``workflow-start``."""

    workflow_id: str
    """The workflow's id."""


class WorkflowStepStartPayload(Payload):
    """Payload of ``workflow-step-start``."""

    id: str
    """The step id; nested steps use dotted ids (``outer.inner``)."""
    step_name: str | MISSING = MISSING
    """The step's name (its id unless given)."""
    step_call_id: str | MISSING = MISSING
    """Unique id of this execution of the step (loops run a step several times)."""
    payload: Any = MISSING
    """The step's input (absent when a sender leaves it out)."""
    started_at: int | MISSING = MISSING
    """Epoch milliseconds."""
    status: StepStatus = "running"
    """Always ``running``."""
    resume_payload: Any = MISSING
    """The resume data, when the step is being resumed."""
    resumed_at: int | MISSING = MISSING
    """When it was resumed, epoch milliseconds."""
    metadata: dict[str, Any] | MISSING = MISSING
    """Extra data about this execution: ``{"iterationCount": n}`` (from 1) for the body of a
    ``dountil``/``dowhile`` loop."""


class WorkflowStepResultPayload(WorkflowStepStartPayload):
    """Payload of ``workflow-step-result``: the step's start data plus its outcome."""

    status: StepStatus = "success"
    """``success`` or ``failed``."""
    output: Any = MISSING
    """What the step returned (on success)."""
    error: ErrorInfo | MISSING = MISSING
    """Why it failed (on failure)."""
    ended_at: int | MISSING = MISSING
    """Epoch milliseconds."""


class WorkflowStepSuspendedPayload(WorkflowStepStartPayload):
    """Payload of ``workflow-step-suspended``."""

    status: StepStatus = "suspended"
    """Always ``suspended``."""
    suspend_payload: Any = None
    """What the step passed to ``suspend()``."""
    suspended_at: int | MISSING = MISSING
    """Epoch milliseconds."""


class WorkflowStepWaitingPayload(WorkflowStepStartPayload):
    """Payload of ``workflow-step-waiting``: a ``sleep`` step begins.

    Mastra sends ``{id, stepName, payload, startedAt, status}``.
    """

    status: StepStatus = "waiting"
    """Always ``waiting``."""


IterationStatus = Literal["success", "failed", "suspended"]
"""How one item of a foreach ended."""


class WorkflowStepProgressPayload(Payload):
    """Payload of ``workflow-step-progress``: one item of a foreach ended."""

    id: str
    """The foreach step's id."""
    step_name: str | MISSING = MISSING
    """The step's name (its id unless given)."""
    completed_count: int
    """Items that succeeded or failed so far in this stream (a suspended item is not counted)."""
    total_count: int
    """Items in the foreach's input list."""
    current_index: int
    """The index of the item that ended."""
    iteration_status: IterationStatus
    """How the item ended."""
    iteration_output: Any = MISSING
    """What the item's step returned (on success)."""


class WorkflowStepOutputPayload(Payload):
    """Payload of ``workflow-step-output``."""

    step_name: str | MISSING = MISSING
    """The step that wrote it."""
    run_id: str | MISSING = MISSING
    """The workflow run."""
    output: Any = None
    """What the step wrote: a chunk (parsed) or any JSON value (kept as is)."""

    parse_output: ClassVar[Callable[[Any], Any]] = staticmethod(lambda value: value)

    @field_validator("output", mode="before")
    @classmethod
    def _output_as_chunk(cls, value: Any) -> Any:
        return cls.parse_output(value)


class WorkflowFinishOutput(Payload):
    """``output`` of ``workflow-finish``."""

    usage: Usage = Usage.zero
    """Usage summed over every agent used in the run."""


class WorkflowFinishPayload(Payload):
    """Payload of ``workflow-finish``."""

    workflow_status: WorkflowStatus
    """How the run ended."""
    output: WorkflowFinishOutput
    """The run's usage."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Extra data about the run."""
    final_workflow_result: Any = MISSING
    """The workflow's result, on success."""


class _WorkflowChunkBase(ChunkBase):
    from_: Source = "WORKFLOW"


class WorkflowStart(_WorkflowChunkBase):
    """``workflow-start``: the first chunk of a workflow run."""

    type: Literal["workflow-start"] = "workflow-start"
    payload: WorkflowStartPayload


class WorkflowStepStart(_WorkflowChunkBase):
    """``workflow-step-start``: a step begins (or resumes)."""

    type: Literal["workflow-step-start"] = "workflow-step-start"
    payload: WorkflowStepStartPayload


class WorkflowStepResult(_WorkflowChunkBase):
    """``workflow-step-result``: a step succeeded or failed."""

    type: Literal["workflow-step-result"] = "workflow-step-result"
    payload: WorkflowStepResultPayload


class WorkflowStepSuspended(_WorkflowChunkBase):
    """``workflow-step-suspended``: a step suspended the run."""

    type: Literal["workflow-step-suspended"] = "workflow-step-suspended"
    payload: WorkflowStepSuspendedPayload


class WorkflowStepWaiting(_WorkflowChunkBase):
    """``workflow-step-waiting``: a ``sleep`` step begins (it opens the step like a start)."""

    type: Literal["workflow-step-waiting"] = "workflow-step-waiting"
    payload: WorkflowStepWaitingPayload


class WorkflowStepProgress(_WorkflowChunkBase):
    """``workflow-step-progress``: one item of a foreach ended (between its start and result)."""

    type: Literal["workflow-step-progress"] = "workflow-step-progress"
    payload: WorkflowStepProgressPayload


class WorkflowStepOutput(_WorkflowChunkBase):
    """``workflow-step-output``: something a step wrote (``from: USER``)."""

    type: Literal["workflow-step-output"] = "workflow-step-output"
    from_: Source = "USER"
    payload: WorkflowStepOutputPayload


class WorkflowFinish(_WorkflowChunkBase):
    """``workflow-finish``: the last chunk of a workflow run, also when it failed."""

    type: Literal["workflow-finish"] = "workflow-finish"
    payload: WorkflowFinishPayload


WorkflowChunk = (
    WorkflowStart
    | WorkflowStepStart
    | WorkflowStepResult
    | WorkflowStepSuspended
    | WorkflowStepWaiting
    | WorkflowStepProgress
    | WorkflowStepOutput
    | WorkflowFinish
)
"""Every workflow chunk class."""
