"""Tool approval and tool suspension: paused streams, resumes, the snapshot in storage."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from reactivex import from_iterable
from reactivex import operators as ops

from rxagents import Agent, ToolContext
from rxagents.agent import Tool, tool
from rxagents.agent._suspend import APPROVAL_RESUME_SCHEMA, NAMESPACE
from rxagents.errors import InvalidInputError, RunNotFoundError, RunStateError
from rxagents.events import AgentChunk
from rxagents.models import ScriptedModel
from rxagents.operators import reduce_usage
from rxagents.testing import assert_well_formed
from rxagents.usage import Usage
from tests.agent.conftest import text_step, tool_step

PROCESS_SCRIPT = Path(__file__).parent / "_process_agent.py"


@tool(require_approval=True)
def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"temp": 21}


class Question(BaseModel):
    question: str


class Answer(BaseModel):
    answer: str


seen: list[tuple[Any, Any]] = []


@tool(suspend_schema=Question, resume_schema=Answer)
async def ask(q: str, ctx: ToolContext) -> dict[str, str]:
    """Ask the user something."""
    seen.append((ctx.resume_data, ctx.suspend_payload))
    if ctx.resume_data is None:
        await ctx.suspend({"question": "What is your name?"})
    assert isinstance(ctx.resume_data, Answer)
    return {"got": ctx.resume_data.answer}


def approval_agent(**options: Any) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(
        [tool_step(("call-1", "weather", '{"city":"Paris"}'), i=10, o=5), text_step("It is 21C")]
    )
    return Agent("weather-agent", model=model, tools=[weather], **options), model


async def chunks_of(stream: Any) -> list[AgentChunk]:
    return [chunk async for chunk in stream]


def types(chunks: list[AgentChunk]) -> list[str]:
    return [c.type for c in chunks]


async def test_approval_pauses_the_stream_after_tool_call_approval() -> None:
    agent, _ = approval_agent()
    stream = await agent.stream("weather in Paris?")
    chunks = await chunks_of(stream)
    assert types(chunks) == ["start", "step-start", "tool-call", "tool-call-approval"]
    wire = chunks[-1].model_dump(by_alias=True, mode="json")
    assert wire["payload"] == {
        "toolCallId": "call-1",
        "toolName": "weather",
        "args": {"city": "Paris"},
        "resumeSchema": APPROVAL_RESUME_SCHEMA,
    }
    assert json.loads(APPROVAL_RESUME_SCHEMA)["required"] == ["approved"]
    assert await stream.finish_reason == "suspended"
    assert await stream.text == ""
    assert await stream.usage == Usage(input_tokens=10, output_tokens=5, total_tokens=15)
    pending = await stream.pending_tool_calls
    assert [p.tool_call_id for p in pending] == ["call-1"]
    assert_well_formed(chunks)
    runs = await agent.list_suspended_runs()
    assert len(runs) == 1
    assert runs[0]["run_id"] == stream.run_id
    assert runs[0]["status"] == "suspended"
    assert runs[0]["tool_calls"] == [
        {
            "tool_call_id": "call-1",
            "tool_name": "weather",
            "requires_approval": True,
            "args": {"city": "Paris"},
        }
    ]


async def test_approve_continues_the_same_run_without_start() -> None:
    agent, model = approval_agent()
    paused = await agent.stream("weather in Paris?")
    paused_chunks = await chunks_of(paused)
    resumed = await agent.approve_tool_call(paused.run_id, "call-1")
    chunks = await chunks_of(resumed)
    assert types(chunks) == [
        "tool-result",
        "step-finish",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    assert {c.run_id for c in chunks} == {paused.run_id}
    assert resumed.run_id == paused.run_id
    first_finish = chunks[1].model_dump(by_alias=True, mode="json")["payload"]
    message_id = first_finish["messageId"]
    assert first_finish["stepResult"] == {
        "reason": "tool-calls",
        "isContinued": True,
        "messageId": message_id,
    }
    assert message_id != paused_chunks[0].model_dump(by_alias=True)["payload"]["messageId"]
    assert resumed.message_id == message_id
    assert paused.message_id == paused_chunks[0].model_dump(by_alias=True)["payload"]["messageId"]
    assert "messageId" not in chunks[-2].model_dump(by_alias=True)["payload"]["stepResult"]
    assert await resumed.text == "It is 21C"
    assert await resumed.finish_reason == "stop"
    assert (await resumed.usage).total_tokens == 30
    assert [c.tool_call_id for c in await resumed.tool_calls] == ["call-1"]
    assert [r.tool_call_id for r in await resumed.tool_results] == ["call-1"]
    tool_message = model.calls[1].prompt[-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"][0]["output"] == {"type": "json", "value": {"temp": 21}}
    assert_well_formed(paused_chunks + chunks)
    assert_well_formed(chunks)
    assert await agent.list_suspended_runs() == []
    assert await agent.storage.get(NAMESPACE, paused.run_id) is None
    with pytest.raises(RunNotFoundError, match="no suspended run"):
        await agent.approve_tool_call(paused.run_id, "call-1")


@pytest.mark.parametrize(
    ("reason", "expected"),
    [(None, "Tool call was not approved by the user"), ("User says no", "User says no")],
)
async def test_decline_gives_the_model_the_reason(reason: str | None, expected: str) -> None:
    agent, model = approval_agent()
    paused = await agent.stream("weather in Paris?")
    await chunks_of(paused)
    resumed = await agent.decline_tool_call(paused.run_id, "call-1", reason=reason)
    chunks = await chunks_of(resumed)
    assert types(chunks)[:3] == ["tool-output-denied", "step-finish", "step-start"]
    assert chunks[0].model_dump(by_alias=True, mode="json")["payload"] == {
        "toolCallId": "call-1",
        "toolName": "weather",
        "args": {"city": "Paris"},
        "approval": {"id": "call-1", "approved": False, "reason": expected},
    }
    assert model.calls[1].prompt[-1]["content"][0]["output"] == {"type": "text", "value": expected}
    assert await resumed.tool_results == []
    assert await resumed.finish_reason == "stop"


async def test_run_level_approval_flag_and_function() -> None:
    @tool
    def plain(city: str) -> int:
        """A tool without its own approval."""
        return 1

    for policy in (True, lambda name, args: name == "plain" and args["city"] == "Paris"):
        model = ScriptedModel([tool_step(("c1", "plain", '{"city":"Paris"}')), text_step("ok")])
        agent = Agent("a", model=model, tools=[plain])
        stream = await agent.stream("x", require_tool_approval=policy)
        assert types(await chunks_of(stream))[-1] == "tool-call-approval"
        resumed = await agent.approve_tool_call(stream.run_id)
        assert types(await chunks_of(resumed))[0] == "tool-result"


async def test_suspend_and_resume_runs_the_tool_again_with_the_data() -> None:
    seen.clear()
    model = ScriptedModel([tool_step(("call-1", "ask", '{"q":"name"}')), text_step("Hi Bob")])
    agent = Agent("asker", model=model, tools=[ask])
    paused = await agent.stream("ask me")
    chunks = await chunks_of(paused)
    assert types(chunks) == ["start", "step-start", "tool-call", "tool-call-suspended"]
    payload = chunks[-1].model_dump(by_alias=True, mode="json")["payload"]
    assert list(payload) == ["toolCallId", "toolName", "suspendPayload", "args", "resumeSchema"]
    assert payload["suspendPayload"] == {"question": "What is your name?"}
    assert json.loads(payload["resumeSchema"]) == {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
        "$schema": "http://json-schema.org/draft-07/schema#",
    }
    runs = await agent.list_suspended_runs()
    assert runs[0]["tool_calls"] == [
        {
            "tool_call_id": "call-1",
            "tool_name": "ask",
            "requires_approval": False,
            "suspend_payload": {"question": "What is your name?"},
        }
    ]
    resumed = await agent.resume_stream({"answer": "Bob"}, run_id=paused.run_id)
    after = await chunks_of(resumed)
    assert types(after)[:2] == ["tool-result", "step-finish"]
    assert after[0].model_dump(by_alias=True)["payload"]["result"] == {"got": "Bob"}
    assert seen[-1] == (Answer(answer="Bob"), {"question": "What is your name?"})
    assert await resumed.text == "Hi Bob"
    assert_well_formed(chunks + after)


async def test_invalid_resume_data_does_not_run_the_tool() -> None:
    seen.clear()
    model = ScriptedModel([tool_step(("call-1", "ask", '{"q":"name"}')), text_step("sorry")])
    agent = Agent("asker", model=model, tools=[ask])
    paused = await agent.stream("ask me")
    await chunks_of(paused)
    resumed = await agent.resume_stream({"wrong": 1}, run_id=paused.run_id, tool_call_id="call-1")
    chunks = await chunks_of(resumed)
    assert len(seen) == 1  # only the first, suspending run
    result = chunks[0].model_dump(by_alias=True, mode="json")["payload"]["result"]
    assert result["error"] is True
    assert result["message"].startswith("Resume data validation failed for ask")
    assert "answer" in result["message"]
    assert result["validationErrors"]["fields"]["answer"]["errors"] == ["Field required"]
    assert await resumed.finish_reason == "stop"


async def test_concurrent_resumes_run_the_tool_once() -> None:
    runs: list[str] = []

    def count(city: str) -> str:
        runs.append(city)
        return city

    counted = Tool(
        "weather",
        "Weather.",
        None,
        lambda args: count(args["city"]),
        require_approval=True,
    )
    model = ScriptedModel([tool_step(("c1", "weather", '{"city":"Paris"}')), text_step("ok")])
    agent = Agent("a", model=model, tools=[counted])
    paused = await agent.stream("x")
    await chunks_of(paused)
    outcomes = await asyncio.gather(
        agent.approve_tool_call(paused.run_id, "c1"),
        agent.approve_tool_call(paused.run_id, "c1"),
        return_exceptions=True,
    )
    errors = [o for o in outcomes if isinstance(o, Exception)]
    streams = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(streams) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], RunStateError)
    await chunks_of(streams[0])
    assert runs == ["Paris"]


async def test_unknown_run_and_tool_call() -> None:
    agent, _ = approval_agent()
    with pytest.raises(RunNotFoundError):
        await agent.approve_tool_call("nope", "call-1")
    paused = await agent.stream("weather in Paris?")
    await chunks_of(paused)
    with pytest.raises(InvalidInputError, match="no tool call 'other'"):
        await agent.decline_tool_call(paused.run_id, "other")
    with pytest.raises(InvalidInputError, match="approved"):
        await agent.resume_stream({"answer": 1}, run_id=paused.run_id)
    # refused answers claim nothing: the run can still be approved
    assert types(await chunks_of(await agent.approve_tool_call(paused.run_id)))[0] == "tool-result"


async def test_generate_reports_the_pause() -> None:
    agent, _ = approval_agent()
    result = await agent.generate("weather in Paris?")
    assert result.finish_reason == "suspended"
    assert [p.tool_call_id for p in result.pending_tool_calls] == ["call-1"]
    assert result.usage.total_tokens == 15
    resumed = await agent.resume_stream({"approved": True}, run_id=result.run_id)
    assert await resumed.text == "It is 21C"


async def test_usage_adds_up_over_paused_and_resumed_streams() -> None:
    agent, _ = approval_agent()
    paused = await agent.stream("weather in Paris?")
    first = await chunks_of(paused)
    resumed = await agent.approve_tool_call(paused.run_id)
    second = await chunks_of(resumed)
    total = await from_iterable(first + second).pipe(reduce_usage(), ops.to_future())
    assert total == await resumed.usage
    assert total.total_tokens == 30


async def _child(*args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROCESS_SCRIPT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROCESS_SCRIPT.parents[2])},  # this checkout
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    data: dict[str, Any] = json.loads(out)
    return data


async def test_another_process_resumes_a_run_paused_on_sqlite(tmp_path: Path) -> None:
    db = str(tmp_path / "agents.db")
    first = await _child("pause", db, "run-p")
    assert [c["type"] for c in first["chunks"]][-1] == "tool-call-approval"
    assert (first["finish_reason"], first["usage"], first["suspended"]) == ("suspended", 15, 1)
    second = await _child("approve", db, "run-p")
    assert [c["type"] for c in second["chunks"]][:2] == ["tool-result", "step-finish"]
    assert second["chunks"][0]["payload"]["result"] == {"paid": 5}
    assert {c["runId"] for c in second["chunks"]} == {"run-p"}
    assert (second["text"], second["usage"], second["suspended"]) == ("Paid.", 30, 0)
    assert_well_formed(first["chunks"] + second["chunks"])


async def test_the_snapshot_is_stored_before_the_pause_chunk_is_seen() -> None:
    agent, _ = approval_agent()
    stream = await agent.stream("weather in Paris?")
    async for chunk in stream:
        if chunk.type == "tool-call-approval":
            entry = await agent.storage.get_entry(NAMESPACE, stream.run_id)
            assert entry is not None
            assert entry.status == "suspended"
            assert entry.owner == agent.id
