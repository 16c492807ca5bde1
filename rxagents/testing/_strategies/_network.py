"""Well-formed network streams: routing, primitive spans with wrapped inner streams."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal, cast

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from rxagents.errors import InvalidInputError
from rxagents.events import (
    AgentExecutionEnd,
    AgentExecutionEndPayload,
    AgentExecutionStart,
    AgentExecutionStartPayload,
    Chunk,
    Finish,
    NetworkChunk,
    NetworkFinish,
    NetworkFinishPayload,
    NetworkStepFinish,
    NetworkStepFinishPayload,
    NetworkValidationEnd,
    NetworkValidationEndPayload,
    NetworkValidationStart,
    NetworkValidationStartPayload,
    RoutingAgentEnd,
    RoutingAgentEndPayload,
    RoutingAgentStart,
    RoutingAgentStartPayload,
    RoutingAgentTextDelta,
    RoutingAgentTextDeltaPayload,
    RoutingAgentTextStart,
    RoutingAgentTextStartPayload,
    ToolExecutionEnd,
    ToolExecutionEndPayload,
    ToolExecutionStart,
    ToolExecutionStartPayload,
    WorkflowExecutionEnd,
    WorkflowExecutionEndPayload,
    WorkflowExecutionStart,
    WorkflowExecutionStartPayload,
    WorkflowFinish,
    WrappedChunk,
)
from rxagents.usage import Usage

from ._agent import draw_agent_stream
from ._base import (
    DEFAULT_TOOL_ARGS,
    TEXTS,
    check_steps,
    ids,
    json_objects,
    json_values,
    usages,
)
from ._workflow import draw_workflow_stream

__all__ = ("network_chunk_streams", "wrap")


def wrap(prefix: str, network_run: str, chunk: Chunk) -> WrappedChunk:
    """Wrap ``chunk`` whole for the network run, as ``prefix_events`` does."""
    return WrappedChunk(type=prefix + chunk.type, run_id=network_run, payload=chunk)


def _draw_network_stream(
    draw: DrawFn,
    run_id: str | None,
    max_iterations: int,
    primitives: tuple[str, ...],
    include_validation: bool,
) -> list[NetworkChunk | WrappedChunk]:
    rid = run_id if run_id is not None else draw(ids("net-run-"))
    task = draw(TEXTS)
    out: list[NetworkChunk | WrappedChunk] = []
    usage = Usage.zero
    iterations = draw(st.integers(1, max_iterations))
    primitive_id, primitive_type, result = "", "none", ""
    for k in range(iterations + 1):
        is_final = k == iterations
        primitive_type = "none" if is_final else draw(st.sampled_from(primitives))
        primitive_id = "" if is_final else f"{primitive_type}-{k}"
        routing_usage = draw(usages(max_tokens=2_000, optional_counters=False))
        usage = usage + routing_usage
        start = RoutingAgentStartPayload(
            network_id="router",
            agent_id="router",
            run_id=rid,
            input_data={"task": task, "iteration": k},
        )
        out.append(RoutingAgentStart(run_id=rid, payload=start))
        decision = RoutingAgentEndPayload(
            task=task,
            primitive_id=primitive_id,
            primitive_type=primitive_type,
            prompt=draw(TEXTS),
            selection_reason=draw(TEXTS),
            is_complete=is_final,
            iteration=k,
            run_id=rid,
            usage=routing_usage,
        )
        out.append(RoutingAgentEnd(run_id=rid, payload=decision))
        if is_final:
            out.append(
                RoutingAgentTextStart(run_id=rid, payload=RoutingAgentTextStartPayload(run_id=rid))
            )
            answer = draw(st.lists(TEXTS, min_size=1, max_size=3))
            out.extend(
                RoutingAgentTextDelta(run_id=rid, payload=RoutingAgentTextDeltaPayload(text=piece))
                for piece in answer
            )
            result = "".join(answer)
            step = NetworkStepFinishPayload(
                task=task, result=result, is_complete=True, iteration=k, run_id=rid
            )
            out.append(NetworkStepFinish(run_id=rid, payload=step))
            break
        inner_run = f"{rid}.{primitive_id}"
        if primitive_type == "agent":
            inner_agent = draw_agent_stream(
                draw, inner_run, DEFAULT_TOOL_ARGS, 1, 2, 1, ("finish", "error")
            )
            last = cast(Finish, inner_agent[-1])
            inner_usage, result = last.payload.output.usage, last.payload.output.text
            started = AgentExecutionStartPayload(
                agent_id=primitive_id, args={"prompt": task}, run_id=inner_run
            )
            out.append(AgentExecutionStart(run_id=rid, payload=started))
            out.extend(wrap("agent-execution-event-", rid, c) for c in inner_agent)
            ended = AgentExecutionEndPayload(
                agent_id=primitive_id,
                result=result,
                iteration=k,
                run_id=inner_run,
                usage=inner_usage,
            )
            out.append(AgentExecutionEnd(run_id=rid, payload=ended))
            usage = usage + inner_usage
        elif primitive_type == "workflow":
            inner_workflow = draw_workflow_stream(
                draw, inner_run, primitive_id, 2, ("success", "failed"), True
            )
            last_wf = cast(WorkflowFinish, inner_workflow[-1])
            inner_usage = last_wf.payload.output.usage
            result = json.dumps(last_wf.payload.final_workflow_result, default=str)
            started_wf = WorkflowExecutionStartPayload(
                workflow_id=primitive_id, args={"task": task}, run_id=inner_run
            )
            out.append(WorkflowExecutionStart(run_id=rid, payload=started_wf))
            out.extend(wrap("workflow-execution-event-", rid, c) for c in inner_workflow)
            ended_wf = WorkflowExecutionEndPayload(
                name=primitive_id, result=result, iteration=k, run_id=inner_run, usage=inner_usage
            )
            out.append(WorkflowExecutionEnd(run_id=rid, payload=ended_wf))
            usage = usage + inner_usage
        else:
            args = draw(json_objects())
            out.append(
                ToolExecutionStart(
                    run_id=rid, payload=ToolExecutionStartPayload(args=args, run_id=rid)
                )
            )
            tool_result = draw(json_values())
            result = json.dumps(tool_result)
            ended_tool = ToolExecutionEndPayload(
                tool_name=primitive_id, tool_call_id=f"call-{k}", result=tool_result, iteration=k
            )
            out.append(ToolExecutionEnd(run_id=rid, payload=ended_tool))
        if include_validation and draw(st.booleans()):
            check_usage = draw(usages(max_tokens=2_000, optional_counters=False))
            usage = usage + check_usage
            validation = NetworkValidationStartPayload(run_id=rid, iteration=k)
            out.append(NetworkValidationStart(run_id=rid, payload=validation))
            verdict = NetworkValidationEndPayload(
                passed=False, reason=draw(TEXTS), iteration=k, usage=check_usage
            )
            out.append(NetworkValidationEnd(run_id=rid, payload=verdict))
    finish = NetworkFinishPayload(
        task=task,
        result=result,
        is_complete=True,
        completion_reason="routing-agent-complete",
        iteration=iterations,
        primitive_id=primitive_id,
        primitive_type=primitive_type,
        thread_id=f"thread-{rid}",
        usage=usage,
    )
    out.append(NetworkFinish(run_id=rid, payload=finish))
    return out


def network_chunk_streams(
    *,
    run_id: str | None = None,
    max_iterations: int = 3,
    primitives: Sequence[Literal["agent", "workflow", "tool"]] = ("agent", "workflow", "tool"),
    include_validation: bool = True,
) -> SearchStrategy[list[NetworkChunk | WrappedChunk]]:
    """Return a strategy for well-formed network streams.

    Each iteration: ``routing-agent-start``/``-end`` (the decision, with usage), the chosen
    primitive's span (an agent's whole stream wrapped as ``agent-execution-event-*`` with its own
    runId, a workflow's as ``workflow-execution-event-*``, or a tool's start/end), sometimes a
    completion check (``network-validation-start``/``-end``); a final routing call choosing
    ``none`` streams the answer (``routing-agent-text-*``) and ``network-execution-event-step-
    finish``; the run ends with ``network-execution-event-finish`` carrying the summed usage.

    Args:
        run_id: The network run id; drawn when omitted.
        max_iterations: Most primitive runs.
        primitives: Which primitive kinds the router may choose.
        include_validation: Sometimes run a completion check after a primitive.
    """
    check_steps(1, max_iterations)
    if not primitives or not set(primitives) <= {"agent", "workflow", "tool"}:
        raise InvalidInputError(f"primitives must be some of agent, workflow, tool: {primitives!r}")
    args = (run_id, max_iterations, tuple(primitives), include_validation)
    return st.composite(lambda draw: _draw_network_stream(draw, *args))()
