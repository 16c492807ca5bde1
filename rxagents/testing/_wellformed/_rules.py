"""The ordering rules, named once, and the violation record every checker reports.

:class:`Rule` is the registry: each member is a rule's name (a string) carrying a one-line
``description``. The checkers report ``Rule`` members and the stream strategies break them by
member, so a rule cannot be misspelled in one place and not the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Self

from rxagents.events import Chunk

__all__ = ("RULES", "Items", "Report", "Rule", "Violation")


class Rule(StrEnum):
    """The name of one ordering rule; ``description`` says what the rule requires.

    Members are strings: ``Rule.MISSING_FINISH == "missing-finish"``.
    """

    _value_: str
    description: str
    """What the rule requires, in one line."""

    def __new__(cls, name: str, description: str) -> Self:
        member = str.__new__(cls, name)
        member._value_ = name
        member.description = description
        return member

    # Every stream

    INVALID_CHUNK = "invalid-chunk", "every item parses as a chunk"
    EMPTY_STREAM = "empty-stream", "a stream has at least one chunk"
    FOREIGN_CHUNK = (
        "foreign-chunk",
        "a stream holds only its own family's chunks (network: wrapped ones too)",
    )
    START_FIRST = (
        "start-first",
        "agent streams open with `start`, workflow streams with `workflow-start`",
    )
    DUPLICATE_START = "duplicate-start", "the opening chunk appears once"
    MISSING_FINISH = (
        "missing-finish",
        "the stream ends with its finish chunk (agent and network: or `abort`)",
    )
    AFTER_FINISH = "after-finish", "nothing follows the finish (or `abort`) chunk"

    # Agent streams

    RUN_ID_MISMATCH = (
        "run-id-mismatch",
        "every chunk of an agent run carries the `start` chunk's runId",
    )
    STEP_NESTED = "step-nested", "`step-start` only when no step is open"
    STEP_NOT_OPEN = "step-not-open", "`step-finish` only closes an open step"
    STEP_UNCLOSED = "step-unclosed", "`finish` only when every step is closed"
    OUTSIDE_STEP = (
        "outside-step",
        "text, reasoning, tool, source, file and response-metadata chunks come inside a step",
    )
    BLOCK_REOPENED = (
        "block-reopened",
        "a text or reasoning block id is not opened while already open",
    )
    DELTA_OUTSIDE_BLOCK = "delta-outside-block", "a delta comes inside the open block with its id"
    BLOCK_NOT_OPEN = "block-not-open", "`*-end` closes an open block with its id"
    BLOCK_UNCLOSED = "block-unclosed", "blocks close before step-finish, error, abort and finish"
    TOOL_INPUT_REOPENED = (
        "tool-input-reopened",
        "tool input streaming starts once per toolCallId, before the call",
    )
    TOOL_INPUT_NOT_OPEN = (
        "tool-input-not-open",
        "tool input deltas and ends come inside an open input stream",
    )
    TOOL_INPUT_UNCLOSED = (
        "tool-input-unclosed",
        "streamed tool input ends before its tool-call (and any error, abort or step-finish)",
    )
    TOOL_INPUT_WITHOUT_CALL = (
        "tool-input-without-call",
        "streamed tool input is followed by its tool-call in the step",
    )
    TOOL_CALL_DUPLICATE = "tool-call-duplicate", "a toolCallId is called once"
    TOOL_RESULT_WITHOUT_CALL = (
        "tool-result-without-call",
        "a tool-result, tool-error or tool-output-denied answers a tool-call of its step (a "
        "resumed stream opens inside the paused step: its first step's calls were made before)",
    )
    TOOL_RESULT_DUPLICATE = "tool-result-duplicate", "a tool-call is answered once"
    TOOL_NAME_MISMATCH = (
        "tool-name-mismatch",
        "a tool-result, tool-error or tool-output names the tool of its call",
    )
    TOOL_OUTPUT_OUTSIDE_CALL = (
        "tool-output-outside-call",
        "a tool-output comes while its call runs: after the tool-call, in its step, before the "
        "call's answer (and, once paused, only when the run resumes it)",
    )
    TOOL_CALL_UNANSWERED = (
        "tool-call-unanswered",
        "every tool-call is answered before its step-finish (unless the step failed with `error`,"
        " or the run was aborted)",
    )
    USAGE_MISMATCH = (
        "usage-mismatch",
        "`finish` usage is the sum of the step-finish usages and of the nested model calls (a "
        "step-finish inside tool-output, at any depth; `usage` on a tool-result or tool-error); "
        "not checked on a resumed stream alone, whose total also counts the steps before the "
        "pause",
    )
    PAUSE_WITHOUT_CALL = (
        "pause-without-call",
        "`tool-call-approval` and `tool-call-suspended` name an unanswered tool-call of their step",
    )
    AFTER_PAUSE = (
        "after-pause",
        "a paused stream ends with its pause chunks; a resumed run continues with the answer to "
        "a paused call (`tool-result`, `tool-error` or `tool-output-denied`), or with what the "
        "resumed tool writes first (its `tool-output`, a data chunk)",
    )

    # Workflow streams

    WORKFLOW_STEP_DUPLICATE = (
        "workflow-step-duplicate",
        "a stepCallId is not started while already running",
    )
    WORKFLOW_STEP_WITHOUT_START = (
        "workflow-step-without-start",
        "a step result or suspension closes a running step (opened by `workflow-step-start`, or "
        "`workflow-step-waiting` for a sleep)",
    )
    WORKFLOW_STEP_ID_MISMATCH = (
        "workflow-step-id-mismatch",
        "a step result has the id of the step it closes",
    )
    WORKFLOW_STEP_UNFINISHED = (
        "workflow-step-unfinished",
        "every step gets a result or suspension before `workflow-finish` (unless the run was "
        "canceled)",
    )
    WORKFLOW_STEP_OUTPUT_OUTSIDE_STEP = (
        "workflow-step-output-outside-step",
        "step output (and a foreach's progress) comes while its step runs",
    )
    WORKFLOW_STATUS = (
        "workflow-status",
        "a failed step fails the run; a suspended run has a suspended step",
    )

    # Network streams

    SPAN_INTERLEAVED = (
        "span-interleaved",
        "network spans (routing, executions, validation) do not overlap",
    )
    SPAN_NOT_OPEN = "span-not-open", "a span's end closes the open span of its kind"
    SPAN_UNCLOSED = "span-unclosed", "every span ends before the network finish"
    WRAPPED_OUTSIDE_EXECUTION = (
        "wrapped-outside-execution",
        "wrapped agent (workflow) chunks come inside an agent (workflow) execution",
    )
    INNER_RUN_ID = "inner-run-id", "wrapped chunks carry the execution's runId"
    INNER_STREAM = (
        "inner-stream",
        "the unwrapped stream of a network execution, and each nested run carried in tool-output "
        "(by its runId), is well formed itself (cut short only when the outer run was aborted or "
        "failed, or the carrying call failed)",
    )


RULES: Mapping[Rule, str] = MappingProxyType({rule: rule.description for rule in Rule})
"""Every rule with a one-line description."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule.

    Attributes:
        rule: The rule's name (see ``RULES``).
        index: The position of the offending chunk in the checked stream.
        message: What is wrong, in words.
        inner: For ``inner-stream``: the violation found in the unwrapped inner stream (its
            ``index`` is also a position in the outer stream).
    """

    rule: Rule
    index: int
    message: str
    inner: Violation | None = None

    def __str__(self) -> str:
        return f"{self.rule} at chunk {self.index}: {self.message}"


Items = Sequence[tuple[int, Chunk]]
"""A stream under check: ``(index, chunk)`` pairs, indices being positions in the outer stream."""


class Report:
    """The violations one checker found, in the order it found them."""

    def __init__(self) -> None:
        self.found: list[Violation] = []

    def add(self, rule: Rule, index: int, message: str) -> None:
        """Record that the chunk at ``index`` breaks ``rule``."""
        self.found.append(Violation(rule, index, message))
