"""Network shapes pinned against runs of Mastra 1.71.0 on the same scripted answers.

Each test states what Mastra emitted (as literals) where rxagents used to differ: a failed
primitive is checked too, ``max_steps`` is the last iteration (from 0), the finish of a run
stopped by ``max_steps`` carries the last check's ``validationFeedback``, the routing usage
carries ``raw``, a workflow's result carries the network's run id, and ``conversationContext``
holds stored messages in Mastra's shape.
"""

from __future__ import annotations

from typing import Any

from rxagents import Agent
from rxagents.models import ScriptedModel
from rxagents.testing import assert_well_formed

from .conftest import MEMORY, Router, collect, network_agent, outer, route, verdict

ROUTING = ["routing-agent-start", "routing-agent-end"]
CHECK = ["network-validation-start", "routing-agent-text-start", "network-validation-end"]


def wire(chunks: list[Any]) -> list[dict[str, Any]]:
    return [chunk.model_dump(by_alias=True, mode="json") for chunk in chunks]


def first(items: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(c for c in items if c["type"] == kind)


async def test_a_failing_sub_agent_is_followed_by_the_check() -> None:
    # Mastra: the model of the sub-agent throws, its stream ends with error, step-finish,
    # finish; agent-execution-end; then the completion check runs as after any primitive
    broken = Agent("broken", model=ScriptedModel([[RuntimeError("boom")]], cycle=True))
    router = Router([route("broken", "agent", "say hi")], [verdict(True, "all done")])
    agent = network_agent(router, agents={"broken": broken})
    stream = await agent.network("do the task", memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    assert [c.type for c in chunks] == [
        *ROUTING,
        "agent-execution-start",
        "agent-execution-event-start",
        "agent-execution-event-step-start",
        "agent-execution-event-error",
        "agent-execution-event-step-finish",
        "agent-execution-event-finish",
        "agent-execution-end",
        *CHECK,
        "network-execution-event-finish",
    ]
    finish = wire(chunks)[-1]["payload"]
    assert (finish["isComplete"], finish["result"], finish["primitiveId"]) == (
        True,
        "",
        "broken",
    )


async def test_max_steps_is_the_last_iteration() -> None:
    # Mastra with maxSteps 1: iterations 0 and 1, maxIterationReached on the second check,
    # and the finish keeps the last check's feedback
    router = Router(
        [route("research", "agent", "say hi"), route("word_count", "tool", {"text": "a b"})],
        [verdict(False, "need more"), verdict(False, "need more")],
    )
    stream = await network_agent(router).network("do the task", max_steps=1, memory=MEMORY)
    chunks = await collect(stream)
    assert outer(chunks) == [
        *ROUTING,
        "agent-execution-start",
        "agent-execution-end",
        *CHECK,
        *ROUTING,
        "tool-execution-start",
        "tool-execution-end",
        *CHECK,
        "network-execution-event-finish",
    ]
    items = wire(chunks)
    ends = [c["payload"] for c in items if c["type"] == "network-validation-end"]
    assert [(e["iteration"], e["maxIterationReached"]) for e in ends] == [(0, False), (1, True)]
    second_start = [c for c in items if c["type"] == "routing-agent-start"][1]["payload"]
    feedback = second_start["inputData"]["validationFeedback"]
    assert feedback.startswith(
        "#### Completion Check Results\n\nOverall: \u274c NOT COMPLETE\nDuration: "
    )
    assert feedback.endswith(
        "###### Default LLM Completion (default-completion)\nScore: 0 \u274c\n"
        "Reason: need more\n\n\n\n\U0001f504 Will continue working on the task."
    )
    finish = items[-1]["payload"]
    assert set(finish) == {
        "task",
        "isComplete",
        "completionReason",
        "result",
        "primitiveId",
        "primitiveType",
        "iteration",
        "isOneOff",
        "threadId",
        "threadResourceId",
        "validationPassed",
        "validationFeedback",
        "usage",
    }
    assert finish["completionReason"] == "Max iterations reached: 1"
    assert finish["iteration"] == 1
    assert finish["validationFeedback"].endswith("\n\n\n\n\u26a0\ufe0f Max iterations reached.")


async def test_a_passing_run_has_no_validation_feedback() -> None:
    router = Router([route("research", "agent", "say hi")], [verdict(True, "all done")])
    stream = await network_agent(router).network("do the task", memory=MEMORY)
    finish = wire(await collect(stream))[-1]["payload"]
    assert "validationFeedback" not in finish
    assert finish["validationPassed"] is True


async def test_routing_usage_carries_raw() -> None:
    router = Router([route("research", "agent", "say hi")], [verdict(True, "all done")])
    stream = await network_agent(router).network("do the task", memory=MEMORY)
    items = wire(await collect(stream))
    assert first(items, "routing-agent-end")["payload"]["usage"] == {
        "inputTokens": 100,
        "outputTokens": 10,
        "totalTokens": 110,
        "raw": {"inputTokens": 100, "outputTokens": 10, "totalTokens": 110},
    }


async def test_a_workflow_result_carries_the_network_run_id() -> None:
    # Mastra: workflow-execution-end.payload.result.runId is the network's run id, while
    # payload.runId and the wrapped chunks' runId are the execution's
    router = Router([route("report", "workflow", {"topic": "whales"})], [verdict(True, "done")])
    stream = await network_agent(router).network("do the task", memory=MEMORY)
    items = wire(await collect(stream))
    network_run = items[0]["runId"]
    start = first(items, "workflow-execution-start")["payload"]
    end = first(items, "workflow-execution-end")["payload"]
    inner = {c["payload"]["runId"] for c in items if c["type"].startswith("workflow-execution-ev")}
    assert end["result"]["runId"] == network_run
    assert end["runId"] == start["runId"] == next(iter(inner))
    assert len(inner) == 1
    assert start["runId"] != network_run


async def test_conversation_context_is_in_mastras_stored_message_shape() -> None:
    # Mastra: conversationContext is the remembered user and assistant messages (not the
    # network's own JSON records) as {id, type, createdAt, threadId, resourceId, content, role}
    router = Router(
        [route("research", "agent", "say hi"), route("research", "agent", "again")],
        [verdict(False, "need more"), verdict(True, "all done")],
    )
    stream = await network_agent(router).network("do the task", memory=MEMORY)
    items = wire(await collect(stream))
    contexts = [
        c["payload"]["conversationContext"] for c in items if c["type"] == "routing-agent-end"
    ]
    assert len(contexts) == 2
    for context in contexts:  # the second routing does not show the first iteration's record
        assert len(context) == 1
        entry = context[0]
        assert set(entry) == {
            "id",
            "type",
            "createdAt",
            "threadId",
            "resourceId",
            "content",
            "role",
        }
        assert {k: entry[k] for k in ("type", "threadId", "resourceId", "role")} == {
            "type": "text",
            "threadId": "thread-1",
            "resourceId": "user-1",
            "role": "user",
        }
        assert entry["content"] == {"parts": [{"type": "text", "text": "do the task"}], "format": 2}
        assert entry["createdAt"].endswith("Z")
        assert len(entry["createdAt"]) == len("2026-11-21T07:24:51.619Z")
    start = first(items, "agent-execution-start")["payload"]
    assert start["args"]["conversationContext"] == contexts[0]
