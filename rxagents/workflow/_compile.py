"""Turn the builder's entries into Rx nodes, and check the schemas along the flow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from rxagents.workflow._flow import BranchNode, Condition, LoopNode, ParallelNode, SequenceNode
from rxagents.workflow._nested import ForeachNode, NestedNode
from rxagents.workflow._nodes import LeafNode, Node
from rxagents.workflow._schemas import (
    ANY,
    KeyedShape,
    ListShape,
    ModelShape,
    Shape,
    feed_problem,
    shape_of,
)
from rxagents.workflow._step import Step
from rxagents.workflow._step_node import StepNode

if TYPE_CHECKING:
    from rxagents.workflow._workflow import Workflow

__all__ = ("Entry", "Kind", "compile_entries", "schema_problems")

Kind = Literal["then", "parallel", "branch", "dountil", "dowhile", "foreach"]
"""What a builder call added."""


@dataclass(frozen=True)
class Entry:
    """One builder call: its kind, its steps, and the conditions or concurrency it took."""

    kind: Kind
    steps: tuple[Step | Workflow, ...]
    conditions: tuple[Condition, ...] = ()
    concurrency: int = 1


def compile_entries(entries: Sequence[Entry]) -> SequenceNode:
    """Return the root node: the entries in sequence, keyed by position."""
    return SequenceNode("", [_node(str(i), entry) for i, entry in enumerate(entries)])


def _node(key: str, entry: Entry) -> Node:
    if entry.kind == "then":
        return _leaf(entry.steps[0], key)
    if entry.kind in ("parallel", "branch"):
        children = [_leaf(step, f"{key}.{i}", deferred=True) for i, step in enumerate(entry.steps)]
        if entry.kind == "parallel":
            return ParallelNode(key, children)
        return BranchNode(key, entry.conditions, children)
    if entry.kind == "foreach":
        return ForeachNode(_leaf(entry.steps[0], "item", quiet=True), key, entry.concurrency)
    body = _leaf(entry.steps[0], key)
    return LoopNode(key, body, entry.conditions[0], until=entry.kind == "dountil")


def _leaf(
    step: Step | Workflow, key: str, *, deferred: bool = False, quiet: bool = False
) -> LeafNode:
    if isinstance(step, Step):
        return StepNode(step, key, deferred=deferred, quiet=quiet)
    return NestedNode(step, key, deferred=deferred, quiet=quiet)


def schema_problems(
    entries: Sequence[Entry],
    input_schema: type[BaseModel] | None,
    output_schema: type[BaseModel] | None,
) -> list[str]:
    """Return every place where an output cannot feed the next input (empty when none)."""
    problems: list[str] = []
    shape: Shape = shape_of(input_schema)
    source = "the workflow's input"

    def check(value: Shape, step: Step | Workflow, producer: str) -> None:
        problem = feed_problem(value, step.input_schema)
        if problem is not None:
            problems.append(f"{producer} cannot feed step {step.id!r}: {problem}")

    for entry in entries:
        steps = entry.steps
        if entry.kind in ("parallel", "branch"):
            for step in steps:
                check(shape, step, source)
            outputs = {step.id: _output_shape(step, shape) for step in steps}
            shape = KeyedShape(outputs, every_key=entry.kind == "parallel")
            source = f"the {entry.kind} block {[step.id for step in steps]}"
            continue
        step = steps[0]
        if entry.kind == "foreach":
            if isinstance(shape, ModelShape | KeyedShape):
                problems.append(f"{source} is not a list, so foreach cannot run step {step.id!r}")
                item: Shape = ANY
            else:
                item = shape.item if isinstance(shape, ListShape) else ANY
            check(item, step, f"an item of {source}")
            shape = ListShape(_output_shape(step, item))
            source = f"the foreach of {step.id!r}"
            continue
        check(shape, step, source)
        shape = _output_shape(step, shape)
        if entry.kind in ("dountil", "dowhile"):
            check(shape, step, f"step {step.id!r} (its output is its next input in the loop)")
        source = f"step {step.id!r}"
    problem = feed_problem(shape, output_schema)
    if problem is not None:
        problems.append(f"{source} cannot be the workflow's output: {problem}")
    return problems


def _output_shape(step: Step | Workflow, given: Shape) -> Shape:
    if isinstance(step, Step) and step.passes_input_through:
        return given
    return shape_of(step.output_schema)
