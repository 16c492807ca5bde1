"""The AI SDK v5 UI message stream: agent, workflow and network mappings, framing, messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
import reactivex
from pydantic import BaseModel
from reactivex import Observable
from reactivex import operators as ops

from rxagents.adapters.ai_sdk import (
    DONE,
    UI_MESSAGE_STREAM_HEADERS,
    encode_ui_message_chunk,
    encode_ui_message_stream,
    from_ai_sdk_v5_messages,
    to_ai_sdk_v5_messages,
    to_ai_sdk_v5_stream,
)
from rxagents.agent import Agent, tool
from rxagents.errors import InvalidInputError
from rxagents.events import parse_chunk
from rxagents.models import FunctionModel, ScriptedModel
from rxagents.workflow import Step, Workflow

# --- helpers --------------------------------------------------------------------------------

V5_REASONS = {"stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"}


def check_ui_stream(parts: Sequence[dict[str, Any]], *, allow_error: bool = False) -> None:
    """The strict lifecycle rules aisdk-check applies (its orderingChecks), in Python."""
    started = finished = step_open = False
    text: set[str] = set()
    reasoning: set[str] = set()
    tools: dict[str, str] = {}
    for n, part in enumerate(parts):
        kind = part["type"]
        where = f"#{n} {part}"
        assert not finished, f"{where}: after finish"
        assert all("_" not in key for key in part), f"{where}: snake_case key"
        if kind == "start":
            assert not started, f"{where}: second start"
            started = True
            continue
        if kind not in ("error", "abort") and not kind.startswith("data-"):
            assert started, f"{where}: before start"
        if kind == "start-step":
            assert not step_open, f"{where}: step already open"
            step_open = True
        elif kind == "finish-step":
            assert step_open, f"{where}: no open step"
            assert not text | reasoning, f"{where}: parts open {text | reasoning}"
            step_open = False
        elif kind in ("text-start", "reasoning-start"):
            assert step_open, f"{where}: outside a step"
            opened = text if kind == "text-start" else reasoning
            assert part["id"] not in opened, f"{where}: already open"
            opened.add(part["id"])
        elif kind in ("text-delta", "reasoning-delta"):
            opened = text if kind == "text-delta" else reasoning
            assert part["id"] in opened, f"{where}: not open"
            assert isinstance(part["delta"], str)
        elif kind in ("text-end", "reasoning-end"):
            opened = text if kind == "text-end" else reasoning
            assert part["id"] in opened, f"{where}: not open"
            opened.discard(part["id"])
        elif kind == "tool-input-start":
            assert step_open, where
            assert part["toolCallId"] not in tools, where
            tools[part["toolCallId"]] = "streaming"
        elif kind == "tool-input-delta":
            assert tools.get(part["toolCallId"]) == "streaming", where
        elif kind in ("tool-input-available", "tool-input-error"):
            assert step_open, where
            assert tools.get(part["toolCallId"], "streaming") == "streaming", where
            tools[part["toolCallId"]] = "available"
        elif kind in ("tool-output-available", "tool-output-error"):
            assert tools.get(part["toolCallId"]) == "available", where
            tools[part["toolCallId"]] = "output"
            if kind == "tool-output-error":
                assert isinstance(part["errorText"], str)
        elif kind == "error":
            assert allow_error, f"{where}: error chunk"
            assert not text | reasoning, f"{where}: parts open at error"
        elif kind == "abort":
            assert not text | reasoning, where
            assert not step_open, where
            return
        elif kind == "finish":
            assert not step_open, where
            assert not text | reasoning, where
            assert part.get("finishReason", "stop") in V5_REASONS, where
            finished = True
        else:
            assert kind.startswith("data-") or kind in ("source-url", "source-document", "file")
    assert finished, "no finish chunk"
    assert all(phase == "output" for phase in tools.values()), tools


async def ui_of(source: Any, from_: Any = "agent", **options: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await to_ai_sdk_v5_stream(source, from_, **options).pipe(
        ops.to_list()
    )
    return result


def ui_now(chunks: Iterable[Any], from_: Any = "agent", **options: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    to_ai_sdk_v5_stream(reactivex.from_iterable(list(chunks)), from_, **options).subscribe(
        parts.append
    )
    return parts


def types(parts: Sequence[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in parts]


def usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


def text_step(*deltas: str, block: str = "t1") -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": block},
        *({"type": "text-delta", "id": block, "delta": d} for d in deltas),
        {"type": "text-end", "id": block},
        {"type": "finish", "finishReason": "stop", "usage": usage(10, 5)},
    ]


@tool
def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temp": 21}


@tool
def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"tool failed: {reason}")


TOOL_STEP = [
    {"type": "reasoning-start", "id": "r1"},
    {"type": "reasoning-delta", "id": "r1", "delta": "Need the weather."},
    {"type": "reasoning-end", "id": "r1"},
    {"type": "tool-input-start", "id": "c1", "toolName": "weather"},
    {"type": "tool-input-delta", "id": "c1", "delta": '{"city":'},
    {"type": "tool-input-delta", "id": "c1", "delta": '"Paris"}'},
    {"type": "tool-input-end", "id": "c1"},
    {"type": "tool-call", "toolCallId": "c1", "toolName": "weather", "input": '{"city":"Paris"}'},
    {"type": "tool-call", "toolCallId": "c2", "toolName": "explode", "input": '{"reason":"x"}'},
    {"type": "finish", "finishReason": "tool-calls", "usage": usage(15, 5)},
]


def chunk(kind: str, payload: dict[str, Any], run_id: str = "r1", src: str = "AGENT") -> Any:
    return parse_chunk({"type": kind, "runId": run_id, "from": src, "payload": payload})


def finish(reason: str, run_id: str = "r1", kind: str = "finish") -> Any:
    return chunk(
        kind,
        {"stepResult": {"reason": reason}, "output": {"text": "", "usage": usage(1, 1)}},
        run_id,
    )


# --- the agent mapping ----------------------------------------------------------------------


async def test_agent_text_maps_to_start_step_text_and_finish() -> None:
    agent = Agent("a", model=ScriptedModel([text_step("Hello", ", world")]))
    stream = await agent.stream("hi")
    parts = await ui_of(stream)
    message_id = stream.chunks[0].payload.message_id
    assert parts == [
        {"type": "start", "messageId": message_id},
        {"type": "start-step"},
        {"type": "text-start", "id": "t1"},
        {"type": "text-delta", "id": "t1", "delta": "Hello"},
        {"type": "text-delta", "id": "t1", "delta": ", world"},
        {"type": "text-end", "id": "t1"},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "stop"},
    ]
    check_ui_stream(parts)


async def test_agent_tools_map_to_tool_input_and_output_parts() -> None:
    model = ScriptedModel([TOOL_STEP, text_step("It is 21C", block="t2")])
    agent = Agent("a", model=model, tools=[weather, explode])
    parts = await ui_of(agent.observe("weather?"))
    check_ui_stream(parts)
    assert types(parts) == [
        "start",
        "start-step",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-delta",
        "tool-input-available",
        "tool-input-available",
        "tool-output-available",
        "tool-output-error",
        "finish-step",
        "start-step",
        "text-start",
        "text-delta",
        "text-end",
        "finish-step",
        "finish",
    ]
    by_type = {p["type"]: p for p in parts}
    assert by_type["tool-input-start"] == {
        "type": "tool-input-start",
        "toolCallId": "c1",
        "toolName": "weather",
    }
    assert parts[6] == {
        "type": "tool-input-delta",
        "toolCallId": "c1",
        "inputTextDelta": '{"city":',
    }
    assert parts[8] == {
        "type": "tool-input-available",
        "toolCallId": "c1",
        "toolName": "weather",
        "input": {"city": "Paris"},
    }
    assert by_type["tool-output-available"] == {
        "type": "tool-output-available",
        "toolCallId": "c1",
        "output": {"city": "Paris", "temp": 21},
    }
    assert by_type["tool-output-error"] == {
        "type": "tool-output-error",
        "toolCallId": "c2",
        "errorText": "tool failed: x",
    }
    assert all("dynamic" not in p for p in parts)


def test_tool_error_text_is_the_message_of_a_mastra_error_without_message() -> None:
    mastra_error = {
        "name": "Error",
        "cause": {"message": "tool failed: Boom", "name": "Error"},
        "id": "TOOL_EXECUTION_FAILED",
    }
    parts = ui_now(
        [
            chunk("start", {"id": "a", "messageId": "m"}),
            chunk("step-start", {}),
            chunk("tool-call", {"toolCallId": "c9", "toolName": "search", "args": {"q": "x"}}),
            chunk(
                "tool-error",
                {"toolCallId": "c9", "toolName": "search", "args": {}, "error": mastra_error},
            ),
            finish("tool-calls", kind="step-finish"),
            finish("tool-calls"),
        ]
    )
    check_ui_stream(parts)
    assert parts[3] == {
        "type": "tool-output-error",
        "toolCallId": "c9",
        "errorText": "tool failed: Boom",
    }


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("content-filter", "content-filter"),
        ("tool-calls", "tool-calls"),
        ("error", "error"),
        ("other", "other"),
        ("tripwire", "other"),
        ("retry", "other"),
        ("abort", "other"),
    ],
)
def test_finish_reason_is_kept_in_the_v5_enum_and_other_otherwise(
    reason: str, expected: str
) -> None:
    parts = ui_now([chunk("start", {"id": "a"}), finish(reason)])
    assert parts == [{"type": "start"}, {"type": "finish", "finishReason": expected}]


def test_error_closes_open_parts_first_and_the_step_still_finishes() -> None:
    parts = ui_now(
        [
            chunk("start", {"id": "a", "messageId": "m"}),
            chunk("step-start", {}),
            chunk("text-start", {"id": "t1"}),
            chunk("text-delta", {"id": "t1", "text": "Hel"}),
            chunk("reasoning-start", {"id": "r1"}),
            chunk("error", {"error": {"name": "APICallError", "message": "provider exploded"}}),
            finish("error", kind="step-finish"),
            finish("error"),
        ]
    )
    check_ui_stream(parts, allow_error=True)
    assert types(parts)[5:] == [
        "text-end",
        "reasoning-end",
        "error",
        "finish-step",
        "finish",
    ]
    assert parts[7] == {"type": "error", "errorText": "provider exploded"}


async def test_cancelled_stream_closes_parts_and_step_then_aborts() -> None:
    started = asyncio.Event()

    async def slow(call: Any) -> Any:
        yield {"type": "text-start", "id": "t1"}
        yield {"type": "text-delta", "id": "t1", "delta": "partial"}
        started.set()
        await asyncio.Event().wait()

    stream = await Agent("a", model=FunctionModel(slow)).stream("hi")
    await started.wait()
    stream.cancel()
    parts = await ui_of(stream)
    assert types(parts) == [
        "start",
        "start-step",
        "text-start",
        "text-delta",
        "text-end",
        "finish-step",
        "abort",
    ]
    check_ui_stream(parts)


def test_send_start_and_send_finish_can_be_turned_off() -> None:
    chunks = [
        chunk("start", {"id": "a", "messageId": "m"}),
        chunk("step-start", {}),
        chunk("text-delta", {"id": "t1", "text": "x"}),
        finish("stop", kind="step-finish"),
        finish("stop"),
    ]
    parts = ui_now(chunks, send_start=False, send_finish=False)
    assert types(parts) == ["start-step", "text-start", "text-delta", "text-end", "finish-step"]


def test_a_failing_source_ends_in_band_with_error_and_finish() -> None:
    source: Observable[Any] = reactivex.concat(
        reactivex.of(
            chunk("start", {"id": "a", "messageId": "m"}),
            chunk("step-start", {}),
            chunk("text-delta", {"id": "t1", "text": "x"}),
        ),
        reactivex.throw(RuntimeError("socket hang up")),
    )
    parts: list[dict[str, Any]] = []
    errors: list[Exception] = []
    done: list[bool] = []
    to_ai_sdk_v5_stream(source).subscribe(parts.append, errors.append, lambda: done.append(True))
    assert not errors
    assert done == [True]
    assert types(parts)[-4:] == ["text-end", "finish-step", "error", "finish"]
    assert parts[-2] == {"type": "error", "errorText": "socket hang up"}
    assert parts[-1] == {"type": "finish", "finishReason": "error"}
    check_ui_stream(parts, allow_error=True)


def test_wire_dicts_are_parsed() -> None:
    parts = ui_now(
        [
            {"type": "start", "runId": "r", "from": "AGENT", "payload": {"id": "a"}},
            {
                "type": "finish",
                "runId": "r",
                "from": "AGENT",
                "payload": {"stepResult": {"reason": "stop"}, "output": {"usage": usage(1, 1)}},
            },
        ]
    )
    assert parts == [{"type": "start"}, {"type": "finish", "finishReason": "stop"}]


def test_an_unknown_source_kind_or_input_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="from_"):
        to_ai_sdk_v5_stream(reactivex.empty(), "chat")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="Observable"):
        to_ai_sdk_v5_stream([1, 2])  # type: ignore[arg-type]


def test_an_unparseable_item_becomes_an_in_band_error() -> None:
    parts = ui_now([{"type": "text-delta", "runId": "r1", "from": "AGENT", "payload": {}}])
    assert types(parts) == ["start", "error", "finish"]


def test_content_before_any_step_opens_one() -> None:
    parts = ui_now(
        [
            chunk("text-delta", {"id": "t1", "text": "x"}),
            chunk(
                "source",
                {"id": "s1", "sourceType": "url", "title": "Ex", "url": "https://example.com"},
            ),
        ]
    )
    check_ui_stream(parts)
    assert parts[4] == {
        "type": "source-url",
        "sourceId": "s1",
        "url": "https://example.com",
        "title": "Ex",
    }


# --- workflows ------------------------------------------------------------------------------


def workflow_chunks() -> list[Any]:
    w = "wf-run"

    def step(kind: str, step_id: str, **extra: Any) -> Any:
        return chunk(kind, {"id": step_id, "stepName": step_id, **extra}, w, "WORKFLOW")

    def agent_out(kind: str, payload: dict[str, Any]) -> Any:
        inner = {"type": kind, "runId": "agent-run", "from": "AGENT", "payload": payload}
        return chunk(
            "workflow-step-output", {"stepName": "ask", "output": inner, "runId": w}, w, "USER"
        )

    return [
        chunk("workflow-start", {"workflowId": "wf"}, w, "WORKFLOW"),
        step("workflow-step-start", "inc", payload={"n": 1}, status="running"),
        chunk(
            "workflow-step-output",
            {"stepName": "inc", "output": {"custom": "hello"}, "runId": w},
            w,
            "USER",
        ),
        chunk(
            "workflow-step-output",
            {"stepName": "inc", "output": {"type": "data-progress", "data": {"pct": 50}}},
            w,
            "USER",
        ),
        step("workflow-step-result", "inc", payload={"n": 1}, status="success", output={"n": 2}),
        step("workflow-step-start", "ask", payload={"prompt": "hi"}, status="running"),
        agent_out("start", {"id": "helper", "messageId": "m"}),
        agent_out("step-start", {}),
        agent_out("text-start", {"id": "t1"}),
        agent_out("text-delta", {"id": "t1", "text": "Hi!"}),
        agent_out("text-end", {"id": "t1"}),
        agent_out(
            "step-finish",
            {"stepResult": {"reason": "stop"}, "output": {"text": "Hi!", "usage": usage(3, 2)}},
        ),
        agent_out(
            "finish",
            {"stepResult": {"reason": "stop"}, "output": {"text": "Hi!", "usage": usage(3, 2)}},
        ),
        step("workflow-step-result", "ask", status="success", output={"text": "Hi!"}),
        step(
            "workflow-step-suspended",
            "approve",
            status="suspended",
            suspendPayload={"why": "need approval"},
        ),
        chunk(
            "workflow-finish",
            {"workflowStatus": "suspended", "output": {"usage": usage(3, 2)}},
            w,
            "WORKFLOW",
        ),
    ]


def test_workflow_state_is_one_data_workflow_part_re_sent_with_the_run_id() -> None:
    parts = ui_now(workflow_chunks(), "workflow")
    check_ui_stream(parts)
    data = [p for p in parts if p["type"] == "data-workflow"]
    assert {p["id"] for p in data} == {"wf-run"}
    assert data[0]["data"] == {"name": "wf", "status": "running", "steps": {}, "output": None}
    last = data[-1]["data"]
    assert last["status"] == "suspended"
    assert last["steps"]["inc"] == {
        "name": "inc",
        "status": "success",
        "input": {"n": 1},
        "output": {"n": 2},
        "suspendPayload": None,
        "resumePayload": None,
    }
    assert last["steps"]["approve"]["suspendPayload"] == {"why": "need approval"}
    assert last["output"]["usage"]["inputTokens"] == 3
    assert parts[-1] == {"type": "finish", "finishReason": "other"}
    # earlier snapshots are not changed by later ones
    assert data[1]["data"]["steps"]["inc"]["status"] == "running"


async def test_foreach_progress_and_sleep_waiting_update_the_workflow_part() -> None:
    class N(BaseModel):
        n: int

    double = Step("dbl", N, N, lambda ctx: {"n": ctx.input_data.n * 2})
    workflow = Workflow("wf", None, None).foreach(double).sleep(0).commit()
    stream = await (await workflow.create_run("wf-run")).stream(input_data=[{"n": 1}, {"n": 2}])
    parts = await ui_of(stream, "workflow")
    check_ui_stream(parts)
    data = [p["data"] for p in parts if p["type"] == "data-workflow"]
    # start, foreach start, its result, waiting, the sleep's result, finish: progress adds none
    assert len(data) == 6
    assert data[3]["steps"]["sleep_wf_0"]["status"] == "waiting"
    last = data[-1]
    assert last["status"] == "success"
    assert last["steps"]["dbl"] == {
        "name": "dbl",
        "status": "success",
        "input": [{"n": 1}, {"n": 2}],  # kept from the start: the thin result has no input
        "output": [{"n": 2}, {"n": 4}],
        "suspendPayload": None,
        "resumePayload": None,
    }
    assert last["steps"]["sleep_wf_0"]["input"] == [{"n": 2}, {"n": 4}]
    assert last["steps"]["sleep_wf_0"]["status"] == "success"


def test_workflow_agent_step_text_and_custom_data_reach_the_message() -> None:
    parts = ui_now(workflow_chunks(), "workflow")
    assert {"type": "data-progress", "data": {"pct": 50}} in parts
    text = [p for p in parts if p["type"].startswith("text-")]
    assert text == [
        {"type": "text-start", "id": "agent-run:t1"},
        {"type": "text-delta", "id": "agent-run:t1", "delta": "Hi!"},
        {"type": "text-end", "id": "agent-run:t1"},
    ]
    assert types(parts).count("start-step") == types(parts).count("finish-step") == 1


def test_parallel_agent_steps_share_one_ui_step_until_both_finish() -> None:
    w = "wf"

    def out(run: str, kind: str, payload: dict[str, Any]) -> Any:
        inner = {"type": kind, "runId": run, "from": "AGENT", "payload": payload}
        return chunk("workflow-step-output", {"stepName": run, "output": inner}, w, "USER")

    done = {"stepResult": {"reason": "stop"}, "output": {"usage": usage(1, 1)}}
    parts = ui_now(
        [
            chunk("workflow-start", {"workflowId": "wf"}, w, "WORKFLOW"),
            out("a", "step-start", {}),
            out("b", "step-start", {}),
            out("a", "text-delta", {"id": "t1", "text": "A"}),
            out("b", "text-delta", {"id": "t1", "text": "B"}),
            out("a", "step-finish", done),
            out("b", "text-end", {"id": "t1"}),
            out("b", "step-finish", done),
            chunk(
                "workflow-finish",
                {"workflowStatus": "success", "output": {"usage": usage(2, 2)}},
                w,
                "WORKFLOW",
            ),
        ],
        "workflow",
    )
    check_ui_stream(parts)
    assert types(parts).count("start-step") == 1
    assert parts[-1] == {"type": "finish", "finishReason": "stop"}


# --- networks -------------------------------------------------------------------------------


def network_chunks() -> list[Any]:
    n = "net-run"

    def net(kind: str, payload: dict[str, Any]) -> Any:
        return chunk(kind, payload, n, "NETWORK")

    inner = {
        "type": "text-delta",
        "runId": "exec-1",
        "from": "AGENT",
        "payload": {"id": "t", "text": "Dolphins"},
    }
    return [
        net(
            "routing-agent-start",
            {
                "networkId": "net",
                "agentId": "routing-agent",
                "runId": "route-0",
                "inputData": {"task": "t", "iteration": 0},
            },
        ),
        net(
            "routing-agent-end",
            {
                "task": "t",
                "primitiveId": "researcher",
                "primitiveType": "agent",
                "prompt": "research",
                "selectionReason": "needs facts",
                "iteration": 0,
                "runId": "route-0",
                "usage": usage(100, 10),
            },
        ),
        net(
            "agent-execution-start",
            {
                "agentId": "researcher",
                "args": {"prompt": "research", "iteration": 0},
                "runId": "exec-1",
            },
        ),
        net("agent-execution-event-text-delta", inner),
        net(
            "agent-execution-end",
            {
                "agentId": "researcher",
                "result": "Dolphins are smart",
                "iteration": 0,
                "runId": "exec-1",
                "usage": usage(20, 5),
            },
        ),
        net("network-validation-start", {"runId": n, "iteration": 0}),
        net("routing-agent-text-start", {"runId": "x"}),
        net("network-validation-end", {"passed": False, "iteration": 0}),
        net(
            "routing-agent-start",
            {
                "networkId": "net",
                "agentId": "routing-agent",
                "runId": "route-1",
                "inputData": {"task": "t", "iteration": 1},
            },
        ),
        net(
            "routing-agent-end",
            {
                "primitiveId": "none",
                "primitiveType": "none",
                "isComplete": True,
                "iteration": 1,
                "runId": "route-1",
            },
        ),
        net("network-validation-start", {"runId": n, "iteration": 1}),
        net("routing-agent-text-start", {"runId": "y"}),
        net("routing-agent-text-delta", {"text": "Dolphins are "}),
        net("routing-agent-text-delta", {"text": "smart."}),
        net("network-validation-end", {"passed": True, "iteration": 1}),
        net(
            "network-execution-event-finish",
            {
                "task": "t",
                "result": "Dolphins are smart.",
                "isComplete": True,
                "iteration": 1,
                "usage": usage(120, 15),
            },
        ),
    ]


def test_network_text_starts_are_each_closed_and_state_is_data_network() -> None:
    parts = ui_now(network_chunks(), "network")
    check_ui_stream(parts)
    text = [p for p in parts if p["type"].startswith("text-")]
    assert [p["type"] for p in text] == [
        "text-start",
        "text-end",
        "text-start",
        "text-delta",
        "text-delta",
        "text-end",
    ]
    assert len({p["id"] for p in text}) == 2
    data = [p for p in parts if p["type"] == "data-network"]
    assert {p["id"] for p in data} == {"net-run"}
    final = data[-1]["data"]
    assert final["status"] == "finished"
    assert final["output"] == "Dolphins are smart."
    assert [s["name"] for s in final["steps"]] == ["routing-agent", "researcher", "routing-agent"]
    assert final["steps"][1]["output"] == "Dolphins are smart"
    assert final["steps"][0]["task"]["id"] == "researcher"
    assert final["usage"]["inputTokens"] == 120
    assert parts[-1] == {"type": "finish", "finishReason": "stop"}


def test_network_without_streamed_text_shows_its_result_as_text() -> None:
    chunks = [c for c in network_chunks() if not c.type.startswith("routing-agent-text")]
    parts = ui_now(chunks, "network")
    check_ui_stream(parts)
    deltas = [p["delta"] for p in parts if p["type"] == "text-delta"]
    assert deltas == ["Dolphins are smart."]


# --- framing --------------------------------------------------------------------------------


def test_encode_ui_message_stream_frames_events_and_ends_with_done() -> None:
    body: list[bytes] = []
    encode_ui_message_stream(reactivex.of({"type": "start"}, {"type": "finish"})).subscribe(
        body.append
    )
    assert b"".join(body) == b'data: {"type":"start"}\n\ndata: {"type":"finish"}\n\n' + DONE
    assert DONE == b"data: [DONE]\n\n"
    assert encode_ui_message_chunk({"type": "text-delta", "id": "t", "delta": "a\nb"}) == (
        b'data: {"type":"text-delta","id":"t","delta":"a\\nb"}\n\n'
    )
    assert UI_MESSAGE_STREAM_HEADERS["x-vercel-ai-ui-message-stream"] == "v1"
    assert UI_MESSAGE_STREAM_HEADERS["Content-Type"] == "text/event-stream"


# --- messages -------------------------------------------------------------------------------


def test_to_ai_sdk_v5_messages_merges_steps_and_tool_results() -> None:
    stored = [
        {"id": "u1", "role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "Need data."},
                {
                    "type": "tool-call",
                    "toolCallId": "c1",
                    "toolName": "weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool-call", "toolCallId": "c2", "toolName": "explode", "input": {}},
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool-result",
                    "toolCallId": "c1",
                    "toolName": "weather",
                    "output": {"type": "json", "value": {"temp": 21}},
                },
                {
                    "type": "tool-result",
                    "toolCallId": "c2",
                    "toolName": "explode",
                    "output": {"type": "error-text", "value": "boom"},
                },
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "It is 21C."}]},
    ]
    ids = iter(["a1"])
    ui = to_ai_sdk_v5_messages(stored, generate_id=lambda: next(ids))
    assert ui == [
        {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Weather in Paris?"}]},
        {
            "id": "a1",
            "role": "assistant",
            "parts": [
                {"type": "step-start"},
                {"type": "reasoning", "text": "Need data.", "state": "done"},
                {
                    "type": "tool-weather",
                    "toolCallId": "c1",
                    "state": "output-available",
                    "input": {"city": "Paris"},
                    "output": {"temp": 21},
                },
                {
                    "type": "tool-explode",
                    "toolCallId": "c2",
                    "state": "output-error",
                    "input": {},
                    "errorText": "boom",
                },
                {"type": "step-start"},
                {"type": "text", "text": "It is 21C.", "state": "done"},
            ],
        },
    ]
    # and back again: one assistant message per step, tool results after their calls
    prompt = from_ai_sdk_v5_messages(ui)
    assert [m["role"] for m in prompt] == ["user", "assistant", "tool", "assistant"]
    assert prompt[2]["content"][0]["output"] == {"type": "json", "value": {"temp": 21}}
    assert prompt[2]["content"][1]["output"] == {"type": "error-text", "value": "boom"}
    assert prompt[1]["content"][1] == {
        "type": "tool-call",
        "toolCallId": "c1",
        "toolName": "weather",
        "input": {"city": "Paris"},
    }


def test_from_ai_sdk_v5_messages_reads_what_use_chat_posts() -> None:
    posted = json.loads(
        '{"id":"aisdk-check","messages":[{"id":"m1","role":"user","parts":'
        '[{"type":"text","text":"hi"}]}],"trigger":"submit-message"}'
    )
    assert from_ai_sdk_v5_messages(posted["messages"]) == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]}
    ]


def test_from_ai_sdk_v5_messages_drops_data_parts_and_streaming_tools() -> None:
    ui = [
        {"id": "s", "role": "system", "parts": [{"type": "text", "text": "Be brief."}]},
        {
            "id": "u",
            "role": "user",
            "parts": [
                {"type": "text", "text": "look"},
                {"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AA=="},
                {"type": "data-note", "data": {"x": 1}},
            ],
        },
        {
            "id": "a",
            "role": "assistant",
            "parts": [
                {
                    "type": "dynamic-tool",
                    "toolName": "dyn",
                    "toolCallId": "d1",
                    "state": "output-available",
                    "input": {},
                    "output": 1,
                },
                {"type": "tool-slow", "toolCallId": "s1", "state": "input-streaming"},
            ],
        },
    ]
    prompt = from_ai_sdk_v5_messages(ui)
    assert prompt[0] == {"role": "system", "content": "Be brief."}
    assert prompt[1]["content"][1] == {
        "type": "file",
        "mediaType": "image/png",
        "data": "data:image/png;base64,AA==",
    }
    assert len(prompt[1]["content"]) == 2
    assert prompt[2]["content"] == [
        {"type": "tool-call", "toolCallId": "d1", "toolName": "dyn", "input": {}}
    ]
    assert prompt[3]["content"][0]["output"] == {"type": "json", "value": 1}


@pytest.mark.parametrize(
    ("ui", "message"),
    [
        ("hi", "list"),
        ([{"role": "user"}], r"messages\[0\]\.parts"),
        ([{"role": "robot", "parts": []}], r"messages\[0\]\.role"),
        ([{"role": "user", "parts": [{"type": "text"}]}], r"parts\[0\]\.text"),
        ([{"role": "user", "parts": [7]}], r"parts\[0\]"),
        (["x"], r"messages\[0\]"),
    ],
)
def test_from_ai_sdk_v5_messages_names_the_bad_field(ui: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        from_ai_sdk_v5_messages(ui)


def test_to_ai_sdk_v5_messages_refuses_unknown_roles() -> None:
    with pytest.raises(InvalidInputError, match="role"):
        to_ai_sdk_v5_messages([{"role": "robot", "content": "x"}])
