"""ObservedRun: any agent's chunks with the run id set, and closing chunks on cancellation."""

from __future__ import annotations

from reactivex.subject import Subject

from rxagents.agent._observed import ObservedRun
from rxagents.events import (
    Chunk,
    Start,
    StartPayload,
    TextBlockPayload,
    TextDelta,
    TextDeltaPayload,
    TextStart,
    ToolCallInputStreamingStart,
    ToolCallInputStreamingStartPayload,
)
from rxagents.testing import assert_well_formed


def test_observed_run_renames_runs_and_closes_open_blocks() -> None:
    source: Subject[Chunk] = Subject()
    run = ObservedRun(source, "exec-1")
    seen: list[Chunk] = []
    run.observable().subscribe(seen.append)
    source.on_next(Start(run_id="remote", payload=StartPayload(id="a")))
    source.on_next(TextStart(run_id="remote", payload=TextBlockPayload(id="t")))
    source.on_next(TextDelta(run_id="remote", payload=TextDeltaPayload(id="t", text="x")))
    source.on_next(
        ToolCallInputStreamingStart(
            run_id="remote",
            payload=ToolCallInputStreamingStartPayload(tool_call_id="c", tool_name="w"),
        )
    )
    assert {c.run_id for c in seen} == {"exec-1"}
    closing = run.closing_chunks()
    assert [c.type for c in closing] == ["text-end", "tool-call-input-streaming-end", "abort"]
    assert {c.run_id for c in closing} == {"exec-1"}


def test_a_finished_run_has_nothing_to_close() -> None:
    source: Subject[Chunk] = Subject()
    run = ObservedRun(source, "exec-1")
    run.observable().subscribe(lambda _: None)
    from rxagents.events import Abort

    source.on_next(Abort(run_id="remote"))
    assert run.closing_chunks() == []
    assert_well_formed(
        [Start(run_id="exec-1", payload=StartPayload(id="a")), Abort(run_id="exec-1")]
    )
