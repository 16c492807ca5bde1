"""What tools write while they run: values, data chunks, piped nested runs, sub-agent runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn
from pydantic import MISSING

from rxagents.events import (
    AgentChunk,
    DataChunk,
    Finish,
    TextDelta,
    ToolCallSummary,
    ToolOutput,
    ToolOutputPayload,
    ToolResult,
)
from rxagents.testing._wellformed._agent import usage_in
from rxagents.usage import Usage

from ._base import NAMES, ids, json_values

__all__ = ("SUB_AGENT_PREFIX", "CallWrites", "NestedRun", "Writes", "draw_call_writes")

SUB_AGENT_PREFIX = "agent-"
"""A supervisor's delegation tool is named ``agent-<key>``."""


@dataclass(frozen=True)
class Writes:
    """How the tools of a drawn run write while they run."""

    outputs: bool
    """Every tool sometimes writes values, data chunks and nested runs (piped whole or as text)."""
    depth: int
    """Levels of nested runs still allowed below this run (0: none)."""
    sub_agents: frozenset[str]
    """The tool names that delegate to a sub-agent (``agent-<key>``)."""

    def below(self) -> Writes:
        """How the tools of a run nested in this one write."""
        return Writes(self.outputs, self.depth - 1, self.sub_agents)


NestedRun = Callable[[DrawFn, str, Writes], list[AgentChunk]]
"""Draw the whole stream of a nested run, given its run id and how its own tools write."""


@dataclass
class CallWrites:
    """What one tool call writes before its answer, and what the answer then carries."""

    chunks: list[AgentChunk]
    """The ``tool-output`` and data chunks, in order."""
    result: Any = MISSING
    """The call's result when the writes decide it (a sub-agent's), else ``MISSING``."""
    usage: Usage | None = None
    """Nested usage the answer carries (a run piped as text only)."""

    @property
    def nested_usage(self) -> Usage:
        """The usage of every nested model call this call made."""
        total = sum((usage_in(chunk) for chunk in self.chunks), Usage.zero)
        return total if self.usage is None else total + self.usage


def _output(run_id: str, call: ToolCallSummary, value: Any) -> ToolOutput:
    payload = ToolOutputPayload(
        output=value, tool_call_id=call.tool_call_id, tool_name=call.tool_name
    )
    return ToolOutput(run_id=run_id, payload=payload)


def _data_chunk(draw: DrawFn, run_id: str) -> DataChunk:
    fields: dict[str, Any] = {"type": f"data-{draw(NAMES)}", "run_id": run_id}
    if draw(st.booleans()):
        fields["data"] = draw(json_values(max_leaves=3))
    if draw(st.booleans()):
        fields["id"] = draw(NAMES)
    if draw(st.booleans()):
        fields["transient"] = draw(st.booleans())
    return DataChunk.model_validate(fields)


def _plain_value(draw: DrawFn) -> Any:
    value = draw(json_values(max_leaves=3))
    # a dict with a "type" might read as a chunk on the wire: progress values here never do
    return {"progress": value} if isinstance(value, dict) and "type" in value else value


def _cut(draw: DrawFn, chunks: list[AgentChunk], failed: bool) -> list[AgentChunk]:
    """A failed call may have stopped piping its nested run anywhere."""
    if failed and chunks and draw(st.booleans()):
        return chunks[: draw(st.integers(0, len(chunks) - 1))]
    return chunks


def _sub_agent_result(draw: DrawFn, sub_run: list[AgentChunk]) -> dict[str, Any]:
    """The delegation's result: the sub-agent's text, its thread and resource, tool results."""
    last = sub_run[-1]
    tool_results = [
        {
            "toolName": chunk.payload.tool_name,
            "toolCallId": chunk.payload.tool_call_id,
            "result": chunk.payload.result,
            "args": chunk.payload.args,
        }
        for chunk in sub_run
        if isinstance(chunk, ToolResult)
    ]
    return {
        "text": last.payload.output.text if isinstance(last, Finish) else "",
        "subAgentThreadId": draw(ids("thread-")),
        "subAgentResourceId": draw(ids("resource-")),
        "subAgentToolResults": tool_results,
    }


def draw_call_writes(
    draw: DrawFn,
    run_id: str,
    call: ToolCallSummary,
    writes: Writes,
    failed: bool,
    nested: NestedRun,
) -> CallWrites:
    """Draw what ``call`` writes while it runs (``failed``: its answer is a ``tool-error``).

    A delegation (a tool in ``writes.sub_agents``) streams a whole sub-agent run, each chunk in
    a ``tool-output``, and returns ``{text, subAgentThreadId, subAgentResourceId,
    subAgentToolResults}``. Another tool writes a few values and data chunks, and sometimes a
    nested run: piped whole (its chunks in ``tool-output``) or as text (one ``tool-output`` per
    delta; its usage then rides on the answer).
    """
    sub_run_id = f"{run_id}/{call.tool_call_id}"
    if call.tool_name in writes.sub_agents and writes.depth > 0:
        sub_run = nested(draw, sub_run_id, writes.below())
        if failed:
            return CallWrites([_output(run_id, call, c) for c in _cut(draw, sub_run, failed)])
        chunks: list[AgentChunk] = [_output(run_id, call, chunk) for chunk in sub_run]
        return CallWrites(chunks, result=_sub_agent_result(draw, sub_run))
    if not writes.outputs:
        return CallWrites([])
    written: list[AgentChunk] = []
    for is_data in draw(st.lists(st.booleans(), max_size=3)):
        written.append(
            _data_chunk(draw, run_id) if is_data else _output(run_id, call, _plain_value(draw))
        )
    how = draw(st.sampled_from(("none", "full", "text"))) if writes.depth > 0 else "none"
    if how == "none":
        return CallWrites(written)
    sub_run = nested(draw, sub_run_id, writes.below())
    if how == "full":
        written.extend(_output(run_id, call, chunk) for chunk in _cut(draw, sub_run, failed))
        return CallWrites(written)
    piped = _cut(draw, sub_run, failed)
    written.extend(
        _output(run_id, call, chunk.payload.text) for chunk in piped if isinstance(chunk, TextDelta)
    )
    hidden = sum((usage_in(chunk) for chunk in piped), Usage.zero)
    counted = hidden.total_tokens or hidden.input_tokens or hidden.output_tokens
    return CallWrites(written, usage=hidden if counted else None)
