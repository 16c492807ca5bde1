"""A RemoteAgent (served over loopback) as a network's sub-agent and as a workflow step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel

from rxagents import Agent, Runtime
from rxagents.adapters import RemoteAgent, create_app
from rxagents.agent import AgentLike
from rxagents.memory import Memory
from rxagents.models import ScriptedModel
from rxagents.operators import reduce_usage
from rxagents.testing import assert_well_formed
from rxagents.workflow import Workflow

from .conftest import Router, route, text_parts, verdict


@pytest.fixture
async def remote_research() -> AsyncIterator[RemoteAgent]:
    research = Agent(
        "research",
        model=ScriptedModel([text_parts("Dolphins sleep with half a brain.", 20, 7)], cycle=True),
        description="finds facts",
    )
    runner = web.AppRunner(create_app(Runtime(agents={"research": research})))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RemoteAgent(f"http://127.0.0.1:{port}", "research", description="finds facts")
    finally:
        await runner.cleanup()


async def test_a_remote_agent_is_a_network_sub_agent(remote_research: RemoteAgent) -> None:
    assert isinstance(remote_research, AgentLike)
    router = Router([route("research", "agent", "How do dolphins sleep?")], [verdict(True)])
    coordinator = Agent(
        "coordinator", model=router.model, agents={"research": remote_research}, memory=Memory()
    )
    network = await coordinator.network("Dolphins?")
    chunks = [chunk async for chunk in network]
    assert_well_formed(chunks)
    start = next(c for c in chunks if c.type == "agent-execution-start")
    inner = [c.payload for c in chunks if c.type.startswith("agent-execution-event-")]
    assert inner[0].type == "start"
    assert inner[-1].type == "finish"
    assert {c.run_id for c in inner} == {start.payload.run_id}  # the execution's id, as local
    end = next(c for c in chunks if c.type == "agent-execution-end")
    assert end.payload.result == "Dolphins sleep with half a brain."
    assert "finds facts" in str(router.routing_calls[0].prompt)
    usage = await network.usage
    reduced: list[Any] = []
    network.observable.pipe(reduce_usage()).subscribe(reduced.append)
    assert reduced == [usage]
    assert usage.input_tokens == 100 + 20 + 50


class Prompt(BaseModel):
    prompt: str


async def test_a_remote_agent_is_a_workflow_step(remote_research: RemoteAgent) -> None:
    workflow = Workflow("ask", Prompt).then(remote_research).commit()
    run = await workflow.create_run()
    stream = await run.stream(input_data={"prompt": "Dolphins?"})
    chunks = [chunk async for chunk in stream]
    assert_well_formed(chunks)
    assert await stream.status == "success"
    assert (await stream.result).result == {"text": "Dolphins sleep with half a brain."}
    assert (await stream.usage).input_tokens == 20
