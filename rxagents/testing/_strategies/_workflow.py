"""Well-formed workflow streams: steps, agents as steps, parallel blocks, loops, nesting."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal, cast

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from rxagents.events import (
    Finish,
    WorkflowChunk,
    WorkflowFinish,
    WorkflowFinishOutput,
    WorkflowFinishPayload,
    WorkflowStart,
    WorkflowStartPayload,
    WorkflowStatus,
    WorkflowStepOutput,
    WorkflowStepOutputPayload,
    WorkflowStepResult,
    WorkflowStepResultPayload,
    WorkflowStepStart,
    WorkflowStepStartPayload,
    WorkflowStepSuspended,
    WorkflowStepSuspendedPayload,
)
from rxagents.usage import Usage

from ._agent import draw_agent_stream
from ._base import (
    DEFAULT_TOOL_ARGS,
    SMALL_INTS,
    STAMPS,
    check_steps,
    error_infos,
    ids,
    interleave,
    json_values,
)

__all__ = ("custom_outputs", "draw_workflow_stream", "workflow_chunk_streams")


class _Clock:
    def __init__(self, start: int) -> None:
        self.now = start

    def tick(self) -> int:
        self.now += 7
        return self.now


@dataclass
class _WorkflowRun:
    run_id: str
    clock: _Clock
    with_call_ids: bool
    calls: int = 0
    usage: Usage = Usage.zero

    def call_id(self, step_id: str) -> str | None:
        self.calls += 1
        return f"{step_id}#{self.calls}" if self.with_call_ids else None


@functools.cache
def custom_outputs() -> SearchStrategy[Any]:
    """Return a strategy for what a step writes: JSON, or a custom typed progress object."""
    progress = st.fixed_dictionaries(
        {"type": st.just("my-progress"), "payload": st.fixed_dictionaries({"percent": SMALL_INTS})}
    )
    return json_values() | progress


def _step_fields(
    step_id: str, name: str, call_id: str | None, data: Any, started: int
) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": step_id, "step_name": name, "payload": data}
    if call_id is not None:
        fields["step_call_id"] = call_id
    fields["started_at"] = started
    return fields


def _draw_workflow_step(
    draw: DrawFn,
    run: _WorkflowRun,
    step_id: str,
    name: str,
    data: Any,
    outcome: Literal["success", "failed", "suspended"] = "success",
    agent: bool = False,
) -> list[WorkflowChunk]:
    """One execution of one step: start, what it wrote, its result or suspension."""
    rid = run.run_id
    call_id = run.call_id(step_id)
    started = run.clock.tick()
    fields = _step_fields(step_id, name, call_id, data, started)
    out: list[WorkflowChunk] = [
        WorkflowStepStart(run_id=rid, payload=WorkflowStepStartPayload(**fields, status="running"))
    ]
    written: list[Any]
    result: Any
    if agent:
        inner = draw_agent_stream(draw, f"{rid}.{name}", DEFAULT_TOOL_ARGS, 1, 2, 1, ("finish",))
        written = list(inner)
        last = cast(Finish, inner[-1])
        run.usage = run.usage + last.payload.output.usage
        result = {"text": last.payload.output.text}
    else:
        written = draw(st.lists(custom_outputs(), max_size=2))
        result = draw(json_values())
    out.extend(
        WorkflowStepOutput(
            run_id=rid, payload=WorkflowStepOutputPayload(step_name=name, run_id=rid, output=value)
        )
        for value in written
    )
    if outcome == "suspended":
        suspended = WorkflowStepSuspendedPayload(
            **fields,
            status="suspended",
            suspend_payload=draw(json_values()),
            suspended_at=run.clock.tick(),
        )
        out.append(WorkflowStepSuspended(run_id=rid, payload=suspended))
    elif outcome == "failed":
        failed = WorkflowStepResultPayload(
            **fields, status="failed", error=draw(error_infos()), ended_at=run.clock.tick()
        )
        out.append(WorkflowStepResult(run_id=rid, payload=failed))
    else:
        done = WorkflowStepResultPayload(
            **fields, status="success", output=result, ended_at=run.clock.tick()
        )
        out.append(WorkflowStepResult(run_id=rid, payload=done))
    return out


_BLOCKS = ("step", "step", "agent", "parallel", "loop", "nested")


def draw_workflow_stream(
    draw: DrawFn,
    run_id: str | None,
    workflow_id: str | None,
    max_steps: int,
    endings: tuple[WorkflowStatus, ...],
    include_agents: bool,
) -> list[WorkflowChunk]:
    """Draw one workflow run's stream: ``workflow-start``, step blocks, ``workflow-finish``."""
    rid = run_id if run_id is not None else draw(ids("wf-run-"))
    run = _WorkflowRun(rid, _Clock(draw(STAMPS)), draw(st.booleans()))
    wid = workflow_id if workflow_id is not None else draw(ids("workflow-"))
    out: list[WorkflowChunk] = [
        WorkflowStart(run_id=rid, payload=WorkflowStartPayload(workflow_id=wid))
    ]
    blocks = [b for b in _BLOCKS if include_agents or b != "agent"]
    data = draw(json_values())
    for k in range(draw(st.integers(1, max_steps))):
        block = draw(st.sampled_from(blocks))
        if block in ("step", "agent"):
            out.extend(
                _draw_workflow_step(
                    draw, run, f"step-{k}", f"step-{k}", data, agent=block == "agent"
                )
            )
        elif block == "parallel":
            branches = [
                _draw_workflow_step(draw, run, f"branch-{k}-{j}", f"branch-{k}-{j}", data)
                for j in range(draw(st.integers(2, 3)))
            ]
            out.extend(interleave(draw, branches))
        elif block == "loop":
            for _ in range(draw(st.integers(2, 3))):
                out.extend(_draw_workflow_step(draw, run, f"loop-{k}", f"loop-{k}", data))
        else:
            outer = f"nested-{k}"
            call_id = run.call_id(outer)
            fields = _step_fields(outer, outer, call_id, data, run.clock.tick())
            out.append(WorkflowStepStart(run_id=rid, payload=WorkflowStepStartPayload(**fields)))
            for j in range(draw(st.integers(1, 2))):
                out.extend(_draw_workflow_step(draw, run, f"{outer}.inner-{j}", f"inner-{j}", data))
            done = WorkflowStepResultPayload(
                **fields, status="success", output=data, ended_at=run.clock.tick()
            )
            out.append(WorkflowStepResult(run_id=rid, payload=done))
    status = draw(st.sampled_from(endings))
    if status == "failed":
        out.extend(_draw_workflow_step(draw, run, "failing-step", "failing-step", data, "failed"))
    elif status == "suspended":
        out.extend(_draw_workflow_step(draw, run, "approval", "approval", data, "suspended"))
    result: dict[str, Any] = {"final_workflow_result": data} if status == "success" else {}
    finish = WorkflowFinishPayload(
        workflow_status=status, output=WorkflowFinishOutput(usage=run.usage), metadata={}, **result
    )
    out.append(WorkflowFinish(run_id=rid, payload=finish))
    return out


def workflow_chunk_streams(
    *,
    run_id: str | None = None,
    workflow_id: str | None = None,
    max_steps: int = 4,
    include_failures: bool = True,
    include_suspends: bool = True,
    include_agents: bool = True,
) -> SearchStrategy[list[WorkflowChunk]]:
    """Return a strategy for well-formed workflow streams.

    ``workflow-start``, then blocks of steps: single steps writing plain JSON or custom
    ``{"type": "my-progress", ...}`` objects, agents used as steps (each agent chunk wrapped whole
    in ``workflow-step-output``), parallel blocks (children interleaved), loops (one step id run
    several times) and nested workflows (dotted ids); ``stepCallId`` present or absent per stream;
    then ``workflow-finish`` (``success``, or ``failed`` after a failed step, or ``suspended``
    after a suspended one) with the agents' summed usage.

    Args:
        run_id: The workflow run id; drawn when omitted.
        workflow_id: The workflow id; drawn when omitted.
        max_steps: Most step blocks before the last one.
        include_failures: Sometimes end with a failed step and ``workflowStatus: failed``.
        include_suspends: Sometimes end with a suspended step and ``workflowStatus: suspended``.
        include_agents: Use agents as steps.
    """
    check_steps(1, max_steps)
    optional: tuple[tuple[bool, WorkflowStatus], ...] = (
        (include_failures, "failed"),
        (include_suspends, "suspended"),
    )
    endings: tuple[WorkflowStatus, ...] = ("success", *(s for on, s in optional if on))
    args = (run_id, workflow_id, max_steps, endings, include_agents)
    return st.composite(lambda draw: draw_workflow_stream(draw, *args))()
