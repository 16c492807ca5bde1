"""Check a chunk stream against the ordering rules of agent, workflow and network streams.

:func:`check_well_formed` returns every :class:`Violation` of a stream, sorted by the index of the
offending chunk; :func:`assert_well_formed` raises :class:`WellFormednessError` for the first one.
Each rule has a short name (a :class:`Rule` member; ``RULES`` maps each to a description), so a
failing test says which rule broke and where. One module per grammar: ``_agent``, ``_workflow``
and ``_network`` (which checks the streams it wraps with the other two); ``_rules`` names the
rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, get_args

from rxagents.errors import ChunkParseError, InvalidInputError, MalformedStreamError
from rxagents.events import Chunk, ChunkBase, WorkflowChunk, parse_chunk

from ._agent import AGENT_CLASSES, check_agent
from ._network import check_network
from ._rules import RULES, Rule, Violation
from ._workflow import check_workflow

__all__ = (
    "RULES",
    "ChunkLike",
    "Rule",
    "StreamKind",
    "Violation",
    "WellFormednessError",
    "assert_well_formed",
    "check_well_formed",
)

StreamKind = Literal["auto", "agent", "workflow", "network"]
"""Which stream grammar to check; ``auto`` picks it from the first chunk."""

ChunkLike: TypeAlias = "ChunkBase | Mapping[str, Any] | str | bytes"
"""A typed chunk (any chunk class), a wire dict (camelCase keys) or wire JSON."""

_WORKFLOW_CLASSES: tuple[type, ...] = get_args(WorkflowChunk)


class WellFormednessError(MalformedStreamError, AssertionError):
    """A stream broke an ordering rule; raised by :func:`assert_well_formed`.

    Also an ``AssertionError``, so pytest reports it as a failed assertion.

    Attributes:
        rule: The first broken rule.
        index: The index of the first offending chunk.
        violations: Every violation found, the first one first.
    """

    def __init__(self, violations: Sequence[Violation]) -> None:
        first = violations[0]
        more = len(violations) - 1
        suffix = (
            f" (and {more} more: {', '.join(v.rule for v in violations[1:4])}…)" if more else ""
        )
        super().__init__(f"stream is not well formed: {first}{suffix}")
        self.rule: Rule = first.rule
        self.index: int = first.index
        self.violations: tuple[Violation, ...] = tuple(violations)


def check_well_formed(chunks: Iterable[ChunkLike], kind: StreamKind = "auto") -> list[Violation]:
    """Return every rule the stream breaks, sorted by chunk index (empty when well formed).

    Items that are not typed chunks are parsed with :func:`rxagents.events.parse_chunk`; an item
    that does not parse is an ``invalid-chunk`` violation and is otherwise skipped.

    Args:
        chunks: The whole stream, in order.
        kind: ``agent``, ``workflow`` or ``network``; ``auto`` decides by the first chunk's family
            (a wrapped chunk means network).

    Raises:
        InvalidInputError: ``kind`` is not one of the four names.
    """
    if kind not in ("auto", "agent", "workflow", "network"):
        raise InvalidInputError(f"kind must be auto, agent, workflow or network, not {kind!r}")
    violations: list[Violation] = []
    items: list[tuple[int, Chunk]] = []
    for index, item in enumerate(chunks):
        try:
            items.append((index, parse_chunk(item)))
        except ChunkParseError as err:
            violations.append(Violation(Rule.INVALID_CHUNK, index, str(err)))
    if not items:
        if not violations:
            violations.append(Violation(Rule.EMPTY_STREAM, 0, "the stream has no chunks"))
        return violations
    if kind == "auto":
        kind = _detect(items[0][1])
    violations.extend(_CHECKERS[kind](items))
    return sorted(violations, key=lambda v: v.index)


def assert_well_formed(chunks: Iterable[ChunkLike], kind: StreamKind = "auto") -> None:
    """Assert that a stream follows every ordering rule of its family.

    An agent stream opens with ``start`` and ends with ``finish`` (or ``abort``), all chunks
    carrying its runId; each model call is one ``step-start … step-finish`` block holding the
    text, reasoning and tool chunks; a text or reasoning block is ``*-start``, deltas, ``*-end``
    with one id, closed before the step ends, an ``error``, an ``abort`` or ``finish``; streamed
    tool input ends before its ``tool-call``; each ``tool-call`` is answered once, in its step,
    by a ``tool-result`` or ``tool-error`` naming its tool; what a tool writes (``tool-output``)
    comes between its call and the answer, and data chunks (no envelope) anywhere before the end;
    each nested run carried in ``tool-output`` (a piped agent, a sub-agent: grouped by runId) is
    well formed itself, cut short only when the run was aborted or failed or its call failed;
    ``finish`` carries the summed usage of the steps and of the nested model calls. A workflow
    stream opens with ``workflow-start`` and ends with ``workflow-finish``;
    each step gets a result or a suspension with its id, its output comes while it runs, and
    the final status agrees with its steps. A network stream's spans (routing, executions,
    validation) do not overlap and close before its finish; wrapped chunks come inside their
    execution, carry its runId and unwrap to a well-formed stream. :class:`Rule` names every
    rule and ``RULES`` describes each in one line.

    Example:
        >>> from rxagents.events import Start, StartPayload
        >>> assert_well_formed([Start(run_id="r1", payload=StartPayload())])
        Traceback (most recent call last):
        ...
        rxagents.testing._wellformed.WellFormednessError: stream is not well formed: \
missing-finish at chunk 0: the stream ends with 'start', not 'finish' or 'abort'

    Args:
        chunks: The whole stream, in order (typed chunks, wire dicts or wire JSON).
        kind: ``agent``, ``workflow``, ``network``, or ``auto`` (from the first chunk).

    Raises:
        WellFormednessError: The stream breaks a rule; ``.rule`` and ``.index`` name the first.
    """
    violations = check_well_formed(chunks, kind)
    if violations:
        raise WellFormednessError(violations)


_CHECKERS = {"agent": check_agent, "workflow": check_workflow, "network": check_network}


def _detect(first: Chunk) -> Literal["agent", "workflow", "network"]:
    if isinstance(first, _WORKFLOW_CLASSES):
        return "workflow"
    if isinstance(first, AGENT_CLASSES):
        return "agent"
    return "network"
