"""The chunk sequences of network runs: agent, workflow, tool, none; completion; max_steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import reactivex
from reactivex import operators as ops

from rxagents.events import Chunk, parse_chunk
from rxagents.memory import Memory
from rxagents.operators import reduce_usage, unwrap_events
from rxagents.storage import SqliteStorage
from rxagents.testing import assert_well_formed
from rxagents.usage import Usage

from .conftest import (
    MEMORY,
    NONE,
    Router,
    collect,
    network_agent,
    of_type,
    outer,
    prompt_text,
    route,
    types,
    verdict,
)

ROUTING = ["routing-agent-start", "routing-agent-end"]
CHECK = ["network-validation-start", "routing-agent-text-start", "network-validation-end"]


def reduced(chunks: list[Chunk]) -> Usage:
    out: list[Usage] = []
    reactivex.from_iterable(chunks).pipe(reduce_usage()).subscribe(out.append)
    return out[0]


async def test_agent_then_workflow_then_tool_then_none() -> None:
    router = Router(
        [
            route("research", "agent", "Find facts about dolphins"),
            route("report", "workflow", {"topic": "dolphins"}),
            route("word_count", "tool", {"text": "dolphins are smart"}),
            NONE,
        ],
        [verdict(False, "needs a report"), verdict(False, "needs a count"), verdict(False)],
        default_check=verdict(True, "all done", "Dolphins: a report of three words."),
    )
    agent = network_agent(router)
    stream = await agent.network("Research dolphins and report", memory=MEMORY)
    chunks = await collect(stream)

    assert outer(chunks) == [
        *ROUTING,
        "agent-execution-start",
        "agent-execution-end",
        *CHECK,
        *ROUTING,
        "workflow-execution-start",
        "workflow-execution-end",
        *CHECK,
        *ROUTING,
        "tool-execution-start",
        "tool-execution-end",
        *CHECK,
        *ROUTING,
        "network-execution-event-step-finish",
        "network-validation-start",
        "routing-agent-text-start",
        "network-validation-end",
        "network-execution-event-finish",
    ]
    deltas = of_type(chunks, "routing-agent-text-delta")
    assert len(deltas) >= 2  # the final answer grows as the check's JSON streams
    assert "".join(d.payload.text for d in deltas) == "Dolphins: a report of three words."
    assert [t for t in types(chunks) if t.startswith("agent-execution-event-")] == [
        "agent-execution-event-start",
        "agent-execution-event-step-start",
        "agent-execution-event-text-start",
        "agent-execution-event-text-delta",
        "agent-execution-event-text-delta",
        "agent-execution-event-text-delta",
        "agent-execution-event-text-end",
        "agent-execution-event-step-finish",
        "agent-execution-event-finish",
    ]
    assert [t for t in types(chunks) if t.startswith("workflow-execution-event-")] == [
        "workflow-execution-event-workflow-start",
        "workflow-execution-event-workflow-step-start",
        "workflow-execution-event-workflow-step-result",
        "workflow-execution-event-workflow-finish",
    ]
    assert_well_formed(chunks)
    assert {chunk.run_id for chunk in chunks} == {stream.run_id}
    assert {chunk.from_ for chunk in chunks} == {"NETWORK"}

    # every model call counted once: 4 routings, 4 checks, one sub-agent step
    expected = Usage(input_tokens=4 * 100 + 4 * 50 + 20, output_tokens=4 * 10 + 4 * 5 + 4)
    assert await stream.usage == expected
    assert reduced(chunks) == expected
    assert await stream.status == "success"
    result = await stream.result
    assert result.result == "Dolphins: a report of three words."
    assert result.is_complete
    assert result.completion_reason == "all done"
    assert (result.iteration, result.primitive_id, result.primitive_type) == (3, "none", "none")
    assert (result.thread_id, result.thread_resource_id) == ("thread-1", "user-1")
    assert result.usage == expected.filled()

    tool_end = of_type(chunks, "tool-execution-end")[0].payload
    assert (tool_end.tool_name, tool_end.result, tool_end.iteration) == ("word_count", 3, 2)
    workflow_end = of_type(chunks, "workflow-execution-end")[0].payload
    assert workflow_end.result["result"] == {"report": "Report on dolphins"}
    assert workflow_end.result["status"] == "success"
    assert workflow_end.name == "report"
    agent_end = of_type(chunks, "agent-execution-end")[0].payload
    assert agent_end.result == "Dolphins are mammals."
    assert agent_end.usage.counters() == Usage(input_tokens=20, output_tokens=4).counters()
    step_finish = of_type(chunks, "network-execution-event-step-finish")[0].payload
    assert (step_finish.result, step_finish.is_complete, step_finish.iteration) == ("done", True, 3)


async def test_the_payloads_carry_mastras_keys() -> None:
    router = Router(
        [route("research", "agent", "Find facts"), route("word_count", "tool", {"text": "a b"})],
        [verdict(False, "more")],
        default_check=verdict(True, "done"),
    )
    stream = await network_agent(router).network("Research", memory=MEMORY)
    chunks = await collect(stream)
    wire = [chunk.model_dump(by_alias=True, mode="json") for chunk in chunks]

    def keys(kind: str) -> set[str]:
        return set(next(c for c in wire if c["type"] == kind)["payload"])

    assert keys("routing-agent-start") == {"networkId", "agentId", "runId", "inputData"}
    assert keys("routing-agent-end") >= {
        "task",
        "result",
        "primitiveId",
        "primitiveType",
        "prompt",
        "isComplete",
        "selectionReason",
        "iteration",
        "runId",
        "conversationContext",
        "usage",
    }
    assert keys("agent-execution-start") == {"agentId", "args", "runId"}
    assert keys("agent-execution-end") >= {
        "task",
        "agentId",
        "result",
        "isComplete",
        "iteration",
        "runId",
        "usage",
    }
    assert keys("tool-execution-start") == {"args", "runId"}
    assert keys("tool-execution-end") >= {
        "task",
        "primitiveId",
        "primitiveType",
        "result",
        "isComplete",
        "iteration",
        "toolCallId",
        "toolName",
    }
    assert keys("network-validation-start") == {"runId", "iteration", "checksCount"}
    assert keys("routing-agent-text-start") == {"runId"}
    assert keys("network-validation-end") >= {
        "runId",
        "iteration",
        "passed",
        "results",
        "reason",
        "maxIterationReached",
        "usage",
    }
    assert keys("network-execution-event-finish") >= {
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
        "usage",
    }
    first_start = wire[0]["payload"]
    assert first_start["agentId"] == "routing-agent"
    assert first_start["networkId"] == "coordinator"
    assert first_start["inputData"] == {
        "task": "Research",
        "primitiveId": "",
        "primitiveType": "none",
        "iteration": 0,
        "threadResourceId": "user-1",
        "threadId": "thread-1",
        "isOneOff": False,
        "verboseIntrospection": True,
    }
    # the routing step's id links start and end; the execution's id links start and inner chunks
    ends = [c for c in wire if c["type"] == "routing-agent-end"]
    starts = [c for c in wire if c["type"] == "routing-agent-start"]
    assert [s["payload"]["runId"] for s in starts] == [e["payload"]["runId"] for e in ends]
    execution = next(c for c in wire if c["type"] == "agent-execution-start")["payload"]
    inner = [c["payload"] for c in wire if c["type"].startswith("agent-execution-event-")]
    assert {c["runId"] for c in inner} == {execution["runId"]}
    assert execution["args"]["prompt"] == "Find facts"
    tool_args = next(c for c in wire if c["type"] == "tool-execution-start")["payload"]["args"]
    assert tool_args["args"] == {"text": "a b"}
    assert tool_args["toolName"] == "word_count"
    # every chunk survives a wire round trip
    assert [parse_chunk(c) for c in wire] == chunks


async def test_completion_right_after_the_first_primitive() -> None:
    router = Router(
        [route("research", "agent", "Find facts")],
        [verdict(True, "the facts answer it", "Dolphins are marine mammals.")],
    )
    stream = await network_agent(router).network("Are dolphins fish?", memory=MEMORY)
    chunks = await collect(stream)
    assert outer(chunks) == [
        *ROUTING,
        "agent-execution-start",
        "agent-execution-end",
        "network-validation-start",
        "routing-agent-text-start",
        "network-validation-end",
        "network-execution-event-finish",
    ]
    assert_well_formed(chunks)
    deltas = "".join(c.payload.text for c in of_type(chunks, "routing-agent-text-delta"))
    assert deltas == "Dolphins are marine mammals."
    assert "".join([text async for text in stream.text_stream]) == deltas
    result = await stream.result
    assert (result.result, result.iteration, result.is_complete) == (deltas, 0, True)
    assert (result.primitive_id, result.primitive_type) == ("research", "agent")
    assert len(router.routing_calls) == 1


async def test_without_a_final_result_the_primitives_result_is_the_answer() -> None:
    router = Router([route("research", "agent", "Find facts")], [verdict(True, "enough")])
    stream = await network_agent(router).network("Are dolphins fish?", memory=MEMORY)
    chunks = await collect(stream)
    assert not of_type(chunks, "routing-agent-text-delta")
    assert len(of_type(chunks, "routing-agent-text-start")) == 1
    assert (await stream.result).result == "Dolphins are mammals."


async def test_deltas_come_only_once_the_check_says_complete() -> None:
    # finalResult streams before isComplete: the first delta waits for isComplete: true
    answer = (
        '{"finalResult": "Dolphins breathe air.", "isComplete": true, "completionReason": "ok"}'
    )
    router = Router([route("research", "agent", "Find facts")], [answer])
    stream = await network_agent(router).network("Do dolphins breathe air?", memory=MEMORY)
    chunks = await collect(stream)
    texts = [c.payload.text for c in of_type(chunks, "routing-agent-text-delta")]
    assert "".join(texts) == "Dolphins breathe air."
    assert (await stream.result).result == "Dolphins breathe air."


async def test_max_steps_reached() -> None:
    # as in Mastra, iterations count from 0 and iteration ``max_steps`` is the last one
    router = Router([route("research", "agent", "Find more")] * 5)
    stream = await network_agent(router).network("Endless task", max_steps=2, memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    assert len(of_type(chunks, "routing-agent-start")) == 3
    assert len(of_type(chunks, "agent-execution-end")) == 3
    ends = of_type(chunks, "network-validation-end")
    assert [e.payload.passed for e in ends] == [False, False, False]
    assert [e.payload.model_extra["maxIterationReached"] for e in ends] == [False, False, True]
    assert chunks[-1].type == "network-execution-event-finish"
    result = await stream.result
    assert not result.is_complete
    assert not result.validation_passed
    assert result.completion_reason == "Max iterations reached: 2"
    assert result.iteration == 2
    assert result.result == "Dolphins are mammals."
    assert await stream.status == "max-steps"
    assert await stream.usage == reduced(chunks)


async def test_max_steps_defaults_to_ten() -> None:
    router = Router([route("research", "agent", "Find more")] * 12)
    stream = await network_agent(router).network("Endless task", memory=MEMORY)
    chunks = await collect(stream)
    assert len(of_type(chunks, "routing-agent-end")) == 11  # iterations 0 to 10
    assert (await stream.result).completion_reason == "Max iterations reached: 10"


async def test_none_whose_check_fails_sends_the_router_round_again() -> None:
    router = Router(
        [NONE, route("research", "agent", "Find facts")],
        [verdict(False, "nothing was researched yet"), verdict(True, "now it is")],
    )
    stream = await network_agent(router).network("Research dolphins", memory=MEMORY)
    chunks = await collect(stream)
    assert_well_formed(chunks)
    assert outer(chunks)[:8] == [
        *ROUTING,
        "network-execution-event-step-finish",
        *CHECK,
        *ROUTING,
    ]
    first_end = of_type(chunks, "routing-agent-end")[0].payload
    assert first_end.is_complete
    assert first_end.model_extra["result"] == "done"
    second_start = of_type(chunks, "routing-agent-start")[1].payload
    assert second_start.input_data["validationPassed"] is False
    assert "nothing was researched yet" in second_start.input_data["validationFeedback"]
    assert "nothing was researched yet" in prompt_text(router.routing_calls[1])
    assert (await stream.result).primitive_id == "research"


async def test_the_router_sees_the_conversation_so_far() -> None:
    memory = Memory()
    router = Router(
        [route("research", "agent", "Find facts"), route("research", "agent", "More facts")],
        [verdict(True, "done", "First answer."), verdict(True, "done")],
    )
    agent = network_agent(router, memory=memory)
    first = await agent.network("First task", memory=MEMORY)
    await first.result
    second = await agent.network("Second task", memory=MEMORY)
    await second.result

    seen = prompt_text(router.routing_calls[1])
    assert "First task" in seen
    assert "First answer." in seen
    assert "Second task" in seen
    # the check sees this run only
    assert "First task" not in prompt_text(router.check_calls[1])
    end = of_type(second.chunks, "routing-agent-end")[0]
    context = end.payload.model_extra["conversationContext"]
    # as in Mastra: the user's messages and the final answers, not the iteration records
    assert [m["role"] for m in context] == ["user", "assistant", "user"]
    assert context[1]["content"] == {
        "parts": [{"type": "text", "text": "First answer."}],
        "format": 2,
    }
    assert context[-1]["content"]["parts"][0]["text"] == "Second task"


async def test_task_decisions_and_results_are_saved_in_the_thread() -> None:
    memory = Memory()
    router = Router(
        [route("research", "agent", "Find facts"), route("word_count", "tool", {"text": "a b"})],
        [verdict(False, "count it"), verdict(True, "done", "Two words.")],
    )
    stream = await network_agent(router, memory=memory).network("Count", memory=MEMORY)
    await stream.result
    thread = await memory.require_thread("thread-1")
    assert thread.resource_id == "user-1"
    saved = await memory.messages("thread-1")
    assert [m.role for m in saved] == ["user", "assistant", "assistant", "assistant"]
    assert saved[0].text == "Count"
    assert saved[0].metadata == {"network": {"runId": stream.run_id, "type": "task"}}
    first = saved[1].metadata["network"]
    assert (first["primitiveType"], first["primitiveId"], first["prompt"]) == (
        "agent",
        "research",
        "Find facts",
    )
    assert first["result"] == "Dolphins are mammals."
    assert saved[2].metadata["network"]["result"] == 2
    assert saved[3].text == "Two words."
    assert saved[3].metadata["network"]["isComplete"] is True


async def test_unwrapped_agent_events_are_a_well_formed_agent_stream() -> None:
    router = Router(
        [route("research", "agent", "one"), route("research", "agent", "two")],
        [verdict(False), verdict(True, "done")],
    )
    stream = await network_agent(router).network("Twice", memory=MEMORY)
    await stream.result
    inner: list[Chunk] = []
    stream.observable.pipe(unwrap_events("agent-execution-event-")).subscribe(inner.append)
    starts = [i for i, chunk in enumerate(inner) if chunk.type == "start"]
    assert len(starts) == 2
    first, second = inner[: starts[1]], inner[starts[1] :]
    assert_well_formed(first, "agent")
    assert_well_formed(second, "agent")
    execution_ids = [c.payload.run_id for c in of_type(stream.chunks, "agent-execution-start")]
    assert [first[0].run_id, second[0].run_id] == execution_ids
    workflow_inner: list[Chunk] = []
    stream.observable.pipe(unwrap_events("workflow-execution-event-"), ops.to_list()).subscribe(
        workflow_inner.extend
    )
    assert workflow_inner == []


async def test_observe_network_is_cold() -> None:
    memory = Memory()
    router = Router(
        [route("research", "agent", "one"), route("research", "agent", "two")],
        [verdict(True, "done", "A."), verdict(True, "done", "B.")],
    )
    agent = network_agent(router, memory=memory)
    source = agent.observe_network("Task", memory={"thread": "cold", "resource": "me"})
    assert router.routing_calls == []
    runs: list[list[Any]] = [await source.pipe(ops.to_list()) for _ in range(2)]
    for chunks in runs:
        assert_well_formed(chunks)
    assert runs[0][0].run_id != runs[1][0].run_id
    assert [r[-1].payload.result for r in runs] == ["A.", "B."]
    assert len(await memory.messages("cold")) == 6  # task, iteration, result; twice


async def test_a_network_without_a_thread_makes_its_own() -> None:
    router = Router([route("research", "agent", "x")], [verdict(True, "done")])
    agent = network_agent(router)
    stream = await agent.network("Task")
    result = await stream.result
    assert result.is_one_off
    assert result.thread_resource_id == "coordinator"
    assert agent.memory is not None
    assert await agent.memory.get_thread(result.thread_id) is not None
    assert stream.thread_id == result.thread_id


async def test_a_durable_thread_is_complete_when_the_run_finishes(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "threads.db")
    memory = Memory(storage)
    router = Router(
        [route("research", "agent", "one"), route("word_count", "tool", {"text": "a b"})],
        [verdict(False, "more"), verdict(True, "done", "Two.")],
    )
    stream = await network_agent(router, memory=memory).network("Task", memory=MEMORY)
    chunks = await collect(stream)
    assert chunks[-1].type == "network-execution-event-finish"
    saved = await memory.messages("thread-1")
    assert saved[0].text == "Task"
    assert [m.metadata["network"].get("type") for m in saved] == ["task", None, None, "result"]
    # conversationContext shows the thread's messages, its own iteration records left out
    context = of_type(chunks, "routing-agent-end")[1].payload.model_extra["conversationContext"]
    assert [m["id"] for m in context] == [saved[0].id]
    await storage.close()
