"""Workflows: steps composed with Rx, streamed as Mastra's workflow chunks, suspend and resume.

Build a :class:`Workflow` from :class:`Step` objects (or agents, tools and nested workflows)
with ``then``/``parallel``/``branch``/``dountil``/``dowhile``/``foreach``/``map``/``sleep``,
``commit()`` it, then ``run = await workflow.create_run()`` and ``await run.stream(...)`` (a
:class:`WorkflowStream`) or ``await run.start(...)`` (a :class:`WorkflowResult`). A step can
``await ctx.suspend(payload)``; ``await run.resume_stream(step=..., resume_data=...)``
continues it, also in another process (snapshots live in the workflow's storage).
"""

from rxagents.workflow._context import StepContext as StepContext
from rxagents.workflow._context import StepWriter as StepWriter
from rxagents.workflow._flow import Condition as Condition
from rxagents.workflow._result import StepRecord as StepRecord
from rxagents.workflow._result import WorkflowResult as WorkflowResult
from rxagents.workflow._run import RunStateError as RunStateError
from rxagents.workflow._run import RunStatus as RunStatus
from rxagents.workflow._run import StepRef as StepRef
from rxagents.workflow._run import WorkflowRun as WorkflowRun
from rxagents.workflow._snapshot import SNAPSHOT_NAMESPACE as SNAPSHOT_NAMESPACE
from rxagents.workflow._step import AgentStepError as AgentStepError
from rxagents.workflow._step import AgentStepInput as AgentStepInput
from rxagents.workflow._step import AgentStepOutput as AgentStepOutput
from rxagents.workflow._step import Execute as Execute
from rxagents.workflow._step import Step as Step
from rxagents.workflow._stream import WorkflowSource as WorkflowSource
from rxagents.workflow._stream import WorkflowStream as WorkflowStream
from rxagents.workflow._workflow import StepLike as StepLike
from rxagents.workflow._workflow import Workflow as Workflow

__all__ = (
    "SNAPSHOT_NAMESPACE",
    "AgentStepError",
    "AgentStepInput",
    "AgentStepOutput",
    "Condition",
    "Execute",
    "RunStateError",
    "RunStatus",
    "StepContext",
    "StepLike",
    "StepRecord",
    "StepRef",
    "StepWriter",
    "Workflow",
    "WorkflowResult",
    "WorkflowRun",
    "WorkflowSource",
    "WorkflowStream",
)
