"""The fluent builder: every method, commit-time checks, schema compatibility errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from rxagents.errors import ConfigurationError
from rxagents.workflow import Step, Workflow

from .conftest import N, dbl, inc, run_workflow


class Name(BaseModel):
    name: str


class Score(BaseModel):
    score: float


class Both(BaseModel):
    n: int
    name: str


class Optional_(BaseModel):
    extra: str = "default"


def step(id: str, inp: type[BaseModel] | None, out: type[BaseModel] | None) -> Step:
    return Step(id, inp, out, lambda ctx: None)


def test_every_builder_method_returns_the_workflow_for_chaining() -> None:
    workflow = Workflow("wf", N)
    chained = (
        workflow.then(inc())
        .parallel([inc("a"), dbl("b")])
        .map(lambda ctx: {"n": ctx.input_data["a"]["n"]}, output_schema=N)
        .branch([(lambda ctx: True, inc("c"))])
        .map(lambda ctx: ctx.input_data["c"], output_schema=N)
        .dountil(inc("d"), lambda ctx: True)
        .dowhile(inc("e"), lambda ctx: False)
        .map(lambda ctx: [ctx.input_data])
        .foreach(dbl("f"), concurrency=2)
        .sleep(0)
    )
    assert chained is workflow
    assert chained.commit() is workflow
    assert workflow.committed
    assert set(workflow.steps) >= {"inc", "a", "b", "c", "d", "e", "f", "mapping_wf_0"}


async def test_the_whole_builder_vocabulary_runs() -> None:
    workflow = (
        Workflow("wf", N)
        .then(inc())
        .parallel([inc("a"), dbl("b")])
        .map(
            lambda ctx: {"n": ctx.input_data["a"]["n"] + ctx.input_data["b"]["n"]}, output_schema=N
        )
        .branch([(lambda ctx: ctx.input_data["n"] > 5, inc("big")), (lambda ctx: False, dbl("x"))])
        .map(lambda ctx: ctx.input_data["big"], output_schema=N)
        .dountil(inc("d"), lambda ctx: ctx.input_data["n"] >= 10)
        .dowhile(dbl("e"), lambda ctx: ctx.input_data["n"] < 30)
        .map(lambda ctx: [ctx.input_data, {"n": 1}])
        .foreach(dbl("f"), concurrency=2)
        .sleep(0)
        .commit()
    )
    _, stream = await run_workflow(workflow, {"n": 1})
    assert (await stream.result).result == [{"n": 80}, {"n": 2}]


def test_commit_needs_steps_and_freezes_the_flow() -> None:
    with pytest.raises(ConfigurationError, match="has no steps"):
        Workflow("empty").commit()
    workflow = Workflow("wf").then(inc()).commit()
    assert workflow.commit() is workflow  # idempotent
    with pytest.raises(ConfigurationError, match="is committed"):
        workflow.then(dbl())


async def test_an_uncommitted_workflow_cannot_run_or_be_nested() -> None:
    draft = Workflow("draft").then(inc())
    with pytest.raises(ConfigurationError, match="not committed"):
        await draft.create_run()
    with pytest.raises(ConfigurationError, match="not committed"):
        _ = draft.observe({"n": 1})
    with pytest.raises(ConfigurationError, match="nested workflow 'draft' is not committed"):
        Workflow("outer").then(draft).commit()


def test_a_workflow_cannot_contain_itself() -> None:
    workflow = Workflow("loop").then(inc())
    with pytest.raises(ConfigurationError, match="contains itself"):
        workflow.then(workflow).commit()


def test_bad_definitions_are_refused_with_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="without dots"):
        Step("a.b", None, None, lambda ctx: None)
    with pytest.raises(ConfigurationError, match="execute function"):
        Step("a", None, None, None)
    with pytest.raises(ConfigurationError, match="pydantic model class"):
        Step("a", dict, None, lambda ctx: None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="without dots"):
        Workflow("a.b")
    with pytest.raises(ConfigurationError, match="pydantic model class"):
        Workflow("a", int)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not a Step"):
        Workflow("wf").then("inc")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="distinct ids"):
        Workflow("wf").parallel([inc(), inc()])
    with pytest.raises(ConfigurationError, match="at least one step"):
        Workflow("wf").parallel([])
    with pytest.raises(ConfigurationError, match=r"\(condition, step\) pairs"):
        Workflow("wf").branch([inc()])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="condition function"):
        Workflow("wf").dountil(inc(), None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="concurrency"):
        Workflow("wf").foreach(inc(), concurrency=0)
    with pytest.raises(ConfigurationError, match="seconds"):
        Workflow("wf").sleep(-1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Workflow("wf", N).then(step("needs-name", Name, None)),
            "the workflow's input cannot feed step 'needs-name': Name needs field 'name'",
        ),
        (
            lambda: Workflow("wf", Name).then(step("wants-int", N, None)),
            "Name needs field|N needs field 'n'",
        ),
        (
            lambda: Workflow("wf").then(step("s", None, Name)).then(step("t", Score, None)),
            "step 's' cannot feed step 't': Score needs field 'score'",
        ),
        (
            lambda: Workflow("wf").then(step("s", None, Name)).then(step("t", N, None)),
            "N needs field 'n'",
        ),
        (
            lambda: Workflow("wf").then(step("s", None, Both)).then(step("t", Name, Name)),
            None,
        ),
        (
            lambda: Workflow("wf", None, N).then(step("s", None, Name)),
            "step 's' cannot be the workflow's output",
        ),
        (
            lambda: Workflow("wf", N).parallel([inc("a"), dbl("b")]).then(step("t", N, None)),
            "parallel block ['a', 'b'] cannot feed step 't'",
        ),
        (
            lambda: Workflow("wf", N).then(inc()).foreach(dbl()),
            "step 'inc' is not a list, so foreach cannot run step 'dbl'",
        ),
        (
            lambda: Workflow("wf").foreach(step("f", None, N)).then(step("t", N, None)),
            "a list cannot feed N",
        ),
        (
            lambda: Workflow("wf").dountil(step("loop", N, Name), lambda ctx: True),
            "its output is its next input in the loop",
        ),
    ],
)
def test_commit_checks_that_each_output_can_feed_the_next_input(
    build: Any, message: str | None
) -> None:
    workflow = build()
    if message is None:
        workflow.commit()
        return
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        workflow.commit()


def test_compatible_shapes_pass_the_commit_check() -> None:
    class Alias(BaseModel):
        n: int = Field(alias="count")

    class FloatScore(BaseModel):
        score: float

    class IntScore(BaseModel):
        score: int

    Workflow("a", N).then(step("opt", Optional_, None)).commit()  # optional fields need nothing
    Workflow("b", IntScore).then(step("f", FloatScore, None)).commit()  # int feeds float
    Workflow("c").then(step("s", None, N)).then(step("x", None, None)).commit()  # any input
    Workflow("d", N).parallel([inc("a")]).then(step("t", None, None)).commit()
    Workflow("e").then(step("s", None, None)).then(step("t", N, None)).commit()  # unknown shape
    Workflow("f", Alias).then(step("t", Alias, None)).commit()
    keyed = Workflow("g", N).parallel([inc("n")]).then(step("t", Both, None))
    with pytest.raises(ConfigurationError, match="'name'"):
        keyed.commit()


def test_a_commit_error_lists_every_problem() -> None:
    workflow = Workflow("wf", N).then(step("a", Name, Name)).then(step("b", Score, None))
    with pytest.raises(ConfigurationError) as caught:
        workflow.commit()
    assert str(caught.value).count("\n- ") == 2


def test_find_step_follows_nested_ids() -> None:
    leaf = inc("leaf")
    inner = Workflow("inner", N, N).then(leaf).commit()
    outer = Workflow("outer", N, N).then(inner).commit()
    assert outer.find_step(["inner", "leaf"]) is leaf
    assert outer.find_step(["inner"]) is inner
    assert outer.find_step(["nope"]) is None
    assert outer.find_step([]) is None
