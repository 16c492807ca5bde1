"""Steps, schemas and helpers shared by the workflow tests."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from rxagents.testing import assert_well_formed
from rxagents.workflow import Step, StepContext, Workflow, WorkflowStream


class N(BaseModel):
    n: int


class Approval(BaseModel):
    ok: bool


class Why(BaseModel):
    why: str


async def _inc(ctx: StepContext[N]) -> dict[str, int]:
    await ctx.writer.write({"custom": "hello", "n": ctx.input_data.n})
    return {"n": ctx.input_data.n + 1}


def _dbl(ctx: StepContext[N]) -> N:
    return N(n=ctx.input_data.n * 2)


def _boom(ctx: StepContext[N]) -> N:
    raise RuntimeError("step exploded")


async def _ask(ctx: StepContext[N]) -> N | None:
    if ctx.resume_data is None:
        await ctx.suspend({"why": "need approval"})
        return None
    assert isinstance(ctx.resume_data, Approval)
    return N(n=ctx.input_data.n if ctx.resume_data.ok else -1)


def inc(id: str = "inc") -> Step:
    """``n + 1``; writes ``{custom: hello, n}`` first (async)."""
    return Step(id, N, N, _inc)


def dbl(id: str = "dbl") -> Step:
    """``n * 2`` (sync)."""
    return Step(id, N, N, _dbl)


def boom(id: str = "boom") -> Step:
    """Always raises ``RuntimeError('step exploded')``."""
    return Step(id, N, N, _boom)


def ask(id: str = "ask") -> Step:
    """Suspends with ``{why}`` until resumed with ``{ok}``; then passes ``n`` on (or -1)."""
    return Step(id, N, N, _ask, suspend_schema=Why, resume_schema=Approval)


def later(id: str, delay: int = 1, *, fail: bool = False) -> Step:
    """``n + 1`` after ``delay`` event-loop turns (or fails then)."""

    async def execute(ctx: StepContext[N]) -> N:
        for _ in range(delay):
            await asyncio.sleep(0)
        if fail:
            raise ValueError(f"{id} failed")
        return N(n=ctx.input_data.n + 1)

    return Step(id, N, N, execute)


async def collect(stream: WorkflowStream, *, check: bool = True) -> list[Any]:
    chunks = [chunk async for chunk in stream]
    if check:
        assert_well_formed(chunks)
    return chunks


async def run_workflow(
    workflow: Workflow, input_data: Any = None, **kwargs: Any
) -> tuple[list[Any], WorkflowStream]:
    run = await workflow.create_run(**kwargs)
    stream = await run.stream(input_data=input_data)
    return await collect(stream), stream


def events(chunks: list[Any]) -> list[tuple[str, str | None]]:
    """``(type, step id)`` per chunk (``stepName`` for step output, None for run chunks)."""
    out: list[tuple[str, str | None]] = []
    for chunk in chunks:
        payload = chunk.payload
        if chunk.type == "workflow-step-output":
            out.append((chunk.type, payload.step_name))
        else:
            out.append((chunk.type, getattr(payload, "id", None)))
    return out


def wire(chunk: Any) -> dict[str, Any]:
    data: dict[str, Any] = chunk.model_dump(mode="json", by_alias=True)
    return data
