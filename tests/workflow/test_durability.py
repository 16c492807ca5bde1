"""Runs you can trust across streams, objects and processes sharing one storage.

Of concurrent resumptions of a suspended run exactly one runs the step; a suspension reaches
readers only once storage says so; each step that ends is saved, so a run whose process died
is visible as ``running`` with its steps done; every backend behaves alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rxagents.storage import InMemoryStorage, SqliteStorage, Storage
from rxagents.testing import assert_well_formed
from rxagents.workflow import SNAPSHOT_NAMESPACE, RunStateError, Step, StepContext, Workflow

from .conftest import N, ask, collect, dbl, inc, later

Opener = Callable[[], Storage]


def counted_approval(storage: Storage, ran: list[Any]) -> Workflow:
    """inc → approve (suspends; counts each resumed execution in ``ran``) → dbl."""

    async def approve(ctx: StepContext[N]) -> N | None:
        if ctx.resume_data is None:
            await ctx.suspend({"why": "need approval"})
            return None
        ran.append(ctx.resume_data)
        await asyncio.sleep(0)  # let the other resumptions try meanwhile
        return N(n=ctx.input_data.n * 10)

    step = Step("approve", N, N, approve)
    return Workflow("wf-claim", N, N, storage=storage).then(inc()).then(step).then(dbl()).commit()


async def test_of_concurrent_resumes_exactly_one_runs_the_step(open_storage: Opener) -> None:
    ran: list[Any] = []
    first = counted_approval(open_storage(), ran)
    run = await first.create_run(run_id="r1")
    assert (await run.start(input_data={"n": 1})).status == "suspended"

    workflows = [counted_approval(open_storage(), ran) for _ in range(3)]
    runs = [await workflows[i % 3].create_run(run_id="r1") for i in range(8)]

    async def resume(index: int) -> Any:
        try:
            return await runs[index].resume(resume_data={"by": index})
        except RunStateError as error:
            return error

    outcomes = await asyncio.gather(*(resume(i) for i in range(8)))
    results = [o for o in outcomes if not isinstance(o, RunStateError)]
    refused = [o for o in outcomes if isinstance(o, RunStateError)]
    assert len(results) == 1
    assert len(refused) == 7
    assert len(ran) == 1
    assert results[0].status == "success"
    assert results[0].result == {"n": 40}
    stored = await first.get_run_result("r1")
    assert stored is not None
    assert stored.status == "success"
    assert stored.steps["approve"].resume_payload == ran[0]


async def test_concurrent_resumes_of_one_run_object_run_the_step_once() -> None:
    ran: list[Any] = []
    workflow = counted_approval(InMemoryStorage(), ran)
    run = await workflow.create_run()
    await run.start(input_data={"n": 1})
    outcomes = await asyncio.gather(
        *(run.resume(resume_data={"by": i}) for i in range(4)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, RunStateError) for o in outcomes if isinstance(o, BaseException))
    assert len(ran) == 1


async def test_a_run_id_starts_once_across_run_objects(open_storage: Opener) -> None:
    workflow = Workflow("wf-once", N, N, storage=open_storage()).then(dbl()).commit()
    other = Workflow("wf-once", N, N, storage=open_storage()).then(dbl()).commit()
    one, two = await workflow.create_run(run_id="same"), await other.create_run(run_id="same")
    outcomes = await asyncio.gather(
        one.stream(input_data={"n": 1}), two.stream(input_data={"n": 2}), return_exceptions=True
    )
    streams = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(streams) == 1
    assert any(isinstance(o, RunStateError) for o in outcomes)
    assert (await streams[0].result).status == "success"


async def test_a_suspension_reaches_readers_after_storage_says_so(open_storage: Opener) -> None:
    storage = open_storage()
    workflow = Workflow("wf-seq", N, N, storage=storage).then(inc()).then(ask()).commit()
    run = await workflow.create_run(run_id="seq")
    stream = await run.stream(input_data={"n": 1})
    async for chunk in stream:
        if chunk.type == "workflow-step-suspended":
            entry = await open_storage().get_entry(SNAPSHOT_NAMESPACE, "wf-seq/seq")
            assert entry is not None
            assert entry.status == "suspended"
            assert entry.value["suspended"] == [["ask"]]
            # Another process can resume it now, before this stream is even read to its end.
            again = Workflow("wf-seq", N, N, storage=open_storage()).then(inc()).then(ask())
            other = await again.commit().create_run(run_id="seq")
            assert other.status == "suspended"
            resumed = await other.resume(resume_data={"ok": True})
            assert resumed.result == {"n": 2}
    assert (await stream.result).status == "suspended"


async def test_a_suspension_beside_a_running_step_is_saved_before_it_is_seen(
    open_storage: Opener,
) -> None:
    storage = open_storage()
    release = asyncio.Event()

    async def slow(ctx: StepContext[N]) -> N:
        await release.wait()
        return N(n=ctx.input_data.n + 100)

    def build(into: Storage) -> Workflow:
        block = [ask(), Step("slow", N, N, slow)]
        return Workflow("wf-par", N, None, storage=into).parallel(block).commit()

    run = await build(storage).create_run(run_id="par")
    stream = await run.stream(input_data={"n": 1})
    chunks = []
    async for chunk in stream:
        chunks.append(chunk)
        if chunk.type == "workflow-step-suspended":
            entry = await open_storage().get_entry(SNAPSHOT_NAMESPACE, "wf-par/par")
            assert entry is not None
            assert entry.status == "running"  # "slow" still runs: not resumable yet
            assert entry.value["suspended"] == [["ask"]]
            assert entry.value["steps"]["ask"]["status"] == "suspended"
            elsewhere = await build(open_storage()).create_run(run_id="par")
            with pytest.raises(RunStateError, match="running"):
                await elsewhere.resume(step="ask", resume_data={"ok": True})
            release.set()
    assert_well_formed(chunks)
    assert (await stream.result).status == "suspended"
    stored = await build(open_storage()).get_run_result("par")
    assert stored is not None
    assert stored.status == "suspended"
    assert stored.steps["slow"].output == {"n": 101}


async def test_each_finished_step_is_saved_while_the_run_goes_on(open_storage: Opener) -> None:
    storage = open_storage()
    entered = asyncio.Event()

    async def hang(ctx: StepContext[N]) -> N:
        entered.set()
        await asyncio.Event().wait()
        return ctx.input_data

    def build(into: Storage) -> Workflow:
        flow = Workflow("wf-crash", N, N, storage=into).then(inc()).then(dbl())
        return flow.then(Step("hang", N, N, hang)).commit()

    run = await build(storage).create_run(run_id="crash")
    stream = await run.stream(input_data={"n": 1})
    await entered.wait()
    await run.saved()
    # What another process sees now, and would see forever had this process died here.
    observer = build(open_storage())
    seen = await observer.create_run(run_id="crash")
    assert seen.status == "running"
    with pytest.raises(RunStateError, match="already started"):
        await seen.stream(input_data={"n": 5})
    with pytest.raises(RunStateError, match="running"):
        await seen.resume()
    result = await observer.get_run_result("crash")
    assert result is not None
    assert result.status == "running"
    assert result.steps["inc"].status == "success"
    assert result.steps["dbl"].output == {"n": 4}
    assert result.steps["hang"].status == "running"
    assert [r.run_id for r in await observer.list_runs(status="running")] == ["crash"]
    stream.cancel()
    await collect(stream, check=False)


async def test_snapshots_written_as_a_loop_goes_keep_its_latest_records(
    open_storage: Opener,
) -> None:
    storage = open_storage()

    async def done(ctx: StepContext[Any]) -> bool:
        await asyncio.sleep(0)  # a write while "again" is ended, before the next iteration
        return bool(ctx.input_data["n"] >= 6)

    flow = Workflow("wf-loop-saved", N, N, storage=storage).then(later("first"))
    flow = flow.dountil(later("again"), done)
    workflow = flow.then(later("last")).commit()
    run = await workflow.create_run(run_id="loop")
    stream = await run.stream(input_data={"n": 0})
    assert (await stream.result).result == {"n": 7}
    final = await storage.get(SNAPSHOT_NAMESPACE, "wf-loop-saved/loop")
    assert isinstance(final, dict)
    assert {key: step["output"] for key, step in final["steps"].items()} == {
        "first": {"n": 1},
        "again": {"n": 6},
        "last": {"n": 7},
    }


async def test_list_runs_filters_by_status(open_storage: Opener) -> None:
    workflow = Workflow("wf-list", N, N, storage=open_storage()).then(ask()).commit()
    for run_id in ["a", "b"]:
        await (await workflow.create_run(run_id=run_id)).start(input_data={"n": 1})
    await (await workflow.create_run(run_id="b")).resume(resume_data={"ok": True})
    assert [r.run_id for r in await workflow.list_runs(status="suspended")] == ["a"]
    assert [r.run_id for r in await workflow.list_runs(status="success")] == ["b"]
    assert [r.run_id for r in await workflow.list_runs()] == ["a", "b"]


async def test_a_cancelled_resumption_puts_the_suspended_run_back(open_storage: Opener) -> None:
    storage = open_storage()
    entered = asyncio.Event()

    async def wait(ctx: StepContext[N]) -> N:
        if ctx.resume_data is None:
            await ctx.suspend({})
            return ctx.input_data
        entered.set()
        await asyncio.Event().wait()
        return ctx.input_data

    workflow = Workflow("wf-back", N, N, storage=storage).then(Step("w", N, N, wait)).commit()
    run = await workflow.create_run(run_id="back")
    await run.start(input_data={"n": 1})
    stream = await run.resume_stream(resume_data={"go": 1})
    await entered.wait()
    stream.cancel()
    await collect(stream, check=False)
    second = await run.resume_stream(resume_data={"go": 2})  # suspended again: it resumes
    entry = await open_storage().get_entry(SNAPSHOT_NAMESPACE, "wf-back/back")
    assert entry is not None
    assert entry.status == "running"  # claimed by the second resumption
    second.cancel()
    await collect(second, check=False)


async def test_a_suspension_that_cannot_be_saved_fails_the_run(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "closing.db")
    entered, release = asyncio.Event(), asyncio.Event()

    async def gate(ctx: StepContext[N]) -> N:
        entered.set()
        await release.wait()
        return ctx.input_data

    workflow = Workflow("wf-lost", N, N, storage=storage)
    workflow = workflow.then(Step("gate", N, N, gate)).then(ask()).commit()
    run = await workflow.create_run()
    stream = await run.stream(input_data={"n": 1})
    await entered.wait()
    await storage.close()  # the database is gone when the step suspends
    release.set()
    chunks = await collect(stream)
    finish = chunks[-1].model_dump(by_alias=True)["payload"]
    assert finish["workflowStatus"] == "failed"
    assert "snapshotError" in finish["metadata"]
    result = await stream.result
    assert result.status == "failed"
    assert result.error is not None
    assert "cannot be resumed" in result.error.message
