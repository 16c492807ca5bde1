"""The real clients read tools that stream: ``@mastra/client-js`` and the AI SDK (strict).

- ``mastra.mjs tool-stream``: every ``tool-output`` and envelope-less data chunk our server
  sends is delivered by ``processDataStream`` as sent (the harness compares the delivered
  chunks with the wire, one for one), also when re-attaching with ``observe``.
- the harness refuses tool streams breaking those rules;
- ``aisdk.mjs chat``: the ``/chat`` stream of the same agents passes the strict checks, with
  the tools' data parts in the assembled message, and, with ``chat_sub_agents``, the nested
  run's text and tool calls.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from rxagents.adapters.server import create_app
from tests.adapters.tool_streams import CUSTOM_CHUNKS, WRITTEN, streaming_runtime

from .conftest import Chat, JsClients, Mastra, Serve
from .test_checkers import agent_chunk, agent_stream, sse

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def base(serve: Serve) -> str:
    return await serve(create_app(streaming_runtime()))


@pytest.fixture
async def sub_agents_base(serve: Serve) -> str:
    return await serve(create_app(streaming_runtime(), chat_sub_agents=True))


async def test_mastra_client_delivers_every_tool_output_and_data_chunk(
    base: str, mastra: Mastra
) -> None:
    writer, nested, observed = await mastra(
        base,
        {"action": "tool-stream", "agent": "writer-agent", "message": "go"},
        {"action": "tool-stream", "agent": "nested-agent", "message": "go"},
        {"action": "observe", "agent": "writer-agent", "offset": 3, "toolStream": True},
    )
    assert [o["output"] for o in writer["outputs"]] == WRITTEN
    assert {(o["toolCallId"], o["toolName"]) for o in writer["outputs"]} == {("call-1", "progress")}
    assert writer["data"] == CUSTOM_CHUNKS
    assert writer["text"] == "done"
    assert writer["client"]["content"] == "done"
    assert [t["toolName"] for t in writer["toolCalls"]] == ["progress"]
    inner = [o["output"] for o in nested["outputs"]]
    inner_types = [o["type"] for o in inner]
    assert inner_types[0] == "start"
    assert inner_types[-1] == "finish"
    assert "".join(o["payload"]["text"] for o in inner if o["type"] == "text-delta") == "w0 w1 w2 "
    assert {"type": "data-lookup", "data": {"topic": "dolphins"}, "id": "l1"} in inner
    assert len({o["runId"] for o in inner if "runId" in o} | {nested["runId"]}) == 2
    assert (
        observed["chunkTypes"][: 3 + len(WRITTEN)]
        == ["tool-output"] * len(WRITTEN) + ["data-progress"] * 3
    )


async def test_mastra_client_reads_text_piped_as_tool_output(base: str, mastra: Mastra) -> None:
    [result] = await mastra(base, {"action": "tool-stream", "agent": "text-pipe-agent"})
    assert [o["output"] for o in result["outputs"]] == ["w0 ", "w1 ", "w2 "]
    assert result["data"] == []


def data_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in message["parts"] if p["type"].startswith("data-")]


async def test_the_strict_ai_sdk_client_shows_tool_progress(base: str, ai_chat: Chat) -> None:
    result = await ai_chat(base, "/api/agents/writer-agent/chat")
    # the transient part was streamed (onData) but is not kept in the message
    assert data_parts(result["message"]) == [
        {"type": "data-fromwrite", "data": {"a": 1}},
        {"type": "data-progress", "data": {"pct": 75}},
        {"type": "data-progress", "data": {"pct": 81}},
    ]
    assert result["chunkTypes"].count("data-progress") == 3
    assert result["finishReason"] == "stop"


@pytest.mark.parametrize("agent", ["nested-agent", "text-pipe-agent"])
async def test_nested_runs_are_left_out_by_default(base: str, ai_chat: Chat, agent: str) -> None:
    result = await ai_chat(base, f"/api/agents/{agent}/chat")
    kinds = {p["type"] for p in data_parts(result["message"])}
    assert kinds <= {"data-lookup"}
    tool = next(p for p in result["message"]["parts"] if p["type"].startswith("tool-"))
    assert tool["output"] == "w0 w1 w2 "


async def test_sub_agents_show_the_nested_run_in_the_strict_client(
    sub_agents_base: str, ai_chat: Chat
) -> None:
    result = await ai_chat(sub_agents_base, "/api/agents/nested-agent/chat")
    parts = data_parts(result["message"])
    texts = [p["data"] for p in parts if p["type"] == "data-tool-agent-text"]
    assert [(t["agentId"], t["text"]) for t in texts] == [("researcher", "w0 w1 w2 ")]
    tools = [p["data"]["call"] for p in parts if p["type"] == "data-tool-agent-tool"]
    assert tools == [  # the call's two parts share an id: the message keeps the last
        {
            "toolCallId": "inner-1",
            "toolName": "lookup",
            "input": {"topic": "dolphins"},
            "state": "output-available",
            "output": "facts about dolphins",
        }
    ]
    assert result["chunkTypes"].count("data-tool-agent-delta") == 3  # streamed, not kept
    assert "data-tool-agent-delta" not in {p["type"] for p in parts}


async def test_sub_agents_keep_a_long_nested_run_linear_in_the_strict_client(
    sub_agents_base: str, ai_chat: Chat
) -> None:
    result = await ai_chat(sub_agents_base, "/api/agents/long-nested-agent/chat")
    assert result["chunkTypes"].count("data-tool-agent-delta") == 40
    [text] = [p["data"]["text"] for p in data_parts(result["message"]) if "text" in p["data"]]
    assert text == "".join(f"w{i:04d} " for i in range(40))


async def test_a_workflow_step_s_tool_progress_reaches_the_strict_client(
    base: str, ai_chat: Chat
) -> None:
    result = await ai_chat(base, "/api/workflows/writer-workflow/chat", body={"inputData": {}})
    kinds = [p["type"] for p in data_parts(result["message"])]
    assert kinds.count("data-progress") == 3  # transient dropped inside a step: all kept
    assert "data-fromwrite" in kinds


CALL = agent_chunk("tool-call", toolCallId="c", toolName="x", args={})
RESULT = agent_chunk("tool-result", toolCallId="c", toolName="x", result=1)


def output(**changes: Any) -> dict[str, Any]:
    chunk = {**agent_chunk("tool-output", output=1, toolCallId="c", toolName="x"), "from": "USER"}
    return {**chunk, **changes}


BROKEN_TOOL_STREAMS = {
    "data outside a call": (
        sse(*agent_stream({"type": "data-x", "data": 1}, CALL, RESULT)),
        "outside every tool call",
    ),
    "output after the result": (sse(*agent_stream(CALL, RESULT, output())), "outside every"),
    "output of another call": (
        sse(*agent_stream(CALL, output(payload={"output": 1, "toolCallId": "d"}), RESULT)),
        'no open call "d" of undefined',
    ),
    "output of another tool": (
        sse(*agent_stream(CALL, output(payload={"output": 1, "toolCallId": "c", "toolName": "y"}))),
        'no open call "c" of "y"',
    ),
    "output from AGENT": (
        sse(*agent_stream(CALL, output(**{"from": "AGENT"}), RESULT)),
        '"from" must be USER',
    ),
    "output of another run": (
        sse(*agent_stream(CALL, output(runId="r2"), RESULT)),
        "differs from the stream's r1",
    ),
    "half an envelope": (
        sse(*agent_stream(CALL, {"type": "data-x", "data": 1, "runId": "r1"}, RESULT)),
        "keys must be exactly type, runId, from, payload",
    ),
}


@pytest.mark.parametrize("case", BROKEN_TOOL_STREAMS)
async def test_the_mastra_harness_refuses_a_broken_tool_stream(
    case: str, serve: Serve, js_clients: JsClients
) -> None:
    body, problem = BROKEN_TOOL_STREAMS[case]

    async def stream(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/event-stream")

    broken = web.Application()
    broken.router.add_post("/api/agents/a/stream", stream)
    base = await serve(broken)
    run = await js_clients.run(
        "mastra", {"base": base, "steps": [{"action": "tool-stream", "agent": "a"}]}
    )
    assert run.code == 1
    assert "mastra: FAIL: step 0 (tool-stream): " in run.stderr
    assert problem in run.stderr
