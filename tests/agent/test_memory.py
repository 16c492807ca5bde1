"""Agents with memory: a thread's recent messages before a run, the new ones saved after it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reactivex import operators as ops

from rxagents import Agent, AgentResult, tool
from rxagents.errors import InvalidInputError, ThreadOwnershipError
from rxagents.memory import Memory
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.storage import InMemoryStorage, SqliteStorage, Storage
from rxagents.testing import assert_well_formed
from tests.agent.conftest import text_step, tool_step

THREAD = {"thread": "t-1", "resource": "user-1"}


def texts(call: ModelCall) -> list[tuple[str, str]]:
    """(role, text) of each prompt message."""
    out = []
    for message in call.prompt:
        content = message["content"]
        text = content if isinstance(content, str) else json.dumps(content)
        if isinstance(content, list) and all(p.get("type") == "text" for p in content):
            text = "".join(p["text"] for p in content)
        out.append((message["role"], text))
    return out


def echo(call: ModelCall) -> list[dict[str, Any]]:
    """Answer 'reply N' where N counts the user messages in the prompt."""
    users = sum(1 for m in call.prompt if m["role"] == "user")
    return [
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": f"reply {users}"},
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop", "usage": {"inputTokens": 3, "outputTokens": 2}},
    ]


@pytest.fixture(params=["memory", "sqlite"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    store: Storage = (
        InMemoryStorage() if request.param == "memory" else SqliteStorage(tmp_path / "a.db")
    )
    yield store
    await store.close()


async def test_a_run_sees_the_thread_and_saves_its_messages(storage: Storage) -> None:
    memory = Memory(storage)
    model = FunctionModel(echo)
    agent = Agent("chat", model=model, instructions="Be brief.", memory=memory)

    first = await agent.stream("Hello", memory=THREAD)
    assert await first.text == "reply 1"
    second = await agent.stream("And again", memory=THREAD)
    assert await second.text == "reply 2"

    assert texts(model.calls[1]) == [
        ("system", "Be brief."),
        ("user", "Hello"),
        ("assistant", "reply 1"),
        ("user", "And again"),
    ]
    saved = await memory.messages("t-1")
    assert [(m.role, m.text) for m in saved] == [
        ("user", "Hello"),
        ("assistant", "reply 1"),
        ("user", "And again"),
        ("assistant", "reply 2"),
    ]
    thread = await memory.require_thread("t-1")
    assert thread.resource_id == "user-1"


async def test_threads_persist_across_agents_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    store = SqliteStorage(path)
    agent = Agent("chat", model=FunctionModel(echo), memory=Memory(store))
    await (await agent.stream("one", memory=THREAD)).text
    await store.close()

    again = SqliteStorage(path)
    model = FunctionModel(echo)
    later = Agent("chat", model=model, memory=Memory(again))
    assert await (await later.stream("two", memory=THREAD)).text == "reply 2"
    assert [role for role, _ in texts(model.calls[0])] == ["user", "assistant", "user"]
    await again.close()


async def test_tool_calls_and_results_are_saved_and_replayed() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    steps = iter(
        [
            [
                {
                    "type": "tool-call",
                    "toolCallId": "c1",
                    "toolName": "add",
                    "input": '{"a":1,"b":2}',
                },
                {"type": "finish", "finishReason": "tool-calls"},
            ],
        ]
    )

    def model_fn(call: ModelCall) -> list[dict[str, Any]]:
        return next(steps, None) or echo(call)

    memory = Memory()
    model = FunctionModel(model_fn)
    agent = Agent("calc", model=model, tools=[add], memory=memory)
    await (await agent.stream("1+2?", memory=THREAD)).text
    saved = await memory.messages("t-1")
    assert [m.role for m in saved] == ["user", "assistant", "tool", "assistant"]
    assert saved[1].content[0]["type"] == "tool-call"
    assert saved[2].content[0]["output"] == {"type": "json", "value": 3}

    await (await agent.stream("thanks", memory=THREAD)).text
    assert [m["role"] for m in model.calls[-1].prompt] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]


async def test_only_the_last_messages_are_loaded() -> None:
    memory = Memory(last_messages=2)
    model = FunctionModel(echo)
    agent = Agent("chat", model=model, memory=memory)
    for text in ("a", "b", "c"):
        await (await agent.stream(text, memory=THREAD)).text
    assert [text for _, text in texts(model.calls[-1])] == ["b", "reply 2", "c"]
    assert len(await memory.messages("t-1")) == 6


async def test_observe_with_memory_loads_and_saves_per_subscription() -> None:
    memory = Memory()
    model = FunctionModel(echo)
    agent = Agent("chat", model=model, memory=memory)
    source = agent.observe("hi", memory=THREAD)
    assert model.calls == []
    first: list[Any] = await source.pipe(ops.to_list())
    second: list[Any] = await source.pipe(ops.to_list())
    assert_well_formed(first)
    assert_well_formed(second)
    assert second[-2].payload.output.text == "reply 2"  # the step-finish of the second run
    assert len(await memory.messages("t-1")) == 4


async def test_generate_uses_memory_too() -> None:
    memory = Memory()
    agent = Agent("chat", model=FunctionModel(echo), memory=memory)
    await agent.generate("one", memory=THREAD)
    result: AgentResult[Any] = await agent.generate("two", memory=THREAD)
    assert result.text == "reply 2"


async def test_a_new_thread_is_created_with_its_title_and_owner() -> None:
    memory = Memory()
    agent = Agent("chat", model=FunctionModel(echo), memory=memory)
    thread = {"id": "t-9", "title": "Planning", "metadata": {"topic": "days"}}
    await (await agent.stream("hi", memory={"thread": thread, "resource": "me"})).text
    created = await memory.require_thread("t-9")
    assert (created.title, created.metadata, created.resource_id) == (
        "Planning",
        {"topic": "days"},
        "me",
    )


async def test_a_thread_of_another_resource_is_refused() -> None:
    memory = Memory()
    await memory.create_thread(resource_id="alice", thread_id="t-1")
    model = FunctionModel(echo)
    agent = Agent("chat", model=model, memory=memory)
    with pytest.raises(ThreadOwnershipError, match="belongs to another resource"):
        await agent.stream("hi", memory=THREAD)
    with pytest.raises(ThreadOwnershipError, match="belongs to another resource"):
        await agent.observe("hi", memory=THREAD)
    assert model.calls == []


async def test_without_memory_on_the_agent_the_option_is_ignored() -> None:
    model = FunctionModel(echo)
    agent = Agent("chat", model=model)
    await (await agent.stream("one", memory=THREAD)).text
    assert await (await agent.stream("two", memory=THREAD)).text == "reply 1"
    with pytest.raises(InvalidInputError, match="memory needs a thread"):
        await agent.stream("three", memory={"resource": "u"})


async def test_without_the_option_an_agent_with_memory_remembers_nothing() -> None:
    memory = Memory()
    agent = Agent("chat", model=FunctionModel(echo), memory=memory)
    await (await agent.stream("one")).text
    assert await memory.list_threads() == []


async def test_a_cancelled_run_saves_nothing() -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        yield {"type": "text-start", "id": "t"}
        yield {"type": "text-delta", "id": "t", "delta": "partial"}
        started.set()
        await release.wait()
        yield {"type": "finish"}  # pragma: no cover - never reached

    memory = Memory()
    agent = Agent("chat", model=FunctionModel(slow), memory=memory)
    stream = await agent.stream("hi", memory=THREAD)
    await started.wait()
    stream.cancel()
    assert stream.chunks[-1].type == "abort"
    assert await memory.messages("t-1") == []  # the thread exists; nothing was saved


async def test_a_failed_save_is_logged_and_the_run_still_completes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    memory = Memory()
    agent = Agent("chat", model=FunctionModel(echo), memory=memory)
    stream = await agent.stream("hi", memory=THREAD)
    await memory.delete_thread("t-1")  # the save will find no thread
    assert await stream.text == "reply 1"
    assert "could not save its messages" in caplog.text


def test_memory_is_an_attribute_servers_can_see() -> None:
    memory = Memory()
    agent = Agent("chat", model=FunctionModel(echo), memory=memory)
    assert agent.memory is memory
    assert Agent("plain", model=FunctionModel(echo)).memory is None


def paused_memory_agent(storage: Storage) -> tuple[Agent, Memory, ScriptedModel]:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @tool(require_approval=True)
    def weather(city: str) -> str:
        """Current weather for a city."""
        return "sunny"

    model = ScriptedModel(
        [
            tool_step(("c1", "add", '{"a":1,"b":2}')),
            tool_step(("c2", "weather", '{"city":"Paris"}')),
            text_step("It is sunny"),
            text_step("Bye"),
        ]
    )
    memory = Memory(storage)
    agent = Agent("a", model=model, tools=[add, weather], memory=memory, storage=storage)
    return agent, memory, model


def roles_and_parts(messages: list[Any]) -> list[tuple[str, list[str]]]:
    return [(m.role, [p["type"] for p in m.content]) for m in messages]


@pytest.mark.parametrize("answer", ["approve", "decline"])
async def test_a_paused_run_keeps_its_thread_coherent(storage: Storage, answer: str) -> None:
    agent, memory, model = paused_memory_agent(storage)
    paused = await agent.stream("weather?", memory=THREAD)
    assert await paused.finish_reason == "suspended"
    # the input, the finished step, the paused step's tool call: saved before the pause
    assert roles_and_parts(await memory.messages("t-1")) == [
        ("user", ["text"]),
        ("assistant", ["tool-call"]),
        ("tool", ["tool-result"]),
        ("assistant", ["tool-call"]),
    ]
    if answer == "approve":
        resumed = await agent.approve_tool_call(paused.run_id, "c2")
    else:
        resumed = await agent.decline_tool_call(paused.run_id, "c2", reason="No")
    assert await resumed.text == "It is sunny"
    saved = await memory.messages("t-1")
    assert roles_and_parts(saved)[4:] == [("tool", ["tool-result"]), ("assistant", ["text"])]
    assert saved[4].content[0]["toolCallId"] == "c2"
    assert saved[4].content[0]["output"]["value"] == ("sunny" if answer == "approve" else "No")

    await (await agent.stream("thanks", memory=THREAD)).text
    assert [m["role"] for m in model.calls[-1].prompt] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]


async def test_a_cancelled_resume_saves_nothing_and_a_later_one_completes_the_thread() -> None:
    agent, memory, _ = paused_memory_agent(InMemoryStorage())
    paused = await agent.stream("weather?", memory=THREAD)
    await paused.text
    (await agent.approve_tool_call(paused.run_id)).cancel()
    assert len(await memory.messages("t-1")) == 4
    assert await (await agent.approve_tool_call(paused.run_id)).text == "It is sunny"
    assert [m.role for m in await memory.messages("t-1")] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]


async def test_a_run_paused_twice_in_one_step_saves_each_message_once() -> None:
    @tool(require_approval=True)
    def weather(city: str) -> str:
        """Current weather for a city."""
        return f"sunny in {city}"

    model = ScriptedModel(
        [
            tool_step(("c1", "weather", '{"city":"Paris"}'), ("c2", "weather", '{"city":"Rome"}')),
            text_step("Both sunny"),
        ]
    )
    memory = Memory()
    agent = Agent("a", model=model, tools=[weather], memory=memory)
    paused = await agent.stream("weather?", memory=THREAD)
    await paused.text
    again = await agent.approve_tool_call(paused.run_id, "c1")
    assert await again.finish_reason == "suspended"
    assert [m.role for m in await memory.messages("t-1")] == ["user", "assistant"]
    assert await (await agent.approve_tool_call(paused.run_id, "c2")).text == "Both sunny"
    saved = await memory.messages("t-1")
    assert [m.role for m in saved] == ["user", "assistant", "tool", "assistant"]
    assert [p["toolCallId"] for p in saved[2].content] == ["c1", "c2"]


async def test_suspended_runs_are_listed_by_thread_resource_and_date() -> None:
    storage = InMemoryStorage()
    agent, _, _ = paused_memory_agent(storage)
    agent.model = ScriptedModel([tool_step(("c1", "weather", '{"city":"Paris"}'))], cycle=True)
    before = datetime.now(UTC) - timedelta(seconds=1)
    first = await agent.generate("x", memory={"thread": "t-1", "resource": "user-1"})
    second = await agent.generate("y", memory={"thread": "t-2", "resource": "user-2"})
    plain = await agent.generate("z")

    def ids(runs: list[Any]) -> set[str]:
        return {run["run_id"] for run in runs}

    everything = await agent.list_suspended_runs()
    assert ids(everything) == {first.run_id, second.run_id, plain.run_id}
    by_thread = await agent.list_suspended_runs(thread_id="t-1")
    assert ids(by_thread) == {first.run_id}
    assert by_thread[0]["thread_id"] == "t-1"
    assert by_thread[0]["resource_id"] == "user-1"
    assert ids(await agent.list_suspended_runs(resource_id="user-2")) == {second.run_id}
    assert ids(await agent.list_suspended_runs(thread_id="t-1", resource_id="user-2")) == set()
    later = max(run["suspended_at"] for run in everything)
    naive_after = datetime.fromtimestamp(later / 1000 + 1, UTC).replace(tzinfo=None)
    assert await agent.list_suspended_runs(from_date=naive_after) == []
    assert len(await agent.list_suspended_runs(from_date=before, to_date=naive_after)) == 3
    assert await agent.list_suspended_runs(to_date=before) == []
