"""The network stream grammar: spans that do not overlap, wrapped inner streams checked whole."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import get_args

from rxagents.events import (
    Abort,
    AgentExecutionStart,
    Chunk,
    NetworkChunk,
    NetworkFinish,
    WorkflowExecutionStart,
    WrappedChunk,
)

from ._agent import check_agent
from ._rules import Items, Report, Rule, Violation
from ._workflow import check_workflow

__all__ = ("check_network",)

_NETWORK_CLASSES: tuple[type, ...] = (*get_args(NetworkChunk), WrappedChunk)
_SPAN_STARTS: Mapping[str, str] = {
    "routing-agent-start": "routing-agent",
    "agent-execution-start": "agent-execution",
    "workflow-execution-start": "workflow-execution",
    "tool-execution-start": "tool-execution",
    "network-validation-start": "network-validation",
}
_SPAN_ENDS: Mapping[str, str] = {
    "routing-agent-end": "routing-agent",
    "agent-execution-end": "agent-execution",
    "workflow-execution-end": "workflow-execution",
    "tool-execution-end": "tool-execution",
    "network-validation-end": "network-validation",
}
_AGENT_PREFIX = "agent-execution-event-"
_WORKFLOW_PREFIX = "workflow-execution-event-"


@dataclass
class _Span:
    kind: str
    index: int
    chunk: Chunk
    inner: list[tuple[int, Chunk]] = field(default_factory=list)


def check_network(items: Items) -> list[Violation]:
    """Check a network stream, and each agent or workflow stream wrapped inside it."""
    report = Report()
    add = report.add
    span: _Span | None = None
    terminal: tuple[int, str] | None = None
    for index, chunk in items:
        if terminal is not None:
            add(
                Rule.AFTER_FINISH,
                index,
                f"{chunk.type!r} after {terminal[1]!r} at chunk {terminal[0]}",
            )
            break
        if isinstance(chunk, WrappedChunk):
            wanted = {_AGENT_PREFIX: "agent-execution", _WORKFLOW_PREFIX: "workflow-execution"}
            kind = wanted.get(chunk.prefix)
            if kind is None:
                continue
            if span is None or span.kind != kind:
                add(
                    Rule.WRAPPED_OUTSIDE_EXECUTION,
                    index,
                    f"{chunk.type!r} outside an {kind} span",
                )
                continue
            expected = _execution_run_id(span.chunk)
            if expected is not None and chunk.payload.run_id != expected:
                add(
                    Rule.INNER_RUN_ID,
                    index,
                    f"inner runId {chunk.payload.run_id!r} is not the execution's {expected!r}",
                )
            span.inner.append((index, chunk.payload))
            continue
        if chunk.type in _SPAN_STARTS:
            if span is not None:
                add(
                    Rule.SPAN_INTERLEAVED,
                    index,
                    f"{chunk.type!r} while {span.kind} (opened at chunk {span.index}) is open",
                )
            span = _Span(_SPAN_STARTS[chunk.type], index, chunk)
        elif chunk.type in _SPAN_ENDS:
            if span is None or span.kind != _SPAN_ENDS[chunk.type]:
                open_kind = "no span" if span is None else span.kind
                add(Rule.SPAN_NOT_OPEN, index, f"{chunk.type!r} while {open_kind} is open")
                continue
            report.found.extend(_check_inner(span, truncated=False))
            span = None
        elif isinstance(chunk, NetworkFinish):
            terminal = (index, chunk.type)
            if span is not None:
                add(
                    Rule.SPAN_UNCLOSED,
                    span.index,
                    f"{span.kind} has no end before {chunk.type!r} at chunk {index}",
                )
        elif isinstance(chunk, Abort):
            terminal = (index, "abort")
            if span is not None:
                report.found.extend(_check_inner(span, truncated=True))
        elif not isinstance(chunk, _NETWORK_CLASSES):
            add(Rule.FOREIGN_CHUNK, index, f"{chunk.type!r} is not a network chunk")
    if terminal is None:
        last_index, last = items[-1]
        add(
            Rule.MISSING_FINISH,
            last_index,
            f"the stream ends with {last.type!r}, not 'network-execution-event-finish' or 'abort'",
        )
    return report.found


def _execution_run_id(start: Chunk) -> str | None:
    if isinstance(start, AgentExecutionStart | WorkflowExecutionStart):
        return start.payload.run_id
    return None


def _check_inner(span: _Span, *, truncated: bool) -> list[Violation]:
    if not span.inner:
        return []
    check: Callable[[Items], list[Violation]]
    if span.kind == "agent-execution":

        def check(items: Items) -> list[Violation]:
            return check_agent(items, inner=True, truncated=truncated)

        family = "agent"
    else:

        def check(items: Items) -> list[Violation]:
            return check_workflow(items, truncated=truncated)

        family = "workflow"
    return [
        Violation(
            Rule.INNER_STREAM,
            found.index,
            f"the {family} stream of the {span.kind} at chunk {span.index}: {found}",
            inner=found,
        )
        for found in sorted(check(span.inner), key=lambda v: v.index)
    ]
