"""A workflow run in a child process: ``start`` suspends it, ``resume`` finishes it.

Usage: ``python _process_workflow.py (start|resume) DB_PATH RUN_ID``; prints the chunk types
and the result as JSON on stdout. Both processes build the workflow anew (same definition)
over the same SQLite file, as two deployments of one app would.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from pydantic import BaseModel

from rxagents.runtime import Runtime
from rxagents.storage import SqliteStorage
from rxagents.workflow import Step, StepContext, Workflow


class N(BaseModel):
    n: int


class Approval(BaseModel):
    ok: bool


async def ask(ctx: StepContext[N]) -> N | None:
    if ctx.resume_data is None:
        await ctx.suspend({"why": "need approval", "pid_n": ctx.input_data.n})
        return None
    return N(n=ctx.input_data.n * 10 if ctx.resume_data.ok else -1)


def build() -> Workflow:
    inc = Step("inc", N, N, lambda ctx: {"n": ctx.input_data.n + 1})
    inner = Workflow("approval", N, N).then(Step("ask", N, N, ask, resume_schema=Approval))
    return Workflow("proc-wf", N, N).then(inc).then(inner.commit()).then(inc).commit()


async def main(mode: str, path: str, run_id: str) -> dict[str, Any]:
    storage = SqliteStorage(path)
    runtime = Runtime(workflows={"proc": build()}, storage=storage)
    workflow = runtime.get_workflow("proc")
    run = await workflow.create_run(run_id=run_id)
    if mode == "start":
        stream = await run.stream(input_data={"n": 1})
    else:
        stream = await run.resume_stream(step=["approval", "ask"], resume_data={"ok": True})
    chunks = [chunk.model_dump(mode="json", by_alias=True) async for chunk in stream]
    result = await stream.result
    await storage.close()
    return {"chunks": chunks, "result": result.to_json()}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(asyncio.run(main(*sys.argv[1:4]))) + "\n")
