"""A network call is checked before anything runs; what the router and the check are given."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rxagents import Agent
from rxagents.errors import ConfigurationError, InvalidInputError, ThreadOwnershipError
from rxagents.memory import Memory
from rxagents.models import ScriptedModel, ScriptedModelV1
from rxagents.network import CHECK_FORMAT, ROUTING_FORMAT, CompletionVerdict, RoutingDecision
from rxagents.workflow import Step, Workflow

from .conftest import MEMORY, ReportIn, ReportOut, Router, network_agent, route, verdict


async def test_a_network_without_memory_is_refused_before_anything_runs() -> None:
    router = Router([route("research", "agent", "x")])
    agent = Agent(
        "coordinator",
        model=router.model,
        agents={"research": Agent("research", model=ScriptedModel([]))},
    )
    with pytest.raises(ConfigurationError, match=r"has no memory.*Memory\(\)"):
        await agent.network("Task", memory=MEMORY)
    with pytest.raises(ConfigurationError, match="has no memory"):
        _ = agent.observe_network("Task")
    assert router.routing_calls == []
    assert router.model.calls == []


async def test_a_network_needs_something_to_route_to() -> None:
    agent = Agent("lonely", model=ScriptedModel([]), memory=Memory())
    with pytest.raises(ConfigurationError, match="no agents, workflows or tools"):
        await agent.network("Task")


@pytest.mark.parametrize(
    ("task", "options", "error", "match"),
    [
        ("", {}, InvalidInputError, "needs a task"),
        ([{"role": "assistant", "content": "hi"}], {}, InvalidInputError, "needs a task"),
        (42, {}, TypeError, "messages must be"),
        ("Task", {"memory": {"resource": "u"}}, InvalidInputError, "needs a thread"),
        ("Task", {"memory": "thread-1"}, InvalidInputError, "memory must be a dict"),
        ("Task", {"max_steps": 0}, InvalidInputError, "max_steps"),
        ("Task", {"max_steps": True}, InvalidInputError, "max_steps"),
        ("Task", {"run_id": ""}, InvalidInputError, "run_id"),
        ("Task", {"instructions": 3}, InvalidInputError, "instructions"),
        ("Task", {"output": ReportOut}, TypeError, "unknown option"),
        ("Task", {"colour": "red"}, TypeError, "unknown option"),
    ],
)
async def test_bad_calls_are_refused(
    task: Any, options: dict[str, Any], error: type[Exception], match: str
) -> None:
    router = Router([])
    agent = network_agent(router)
    with pytest.raises(error, match=match):
        await agent.network(task, **options)
    with pytest.raises(error, match=match):
        _ = agent.observe_network(task, **options)
    assert router.model.calls == []


async def test_a_v1_model_cannot_route() -> None:
    agent = Agent(
        "old",
        model=ScriptedModelV1([]),
        agents={"a": Agent("a", model=ScriptedModel([]))},
        memory=Memory(),
    )
    with pytest.raises(ConfigurationError, match="v1 model"):
        await agent.network("Task")


async def test_a_thread_of_another_resource_is_refused() -> None:
    memory = Memory()
    await memory.create_thread(resource_id="alice", thread_id="private")
    agent = network_agent(Router([]), memory=memory)
    with pytest.raises(ThreadOwnershipError, match="belongs to another resource"):
        await agent.network("Task", memory={"thread": "private", "resource": "mallory"})
    source = agent.observe_network("Task", memory={"thread": "private", "resource": "mallory"})
    with pytest.raises(ThreadOwnershipError, match="belongs to another resource"):
        await source  # on subscribe: the thread is opened first, the run fails


def test_agents_and_workflows_are_checked_when_the_agent_is_built() -> None:
    model = ScriptedModel([])
    with pytest.raises(ConfigurationError, match="agents\\['x'\\] is not an Agent"):
        Agent("a", model=model, agents={"x": object()})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="agents must be a dict"):
        Agent("a", model=model, agents=[Agent("b", model=model)])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="is not a Workflow"):
        Agent("a", model=model, workflows={"w": "flow"})  # type: ignore[dict-item]
    uncommitted = Workflow("w", ReportIn, ReportOut).then(
        Step("s", ReportIn, ReportOut, lambda ctx: {"report": ""})
    )
    with pytest.raises(ConfigurationError, match="not committed"):
        Agent("a", model=model, workflows={"w": uncommitted})
    with pytest.raises(ConfigurationError, match=r"must be a rxagents\.memory\.Memory"):
        Agent("a", model=model, memory={"thread": "t"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Agent("a", model=model, colour="red")  # type: ignore[call-arg]


async def test_the_router_is_told_the_primitives_and_the_schema() -> None:
    router = Router([route("research", "agent", "x")], [verdict(True, "done")])
    agent = network_agent(router)
    stream = await agent.network("Research dolphins", memory=MEMORY, temperature=0.1)
    await stream.result
    call = router.routing_calls[0]
    assert call.response_format == ROUTING_FORMAT
    assert call.temperature == 0.1
    system = call.prompt[0]["content"]
    assert "Coordinate the research." in system
    assert "- research: finds facts" in system
    assert "- report: writes a report on a topic" in system
    assert '"topic"' in system  # the workflow's input schema
    assert "- word_count: Count the words of a text." in system
    assert call.prompt[-1]["content"][0]["text"].startswith("Task: Research dolphins")
    check = router.check_calls[0]
    assert check.response_format == CHECK_FORMAT
    assert "Dolphins are mammals." in check.prompt[-1]["content"][0]["text"]


def test_the_structured_output_schemas_are_mastras() -> None:
    routing = ROUTING_FORMAT["schema"]
    assert set(routing["properties"]) == {
        "primitiveId",
        "primitiveType",
        "prompt",
        "selectionReason",
    }
    assert set(routing["required"]) == set(routing["properties"])
    assert routing["properties"]["primitiveType"]["enum"] == ["agent", "workflow", "tool", "none"]
    check = CHECK_FORMAT["schema"]
    assert set(check["properties"]) == {"isComplete", "completionReason", "finalResult"}
    assert set(check["required"]) == {"isComplete", "completionReason"}
    decision = RoutingDecision.model_validate_json(
        json.dumps(
            {
                "primitiveId": "a",
                "primitiveType": "agent",
                "prompt": {"x": 1},
                "selectionReason": "r",
            }
        )
    )
    assert decision.prompt == '{"x": 1}'
    assert CompletionVerdict(is_complete=True, completion_reason="r").final_result is None


async def test_instructions_and_run_id_can_be_given_per_run() -> None:
    router = Router([route("research", "agent", "x")], [verdict(True, "done")])
    stream = await network_agent(router).network(
        "Task", memory=MEMORY, instructions="Be thorough.", run_id="net-1"
    )
    await stream.result
    assert stream.run_id == "net-1"
    assert "Be thorough." in router.routing_calls[0].prompt[0]["content"]
    assert "Be thorough." in router.check_calls[0].prompt[0]["content"]


async def test_the_task_is_the_last_user_message() -> None:
    router = Router([route("research", "agent", "x")], [verdict(True, "done")])
    stream = await network_agent(router).network(
        [{"role": "user", "content": "old question"}, "Research whales"], memory=MEMORY
    )
    assert (await stream.result).task == "Research whales"
