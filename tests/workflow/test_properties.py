"""Property: random workflow trees give well-formed streams whose results agree with the events.

Trees mix sequences, parallel blocks, branches, nested workflows and steps that succeed
(sync, or async after some event-loop turns, some writing output), fail, or suspend until
resumed. An interpreter of the tree predicts which steps run and how the run ends.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Literal

from hypothesis import given
from hypothesis import strategies as st

from rxagents.testing import assert_well_formed
from rxagents.workflow import Step, StepContext, Workflow, WorkflowResult

Kind = Literal["sync", "async", "write", "fail", "suspend"]


@dataclass
class Leaf:
    kind: Kind
    turns: int = 0


@dataclass
class Parallel:
    leaves: list[Leaf | Nested]


@dataclass
class Branch:
    arms: list[tuple[bool, Leaf | Nested]]


@dataclass
class Nested:
    body: list[Node] = field(default_factory=list)


Node = Leaf | Parallel | Branch | Nested

leaves = st.builds(
    Leaf,
    kind=st.sampled_from(["sync", "async", "write", "fail", "suspend"]),
    turns=st.integers(0, 3),
)


def trees(depth: int = 2) -> st.SearchStrategy[list[Node]]:
    members: st.SearchStrategy[Leaf | Nested] = leaves
    if depth > 0:
        members = st.one_of(leaves, st.builds(Nested, trees(depth - 1)))
    nodes = st.one_of(
        members,
        st.builds(Parallel, st.lists(members, min_size=1, max_size=3)),
        st.builds(Branch, st.lists(st.tuples(st.booleans(), members), min_size=1, max_size=3)),
    )
    return st.lists(nodes, min_size=1, max_size=4)


# --- building the workflow -----------------------------------------------------------------


def make_step(step_id: str, leaf: Leaf) -> Step:
    async def execute(ctx: StepContext[Any]) -> Any:
        for _ in range(leaf.turns):
            await asyncio.sleep(0)
        if leaf.kind == "write":
            await ctx.writer.write({"from": step_id})
        if leaf.kind == "fail":
            raise RuntimeError(f"{step_id} failed")
        if leaf.kind == "suspend" and ctx.resume_data is None:
            await ctx.suspend({"at": step_id})
            return None
        return {"by": step_id}

    def execute_sync(ctx: StepContext[Any]) -> Any:
        return {"by": step_id}

    return Step(step_id, None, None, execute_sync if leaf.kind == "sync" else execute)


def build(body: list[Node], workflow_id: str, ids: count[int]) -> Workflow:
    workflow = Workflow(workflow_id)

    def member(item: Leaf | Nested) -> Step | Workflow:
        if isinstance(item, Leaf):
            return make_step(f"s{next(ids)}", item)
        return build(item.body, f"w{next(ids)}", ids)

    for node in body:
        if isinstance(node, Parallel):
            workflow.parallel([member(m) for m in node.leaves])
        elif isinstance(node, Branch):
            arms = [(lambda ctx, holds=holds: holds, member(m)) for holds, m in node.arms]
            workflow.branch(arms)
        else:
            workflow.then(member(node))
    return workflow.commit()


# --- the oracle: which steps run, how the first stream ends ---------------------------------


def predict(workflow: Workflow, tree: list[Node], prefix: str = "") -> tuple[str, set[str]]:
    """Return the first stream's status and the dotted ids of the steps it starts."""
    started: set[str] = set()
    entries = list(workflow._entries)

    def run_member(step: Step | Workflow, item: Leaf | Nested) -> str:
        started.add(prefix + step.id)
        if isinstance(step, Workflow):
            assert isinstance(item, Nested)
            status, inner = predict(step, item.body, prefix + step.id + ".")
            started.update(inner)
            return status
        assert isinstance(item, Leaf)
        return {"fail": "failed", "suspend": "suspended"}.get(item.kind, "success")

    def combine(statuses: list[str]) -> str:
        if "failed" in statuses:
            return "failed"
        return "suspended" if "suspended" in statuses else "success"

    for entry, node in zip(entries, tree, strict=True):
        if isinstance(node, Parallel):
            status = combine(
                [run_member(s, m) for s, m in zip(entry.steps, node.leaves, strict=True)]
            )
        elif isinstance(node, Branch):
            chosen = [
                run_member(s, m)
                for s, (holds, m) in zip(entry.steps, node.arms, strict=True)
                if holds
            ]
            status = combine(chosen)
        else:
            status = run_member(entry.steps[0], node)
        if status != "success":
            return status, started
    return "success", started


# --- checks -------------------------------------------------------------------------------


def check_stream(chunks: list[Any]) -> None:
    assert_well_formed(chunks)
    starts = Counter(c.payload.step_call_id for c in chunks if c.type == "workflow-step-start")
    ends = Counter(
        c.payload.step_call_id
        for c in chunks
        if c.type in ("workflow-step-result", "workflow-step-suspended")
    )
    assert starts == ends, "every started step gets exactly one result or suspension"
    assert set(starts.values()) <= {1}


def check_result(result: WorkflowResult, history: list[Any]) -> None:
    """``result.steps`` agrees with the last event seen for each step id."""
    last: dict[str, Any] = {}
    for chunk in history:
        if chunk.type in ("workflow-step-start", "workflow-step-result", "workflow-step-suspended"):
            last[chunk.payload.id] = chunk.payload
    assert set(result.steps) == set(last)
    for step_id, payload in last.items():
        record = result.steps[step_id]
        assert record.status == payload.status, step_id
        assert record.payload == payload.payload
        assert record.started_at == payload.started_at
        if payload.status == "success":
            assert record.output == payload.output
        elif payload.status == "failed":
            assert record.error is not None
            assert (record.error.name, record.error.message) == (
                payload.error.name,
                payload.error.message,
            )
        elif payload.status == "suspended":
            assert record.suspend_payload == payload.suspend_payload
    if result.status == "failed":
        assert result.error is not None
        assert any(r.status == "failed" for r in result.steps.values())


@given(tree=trees())
async def test_random_workflow_trees_stream_well_formed_and_agree_with_their_results(
    tree: list[Node],
) -> None:
    workflow = build(tree, "root", count())
    expected_status, expected_started = predict(workflow, tree)
    run = await workflow.create_run()
    stream = await run.stream()
    chunks = [chunk async for chunk in stream]
    check_stream(chunks)
    result = await stream.result
    started = {c.payload.id for c in chunks if c.type == "workflow-step-start"}
    assert started == expected_started
    assert result.status == expected_status
    assert getattr(chunks[-1].payload, "workflow_status", None) == expected_status
    history = list(chunks)
    check_result(result, history)

    resumes = 0
    while result.status == "suspended":
        resumes += 1
        assert resumes <= 20, "resuming must make progress"
        stream = await run.resume_stream(step=result.suspended[0], resume_data={"ok": True})
        chunks = [chunk async for chunk in stream]
        check_stream(chunks)
        history += chunks
        result = await stream.result
        check_result(result, history)
    assert result.status in ("success", "failed")
