"""A workflow as a supervisor's tool: ``workflow-<key>``, as Mastra 1.71 offers it.

The tool's input is ``{inputData}`` (plus Mastra's resume fields, accepted and unused); a call
runs the workflow, writes each of its chunks whole as ``tool-output``, and answers with
``{result, runId}``. A failed or suspended workflow is the call's error.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, cast

from pydantic import MISSING, BaseModel, ConfigDict, Field
from reactivex import Observable

from rxagents.agent._delegation import DRAFT_07, RESUME_DATA_SCHEMA
from rxagents.agent.protocol import WorkflowLike
from rxagents.agent.tools import Tool, ToolContext, resume_schema_text
from rxagents.errors import ToolExecutionError
from rxagents.events import Chunk, WorkflowFinish, WorkflowStepResult

__all__ = ("WorkflowToolInput", "workflow_input_schema", "workflow_tool")


class WorkflowToolInput(BaseModel):
    """The arguments of a ``workflow-<key>`` tool."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    input_data: Any = Field(alias="inputData")
    """The workflow's input."""
    suspended_tool_call_id: str | None = Field(None, alias="suspendedToolCallId")
    """Accepted as in Mastra; unused."""
    suspended_tool_run_id: str | None = Field(None, alias="suspendedToolRunId")
    """Accepted as in Mastra; unused."""
    resume_data: Any = Field(None, alias="resumeData")
    """Accepted as in Mastra; unused."""


def workflow_input_schema(workflow: WorkflowLike) -> dict[str, Any]:
    """The input schema of a ``workflow-<key>`` tool, as Mastra 1.71 sends it to the model."""
    model = workflow.input_schema
    input_data: dict[str, Any] = {} if model is None else _json(resume_schema_text(model))
    if "type" in input_data:  # as zod's JSON schemas: the type first
        input_data = {"type": input_data["type"], **input_data}
    return {
        "type": "object",
        "properties": {
            "inputData": input_data,
            "suspendedToolCallId": {
                "type": ["string", "null"],
                "description": "The toolCallId of the suspended tool to resume",
            },
            "suspendedToolRunId": {
                "type": ["string", "null"],
                "description": "The runId of the suspended tool",
            },
            "resumeData": RESUME_DATA_SCHEMA,
        },
        "required": ["inputData"],
        "additionalProperties": True,
        "$schema": DRAFT_07,
    }


def _json(text: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(text))


def workflow_tool(key: str, workflow: WorkflowLike) -> Tool:
    """The ``workflow-<key>`` tool: runs the workflow, its chunks as ``tool-output``.

    The result is ``{result, runId}``; a failed (or suspended) workflow is the call's error.
    """
    name = f"workflow-{key}"
    description = workflow.description or f"Workflow: {getattr(workflow, 'name', workflow.id)}"

    async def execute(args: WorkflowToolInput, ctx: ToolContext) -> dict[str, Any]:
        run_id = str(uuid.uuid4())
        source = workflow.observe(args.input_data, run_id=run_id)
        failures: list[str] = []
        finish = await _drain(source, ctx, failures)
        if finish is None:
            raise ToolExecutionError(
                f"workflow {workflow.id!r} ended without workflow-finish", tool_name=name
            )
        payload = finish.payload
        if payload.workflow_status != "success":
            detail = f": {failures[-1]}" if failures else ""
            raise ToolExecutionError(
                f"workflow {workflow.id!r} ended {payload.workflow_status}{detail}",
                tool_name=name,
            )
        result = payload.final_workflow_result
        return {"result": None if result is MISSING else result, "runId": run_id}

    return Tool(
        name,
        description,
        WorkflowToolInput,
        execute,
        takes_context=True,
        input_json_schema=workflow_input_schema(workflow),
    )


async def _drain(
    source: Observable[Chunk], ctx: ToolContext, failures: list[str]
) -> WorkflowFinish | None:
    """Write every chunk of ``source`` to the call's writer; the ``workflow-finish`` chunk.

    The errors of failed steps are added to ``failures``.

    Cancelling the call disposes the subscription (the workflow run is cancelled).
    """
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    last: list[WorkflowFinish] = []

    def on_next(chunk: Any) -> None:
        if isinstance(chunk, WorkflowFinish):
            last.append(chunk)
        elif isinstance(chunk, WorkflowStepResult) and chunk.payload.error is not MISSING:
            failures.append(str(chunk.payload.error))
        try:
            ctx.writer.on_next(chunk)
        except Exception as err:
            if not done.done():
                done.set_exception(err)

    def on_error(error: Exception) -> None:
        if not done.done():
            done.set_exception(error)

    def on_completed() -> None:
        if not done.done():
            done.set_result(None)

    subscription = source.subscribe(on_next, on_error, on_completed)
    try:
        await done
    finally:
        subscription.dispose()
    return last[-1] if last else None
