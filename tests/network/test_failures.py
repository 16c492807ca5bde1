"""Bad routing output, failing primitives and failing checks never crash a network run."""

from __future__ import annotations

from typing import Any

import pytest

from rxagents import Agent
from rxagents.models import ScriptedModel
from rxagents.testing import assert_well_formed
from rxagents.workflow import StepContext

from .conftest import (
    MEMORY,
    ReportIn,
    Router,
    collect,
    network_agent,
    of_type,
    outer,
    prompt_text,
    report_workflow,
    route,
    text_parts,
    verdict,
)

RECOVERY = route("research", "agent", "Find facts")

BAD_ROUTING: list[tuple[str, Any, str]] = [
    ("invalid-json", '{"primitiveId": "research", "primitiveType": ', "not a valid decision"),
    ("not-json", "I think the research agent should go.", "not a valid decision"),
    ("empty", "", "was empty"),
    ("unknown-type", route("research", "robot", "x"), "not a valid decision"),
    ("missing-field", {"primitiveId": "research", "primitiveType": "agent"}, "prompt"),
    ("unknown-agent", route("nobody", "agent", "x"), "there is no agent 'nobody'"),
    ("tool-named-as-agent", route("word_count", "agent", "x"), "'word_count' is a tool"),
    ("unknown-workflow", route("nope", "workflow", "{}"), "the workflows are: report"),
    ("unknown-tool", route("nope", "tool", "{}"), "the tools are: word_count"),
    ("workflow-prompt-not-json", route("report", "workflow", "dolphins"), "not valid JSON"),
    ("workflow-prompt-bad-schema", route("report", "workflow", {"subject": "x"}), "invalid"),
    ("tool-prompt-not-json", route("word_count", "tool", "count this"), "not valid JSON"),
    ("tool-prompt-bad-schema", route("word_count", "tool", {"words": 3}), "invalid"),
]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [(answer, reason) for _, answer, reason in BAD_ROUTING],
    ids=[name for name, _, _ in BAD_ROUTING],
)
async def test_bad_routing_output_is_fed_back_to_the_router(answer: Any, reason: str) -> None:
    router = Router([answer, RECOVERY], [verdict(True, "done")])
    stream = await network_agent(router).network("Research dolphins", memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    assert outer(chunks)[:4] == [
        "routing-agent-start",
        "routing-agent-end",
        "routing-agent-start",  # no primitive, no check: straight back to the router
        "routing-agent-end",
    ]
    rejected = of_type(chunks, "routing-agent-end")[0].payload
    assert rejected.is_complete is False
    assert reason in rejected.selection_reason
    assert rejected.iteration == 0
    assert rejected.usage.input_tokens == 100  # the call still counts
    second_start = of_type(chunks, "routing-agent-start")[1].payload
    assert reason in second_start.input_data["feedback"]
    assert reason in prompt_text(router.routing_calls[1])
    result = await stream.result
    assert (result.is_complete, result.iteration, result.primitive_id) == (True, 1, "research")


async def test_a_rejected_decision_keeps_what_the_router_said() -> None:
    router = Router([route("nobody", "agent", "do it", "it fits")] * 2, [])
    stream = await network_agent(router).network("Task", max_steps=1, memory=MEMORY)
    end = of_type(await collect(stream), "routing-agent-end")[0].payload
    assert (end.primitive_id, end.primitive_type, end.prompt) == ("nobody", "agent", "do it")
    result = await stream.result
    assert result.completion_reason == "Max iterations reached: 1"
    assert result.result == ""


async def test_a_json_prompt_given_as_an_object_is_accepted() -> None:
    decision = {
        "primitiveId": "word_count",
        "primitiveType": "tool",
        "prompt": {"text": "a b c"},
        "selectionReason": "count",
    }
    router = Router([decision], [verdict(True, "done")])
    stream = await network_agent(router).network("Count", memory=MEMORY)
    assert (await stream.result).result == 3


async def test_a_fenced_routing_answer_is_accepted() -> None:
    router = Router(
        [
            '```json\n{"primitiveId": "research", "primitiveType": "agent", '
            '"prompt": "x", "selectionReason": "y"}\n```'
        ],
        [verdict(True, "done")],
    )
    stream = await network_agent(router).network("Task", memory=MEMORY)
    assert (await stream.result).primitive_id == "research"


async def test_a_failing_routing_call_is_fed_back_too() -> None:
    router = Router([RuntimeError("provider down"), RECOVERY], [verdict(True, "done")])
    stream = await network_agent(router).network("Task", memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    first = of_type(chunks, "routing-agent-end")[0].payload
    assert "the routing call failed" in first.selection_reason
    assert "provider down" in first.selection_reason
    assert await stream.status == "success"


async def test_a_model_error_part_in_routing_is_fed_back() -> None:
    error_parts = [{"type": "error", "error": {"message": "rate limited"}}]
    router = Router([error_parts, RECOVERY], [verdict(True, "done")])
    stream = await network_agent(router).network("Task", memory=MEMORY)
    first = of_type(await collect(stream), "routing-agent-end")[0].payload
    assert "rate limited" in first.selection_reason


async def test_a_failing_sub_agent_ends_its_iteration_with_the_error() -> None:
    broken = Agent("broken", model=ScriptedModel([[RuntimeError("model exploded")]], cycle=True))
    router = Router(
        [route("broken", "agent", "try"), RECOVERY],
        [verdict(False, "nothing yet"), verdict(True, "done")],
    )
    agents = {
        "broken": broken,
        "research": Agent("research", model=ScriptedModel([text_parts("Facts.", 20, 4)])),
    }
    stream = await network_agent(router, agents=agents).network("Task", memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    assert outer(chunks)[:9] == [
        "routing-agent-start",
        "routing-agent-end",
        "agent-execution-start",
        "agent-execution-end",
        "network-validation-start",  # as in Mastra, a failed primitive is checked too
        "routing-agent-text-start",
        "network-validation-end",
        "routing-agent-start",
        "routing-agent-end",
    ]
    inner = [c.payload.type for c in chunks if c.type.startswith("agent-execution-event-")]
    assert inner[:5] == ["start", "step-start", "error", "step-finish", "finish"]
    end = of_type(chunks, "agent-execution-end")[0].payload
    assert end.model_extra["error"]["message"] == "model exploded"
    assert "failed: model exploded" in prompt_text(router.check_calls[0])
    assert "model exploded" in prompt_text(router.routing_calls[1])
    feedback = of_type(chunks, "routing-agent-start")[1].payload.input_data["validationFeedback"]
    assert "the agent 'broken' failed" in feedback
    assert "Reason: nothing yet" in feedback
    assert (await stream.result).result == "Facts."


async def test_a_failing_workflow_ends_its_iteration_with_the_error() -> None:
    def explode(ctx: StepContext[ReportIn]) -> Any:
        raise ValueError("no data on " + ctx.input_data.topic)

    router = Router(
        [route("report", "workflow", {"topic": "whales"}), RECOVERY],
        [verdict(False, "no report"), verdict(True, "done")],
    )
    agent = network_agent(router, workflows={"report": report_workflow(explode)})
    stream = await agent.network("Task", memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    end = of_type(chunks, "workflow-execution-end")[0].payload
    assert end.result["status"] == "failed"
    assert "no data on whales" in end.model_extra["error"]["message"]
    assert [c.payload.iteration for c in of_type(chunks, "network-validation-start")] == [0, 1]
    inner = [c.payload.type for c in chunks if c.type.startswith("workflow-execution-event-")]
    assert inner[-1] == "workflow-finish"
    assert "no data on whales" in prompt_text(router.routing_calls[1])


async def test_a_failing_tool_ends_its_iteration_with_the_error() -> None:
    from rxagents import tool

    @tool
    async def flaky(text: str) -> str:
        """Fail."""
        raise ConnectionError("service unavailable")

    router = Router(
        [route("flaky", "tool", {"text": "x"}), RECOVERY],
        [verdict(False, "no count"), verdict(True, "done")],
    )
    stream = await network_agent(router, tools={"flaky": flaky}).network("Task", memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    end = of_type(chunks, "tool-execution-end")[0].payload
    assert end.result is None
    assert end.model_extra["error"] == {
        "name": "ConnectionError",
        "message": "service unavailable",
    }
    assert "service unavailable" in prompt_text(router.routing_calls[1])


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("not json at all", "not valid"),
        ({"isComplete": "maybe"}, "not valid"),
        (RuntimeError("check model down"), "check model down"),
    ],
    ids=["not-json", "bad-schema", "model-failure"],
)
async def test_a_failing_check_does_not_pass(answer: Any, reason: str) -> None:
    router = Router([RECOVERY, RECOVERY], [answer, verdict(True, "done")])
    stream = await network_agent(router).network("Task", memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    first = of_type(chunks, "network-validation-end")[0].payload
    assert first.passed is False
    assert reason in first.reason
    assert (
        reason in of_type(chunks, "routing-agent-start")[1].payload.input_data["validationFeedback"]
    )
    assert await stream.status == "success"
