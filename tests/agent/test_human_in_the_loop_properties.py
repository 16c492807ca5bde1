"""Property: random approve / decline / suspend / resume sequences add up to one good run."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import BaseModel
from reactivex import from_iterable
from reactivex import operators as ops

from rxagents import Agent, ToolContext
from rxagents.agent import tool
from rxagents.events import AgentChunk, Finish, ToolCallSuspendedPayload
from rxagents.models import ScriptedModel
from rxagents.operators import reduce_usage
from rxagents.testing import assert_well_formed
from rxagents.testing.strategies import agent_scripts
from tests.agent.test_agent_properties import scripted_texts, scripted_usage


@tool(require_approval=True)
def gated(city: str) -> dict[str, str]:
    """Needs approval."""
    return {"city": city}


class Reply(BaseModel):
    answer: str


@tool(resume_schema=Reply)
async def asker(q: str, ctx: ToolContext) -> dict[str, str]:
    """Suspends until answered."""
    if ctx.resume_data is None:
        await ctx.suspend({"question": q})
    assert isinstance(ctx.resume_data, Reply)
    return {"answer": ctx.resume_data.answer}


@tool
def plain(n: int) -> int:
    """Runs at once."""
    return n


TOOLS = {
    "gated": st.fixed_dictionaries({"city": st.text(max_size=4)}),
    "asker": st.fixed_dictionaries({"q": st.text(max_size=4)}),
    "plain": st.fixed_dictionaries({"n": st.integers(0, 9)}),
}


@given(
    script=agent_scripts(tools=TOOLS, min_steps=1, max_steps=4, max_tool_calls=2),
    data=st.data(),
)
async def test_paused_and_resumed_streams_add_up(
    script: list[list[dict[str, Any]]], data: st.DataObject
) -> None:
    agent = Agent(
        "hitl-prop", model=ScriptedModel(script), tools=[gated, asker, plain], max_steps=5
    )
    stream = await agent.stream("go")
    run_id = stream.run_id
    streams: list[list[AgentChunk]] = []
    while True:
        chunks = [chunk async for chunk in stream]
        streams.append(chunks)
        assert_well_formed(chunks)
        if await stream.finish_reason != "suspended":
            break
        pending = data.draw(st.sampled_from(await stream.pending_tool_calls))
        if isinstance(pending, ToolCallSuspendedPayload):
            answer = data.draw(st.sampled_from([{"answer": "yes"}, {"wrong": 1}]))
            stream = await agent.resume_stream(
                answer, run_id=run_id, tool_call_id=pending.tool_call_id
            )
        elif data.draw(st.booleans()):
            stream = await agent.approve_tool_call(run_id, pending.tool_call_id)
        else:
            reason = data.draw(st.sampled_from([None, "no"]))
            stream = await agent.decline_tool_call(run_id, pending.tool_call_id, reason=reason)
        assert stream.run_id == run_id
    event(f"resumes: {len(streams) - 1}")
    whole = [chunk for chunks in streams for chunk in chunks]
    assert_well_formed(whole)
    assert isinstance(whole[-1], Finish)
    total = await from_iterable(whole).pipe(reduce_usage(), ops.to_future())
    assert total == scripted_usage(script)
    assert (await stream.usage).counters() == total.counters()
    deltas = [c.payload.text for c in whole if c.type == "text-delta"]
    assert deltas == [d for step in script for d in scripted_texts(step)]
    assert await agent.list_suspended_runs() == []
