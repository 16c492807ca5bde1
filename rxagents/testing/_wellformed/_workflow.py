"""The workflow stream grammar: steps started, written to and closed; the run's final status."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import MISSING

from rxagents.events import (
    WorkflowFinish,
    WorkflowStart,
    WorkflowStepOutput,
    WorkflowStepProgress,
    WorkflowStepResult,
    WorkflowStepStart,
    WorkflowStepSuspended,
    WorkflowStepWaiting,
)

from ._rules import Items, Report, Rule, Violation

__all__ = ("check_workflow",)


@dataclass
class _Running:
    index: int
    id: str
    name: str | None
    call_id: str | None


def _opt(value: object) -> str | None:
    return None if value is MISSING else str(value)


def check_workflow(items: Items, *, truncated: bool = False) -> list[Violation]:
    """Check a workflow stream (``truncated``: it may end anywhere)."""
    report = Report()
    add = report.add
    first_index, first = items[0]
    if not isinstance(first, WorkflowStart):
        add(
            Rule.START_FIRST,
            first_index,
            f"the stream starts with {first.type!r}, not 'workflow-start'",
        )
    running: list[_Running] = []
    failed_at: int | None = None
    suspended = False
    terminal: int | None = None
    for position, (index, chunk) in enumerate(items):
        if terminal is not None:
            add(
                Rule.AFTER_FINISH,
                index,
                f"{chunk.type!r} after 'workflow-finish' at chunk {terminal}",
            )
            break
        match chunk:
            case WorkflowStart():
                if position:
                    add(
                        Rule.DUPLICATE_START,
                        index,
                        f"a second 'workflow-start' (first: {first_index})",
                    )
            case WorkflowStepStart() | WorkflowStepWaiting():
                call_id = _opt(chunk.payload.step_call_id)
                if call_id is not None and any(r.call_id == call_id for r in running):
                    add(
                        Rule.WORKFLOW_STEP_DUPLICATE,
                        index,
                        f"stepCallId {call_id!r} started while already running",
                    )
                name = _opt(chunk.payload.step_name)
                running.append(_Running(index, chunk.payload.id, name, call_id))
            case WorkflowStepResult() | WorkflowStepSuspended():
                match = _match_step(running, chunk.payload.id, _opt(chunk.payload.step_call_id))
                if match is None:
                    add(
                        Rule.WORKFLOW_STEP_WITHOUT_START,
                        index,
                        f"{chunk.type} for step {chunk.payload.id!r} that is not running",
                    )
                else:
                    running.remove(match)
                    if match.id != chunk.payload.id:
                        add(
                            Rule.WORKFLOW_STEP_ID_MISMATCH,
                            index,
                            f"{chunk.type} has id {chunk.payload.id!r}; its step-start (chunk "
                            f"{match.index}) has {match.id!r}",
                        )
                if isinstance(chunk, WorkflowStepSuspended):
                    suspended = True
                elif chunk.payload.status == "failed" and failed_at is None:
                    failed_at = index
            case WorkflowStepProgress():
                if not any(r.id == chunk.payload.id for r in running):
                    add(
                        Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP,
                        index,
                        f"progress of step {chunk.payload.id!r} while it is not running",
                    )
            case WorkflowStepOutput():
                name = _opt(chunk.payload.step_name)
                if not any(_writes_for(r, name) for r in running):
                    add(
                        Rule.WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP,
                        index,
                        f"output of step {name!r} while it is not running",
                    )
            case WorkflowFinish():
                terminal = index
                status = chunk.payload.workflow_status
                if failed_at is not None and status != "failed":
                    add(
                        Rule.WORKFLOW_STATUS,
                        index,
                        f"workflowStatus {status!r} although the step at chunk {failed_at} failed",
                    )
                if status == "suspended" and not suspended:
                    add(
                        Rule.WORKFLOW_STATUS,
                        index,
                        "workflowStatus 'suspended' but no step suspended",
                    )
                if status != "canceled":
                    for run in running:
                        add(
                            Rule.WORKFLOW_STEP_UNFINISHED,
                            run.index,
                            f"step {run.id!r} has no result before 'workflow-finish' at {index}",
                        )
            case _:
                add(Rule.FOREIGN_CHUNK, index, f"{chunk.type!r} is not a workflow chunk")
    if terminal is None and not truncated:
        last_index, last = items[-1]
        add(
            Rule.MISSING_FINISH,
            last_index,
            f"the stream ends with {last.type!r}, not 'workflow-finish'",
        )
    return report.found


def _match_step(running: list[_Running], step_id: str, call_id: str | None) -> _Running | None:
    if call_id is not None:
        for run in running:
            if run.call_id == call_id:
                return run
    for run in running:
        if run.id == step_id and (call_id is None or run.call_id is None):
            return run
    return None


def _writes_for(run: _Running, name: str | None) -> bool:
    if name is None:
        return True
    return name in (run.name, run.id) or run.id.endswith("." + name)
