"""The chunk model: exact wire dumps, lossless round trips of Mastra's chunks, parse errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from rxagents.errors import ChunkParseError, UnknownChunkTypeError
from rxagents.events import (
    CHUNK_CLASSES,
    MISSING,
    AgentExecutionEnd,
    ErrorInfo,
    ObjectChunk,
    ReasoningDelta,
    Start,
    StartPayload,
    StepFinish,
    StepStart,
    StepStartPayload,
    TextBlockPayload,
    TextDelta,
    TextDeltaPayload,
    TextEnd,
    ToolCall,
    ToolCallDelta,
    ToolCallDeltaPayload,
    ToolCallPayload,
    ToolError,
    WorkflowStepOutput,
    WorkflowStepOutputPayload,
    WorkflowStepProgress,
    WorkflowStepProgressPayload,
    WorkflowStepResult,
    WorkflowStepWaiting,
    WorkflowStepWaitingPayload,
    WrappedChunk,
    parse_chunk,
)
from rxagents.usage import Usage

# --- exact wire dumps of typed chunks ------------------------------------------------------------


def test_envelope_has_exactly_type_run_id_from_payload() -> None:
    chunk = TextDelta(run_id="r1", payload=TextDeltaPayload(id="t1", text="Hi"))
    assert chunk.model_dump(by_alias=True) == {
        "type": "text-delta",
        "runId": "r1",
        "from": "AGENT",
        "payload": {"id": "t1", "text": "Hi"},
    }
    assert json.loads(chunk.model_dump_json(by_alias=True)) == chunk.model_dump(by_alias=True)


def test_payload_keys_are_camel_case() -> None:
    payload = ToolCallDeltaPayload(tool_call_id="c1", tool_name="get_weather", args_text_delta="{")
    chunk = ToolCallDelta(run_id="r1", payload=payload)
    assert chunk.model_dump(by_alias=True)["payload"] == {
        "toolCallId": "c1",
        "toolName": "get_weather",
        "argsTextDelta": "{",
    }
    step = StepStart(run_id="r1", payload=StepStartPayload(message_id="m1", started_at=1700))
    assert step.model_dump(by_alias=True)["payload"] == {"messageId": "m1", "startedAt": 1700}


def test_python_names_are_snake_case_and_wire_names_are_accepted_too() -> None:
    by_alias = ToolCallPayload.model_validate({"toolCallId": "c1", "toolName": "t"})
    by_name = ToolCallPayload(tool_call_id="c1", tool_name="t")
    assert by_alias == by_name
    assert by_alias.tool_call_id == "c1"


def test_from_is_the_wire_name_of_from_() -> None:
    output = WorkflowStepOutput(run_id="w1", payload=WorkflowStepOutputPayload(output=1))
    dumped = output.model_dump(by_alias=True)
    assert dumped["from"] == "USER"
    assert "from_" not in dumped
    assert output.from_ == "USER"


def test_absent_optional_fields_stay_absent() -> None:
    assert Start(run_id="r1", payload=StartPayload()).model_dump(by_alias=True)["payload"] == {}
    call = ToolCall(run_id="r1", payload=ToolCallPayload(tool_call_id="c1", tool_name="t"))
    assert call.model_dump(by_alias=True)["payload"] == {"toolCallId": "c1", "toolName": "t"}
    assert "args" not in call.model_dump_json(by_alias=True)


def test_extra_payload_keys_are_kept() -> None:
    metadata = {"openai": {"itemId": "msg_1"}}
    payload = TextDeltaPayload(id="t1", text="Hi", providerMetadata=metadata)
    chunk = TextDelta(run_id="r1", payload=payload)
    assert chunk.model_dump(by_alias=True)["payload"] == {
        "id": "t1",
        "text": "Hi",
        "providerMetadata": metadata,
    }


def test_text_end_payload_that_repeats_the_type_keeps_it() -> None:
    chunk = TextEnd(run_id="r1", payload=TextBlockPayload(id="t1", type="text-end"))
    assert chunk.model_dump(by_alias=True)["payload"] == {"id": "t1", "type": "text-end"}
    wire = {"type": "text-end", "runId": "r1", "from": "AGENT"}
    wire["payload"] = {"type": "text-end", "id": "t1"}
    assert parse_chunk(wire).model_dump(by_alias=True) == wire


def test_wrapped_chunk_carries_the_inner_chunk_whole() -> None:
    inner = TextDelta(run_id="sub-1", payload=TextDeltaPayload(id="t1", text="Hi"))
    wrapped = WrappedChunk(type="agent-execution-event-text-delta", run_id="net-1", payload=inner)
    assert wrapped.prefix == "agent-execution-event-"
    assert wrapped.model_dump(by_alias=True) == {
        "type": "agent-execution-event-text-delta",
        "runId": "net-1",
        "from": "NETWORK",
        "payload": inner.model_dump(by_alias=True),
    }


def test_error_info_from_an_exception_has_name_and_message() -> None:
    info = ErrorInfo.from_exception(ValueError("bad input"))
    assert info.model_dump(by_alias=True) == {"name": "ValueError", "message": "bad input"}
    assert str(info) == "ValueError: bad input"


# --- Mastra's chunks round trip exactly ------------------------------------------------------

USAGE = {"inputTokens": 15, "outputTokens": 5, "totalTokens": 20}

MASTRA_CHUNKS: list[dict[str, Any]] = [
    {
        "type": "start",
        "runId": "r1",
        "from": "AGENT",
        "payload": {"id": "weather-agent", "messageId": "msg-1"},
    },
    {
        "type": "step-start",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "request": {"body": '{"model":"gpt-4o-mini"}'},
            "warnings": [],
            "messageId": "msg-1",
        },
    },
    {
        "type": "text-delta",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "id": "msg_68a1",
            "text": "Sunny",
            "providerMetadata": {"openai": {"itemId": "msg_68a1"}},
        },
    },
    {
        "type": "text-end",
        "runId": "r1",
        "from": "AGENT",
        "payload": {"type": "text-end", "id": "0"},
    },
    {
        "type": "reasoning-delta",
        "runId": "r1",
        "from": "AGENT",
        "payload": {"id": "rs_1", "text": "Let me think", "providerMetadata": {"openai": {}}},
    },
    {
        "type": "tool-call-input-streaming-start",
        "runId": "r1",
        "from": "AGENT",
        "payload": {"toolCallId": "call_1", "toolName": "weatherTool"},
    },
    {
        "type": "tool-call-delta",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "argsTextDelta": '{"location":',
            "toolCallId": "call_1",
            "toolName": "weatherTool",
        },
    },
    {
        "type": "tool-call",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "toolCallId": "call_1",
            "toolName": "weatherTool",
            "args": {"location": "London"},
            "providerMetadata": {"openai": {"itemId": "fc_1"}},
        },
    },
    {
        "type": "tool-result",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "toolCallId": "call_1",
            "toolName": "weatherTool",
            "args": {"location": "London"},
            "result": {"temperature": 18, "conditions": "Clear sky"},
        },
    },
    {
        "type": "tool-error",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "toolCallId": "call_2",
            "toolName": "weatherTool",
            "args": {},
            "error": {"__error__": {"name": "TypeError", "message": "location is required"}},
        },
    },
    {
        "type": "tool-error",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "toolCallId": "call_3",
            "toolName": "weatherTool",
            "args": {},
            "error": "Error: city not found",
        },
    },
    {
        "type": "step-finish",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "messageId": "msg-1",
            "stepResult": {"reason": "tool-calls", "warnings": [], "isContinued": True},
            "output": {
                "text": "",
                "toolCalls": [
                    {"toolCallId": "call_1", "toolName": "weatherTool", "args": {"location": "x"}}
                ],
                "usage": {**USAGE, "reasoningTokens": 0, "raw": {"prompt_tokens": 15}},
            },
            "metadata": {"id": "resp_1", "modelId": "gpt-4o-mini", "timestamp": "2025-01-01"},
        },
    },
    {
        "type": "finish",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "messageId": "msg-1",
            "stepResult": {"reason": "stop", "warnings": [], "isContinued": False},
            "output": {
                "text": "It is sunny.",
                "usage": {"inputTokens": 45, "outputTokens": 13, "totalTokens": 58},
            },
            "metadata": {"modelId": "gpt-4o-mini"},
        },
    },
    {
        "type": "error",
        "runId": "r1",
        "from": "AGENT",
        "payload": {
            "error": {"name": "APICallError", "message": "Rate limited", "statusCode": 429}
        },
    },
    {"type": "abort", "runId": "r1", "from": "AGENT", "payload": {}},
    {"type": "workflow-start", "runId": "w1", "from": "WORKFLOW", "payload": {"workflowId": "wf"}},
    {
        "type": "workflow-step-start",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "fetch",
            "id": "fetch",
            "stepCallId": "3f2c",
            "payload": {"city": "Oslo"},
            "startedAt": 1755000000000,
            "status": "running",
        },
    },
    {
        "type": "workflow-step-output",
        "runId": "w1",
        "from": "USER",
        "payload": {
            "stepName": "fetch",
            "runId": "w1",
            "output": {"type": "my-progress", "percent": 50, "payload": {"done": 1}},
        },
    },
    {
        "type": "workflow-step-output",
        "runId": "w1",
        "from": "USER",
        "payload": {
            "stepName": "writer",
            "runId": "w1",
            "output": {
                "type": "text-delta",
                "runId": "agent-run",
                "from": "AGENT",
                "payload": {"id": "0", "text": "Dear"},
            },
        },
    },
    {
        "type": "workflow-step-result",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "fetch",
            "id": "fetch",
            "stepCallId": "3f2c",
            "payload": {"city": "Oslo"},
            "startedAt": 1755000000000,
            "status": "success",
            "output": {"temp": 3},
            "endedAt": 1755000000042,
        },
    },
    {
        "type": "workflow-step-result",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "id": "charge",
            "stepCallId": "9a1b",
            "payload": {},
            "startedAt": 1755000000100,
            "status": "failed",
            "error": {"name": "Error", "message": "card declined", "stack": "Error: card declined"},
            "endedAt": 1755000000150,
        },
    },
    {
        "type": "workflow-step-suspended",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "id": "approve",
            "payload": {},
            "startedAt": 1755000000200,
            "status": "suspended",
            "suspendPayload": {"reason": "needs approval"},
            "suspendedAt": 1755000000201,
        },
    },
    {
        "type": "workflow-finish",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "workflowStatus": "success",
            "output": {"usage": USAGE},
            "metadata": {},
            "finalWorkflowResult": {"temp": 3},
        },
    },
    {
        "type": "routing-agent-start",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "networkId": "router",
            "agentId": "router",
            "runId": "n1",
            "inputData": {"task": "Research dolphins", "iteration": 0, "isOneOff": False},
        },
    },
    {
        "type": "routing-agent-end",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "task": "Research dolphins",
            "result": "",
            "primitiveId": "researcher",
            "primitiveType": "agent",
            "prompt": "Find facts about dolphins",
            "isComplete": False,
            "selectionReason": "The researcher finds facts",
            "iteration": 0,
            "runId": "n1",
            "usage": USAGE,
        },
    },
    {
        "type": "agent-execution-start",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {"agentId": "researcher", "args": {"prompt": "Find facts"}, "runId": "sub-1"},
    },
    {
        "type": "agent-execution-event-text-delta",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "type": "text-delta",
            "runId": "sub-1",
            "from": "AGENT",
            "payload": {"id": "0", "text": "Dolphins"},
        },
    },
    {
        "type": "agent-execution-end",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "task": "Research dolphins",
            "agentId": "researcher",
            "result": "Dolphins are mammals.",
            "isComplete": False,
            "iteration": 0,
            "runId": "sub-1",
            "usage": USAGE,
        },
    },
    {
        "type": "workflow-execution-event-workflow-step-result",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "type": "workflow-step-result",
            "runId": "wf-9",
            "from": "WORKFLOW",
            "payload": {"id": "s", "payload": None, "status": "success", "output": 1},
        },
    },
    {
        "type": "tool-execution-end",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "task": "t",
            "primitiveId": "calc",
            "primitiveType": "tool",
            "result": 42,
            "isComplete": False,
            "iteration": 1,
            "toolCallId": "call_9",
            "toolName": "calc",
        },
    },
    {
        "type": "network-validation-end",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "runId": "n1",
            "iteration": 1,
            "passed": True,
            "reason": "done",
            "duration": 12,
        },
    },
    {
        "type": "network-execution-event-finish",
        "runId": "n1",
        "from": "NETWORK",
        "payload": {
            "task": "Research dolphins",
            "primitiveId": "researcher",
            "primitiveType": "agent",
            "prompt": "",
            "result": "Dolphins are mammals.",
            "isComplete": True,
            "completionReason": "routing-agent-complete",
            "iteration": 1,
            "threadId": "thread-1",
            "isOneOff": False,
            "usage": USAGE,
        },
    },
    # Mastra's evented engine reports some step results without the step input (`payload`).
    {
        "type": "workflow-step-result",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {"id": "sleep-1", "endedAt": 1755000000300, "status": "success", "output": {}},
    },
    # Mastra 1.71.0: the body of a dountil/dowhile carries its iteration count.
    {
        "type": "workflow-step-start",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "inc",
            "id": "inc",
            "stepCallId": "c3",
            "payload": {"n": 1},
            "startedAt": 1795245739097,
            "status": "running",
            "metadata": {"iterationCount": 1},
        },
    },
    {
        "type": "workflow-step-result",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "inc",
            "id": "inc",
            "stepCallId": "c3",
            "payload": {"n": 1},
            "startedAt": 1795245739097,
            "status": "success",
            "metadata": {"iterationCount": 1},
            "output": {"n": 2},
            "endedAt": 1795245739100,
        },
    },
    # Mastra 1.71.0: a foreach reports each item, then a thin result.
    {
        "type": "workflow-step-progress",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "dbl",
            "id": "dbl",
            "completedCount": 1,
            "totalCount": 2,
            "currentIndex": 0,
            "iterationStatus": "success",
            "iterationOutput": {"n": 2},
        },
    },
    {
        "type": "workflow-step-progress",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "boom",
            "id": "boom",
            "completedCount": 2,
            "totalCount": 3,
            "currentIndex": 1,
            "iterationStatus": "failed",
        },
    },
    {
        "type": "workflow-step-suspended",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "sus",
            "id": "sus",
            "status": "suspended",
            "suspendPayload": {"why": "need approval"},
            "suspendedAt": 1795246246984,
        },
    },
    # Mastra 1.71.0: a sleep waits instead of starting.
    {
        "type": "workflow-step-waiting",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "sleep_301eb1a8-5742-4e3b-8e42-cfd53a03797c",
            "id": "sleep_301eb1a8-5742-4e3b-8e42-cfd53a03797c",
            "payload": {"n": 2},
            "startedAt": 1795245746914,
            "status": "waiting",
        },
    },
    # A failed step whose error carries only a message.
    {
        "type": "workflow-step-result",
        "runId": "w1",
        "from": "WORKFLOW",
        "payload": {
            "stepName": "alpha",
            "stepCallId": "c2",
            "id": "alpha",
            "payload": {"task": "ping"},
            "startedAt": 1788000751146,
            "status": "failed",
            "error": {"message": "model timed out"},
            "endedAt": 1788000752246,
        },
    },
]


def _case_id(chunk: dict[str, Any]) -> str:
    return f"{chunk['type']}-{MASTRA_CHUNKS.index(chunk)}"


@pytest.mark.parametrize("wire", MASTRA_CHUNKS, ids=_case_id)
def test_mastra_chunk_round_trips_exactly(wire: dict[str, Any]) -> None:
    chunk = parse_chunk(wire)
    assert chunk.model_dump(by_alias=True) == wire
    assert json.loads(chunk.model_dump_json(by_alias=True)) == wire
    assert parse_chunk(json.dumps(wire)) == chunk
    assert parse_chunk(json.dumps(wire).encode()) == chunk


def test_progress_and_waiting_chunks_are_typed() -> None:
    by_type = {c["type"]: parse_chunk(c) for c in MASTRA_CHUNKS}
    progress = by_type["workflow-step-progress"]
    assert isinstance(progress, WorkflowStepProgress)
    assert isinstance(progress.payload, WorkflowStepProgressPayload)
    assert progress.from_ == "WORKFLOW"
    assert progress.payload.iteration_output is MISSING  # the failed item's chunk came last
    waiting = by_type["workflow-step-waiting"]
    assert isinstance(waiting, WorkflowStepWaiting)
    assert waiting.payload.status == "waiting"
    assert waiting.payload.step_call_id is MISSING


def test_new_workflow_chunks_built_in_python_dump_mastras_keys() -> None:
    progress = WorkflowStepProgress(
        run_id="w1",
        payload=WorkflowStepProgressPayload(
            id="dbl",
            step_name="dbl",
            completed_count=1,
            total_count=2,
            current_index=0,
            iteration_status="success",
            iteration_output={"n": 2},
        ),
    )
    wire = progress.model_dump(by_alias=True)
    assert set(wire) == {"type", "runId", "from", "payload"}
    assert wire["from"] == "WORKFLOW"
    assert set(wire["payload"]) == {
        "stepName",
        "id",
        "completedCount",
        "totalCount",
        "currentIndex",
        "iterationStatus",
        "iterationOutput",
    }
    assert parse_chunk(json.dumps(wire)) == progress
    waiting = WorkflowStepWaiting(
        run_id="w1",
        payload=WorkflowStepWaitingPayload(
            id="sleep_wf_0", step_name="sleep_wf_0", payload={"n": 2}, started_at=1
        ),
    )
    wire = waiting.model_dump(by_alias=True)
    assert wire["type"] == "workflow-step-waiting"
    assert wire["payload"] == {
        "id": "sleep_wf_0",
        "stepName": "sleep_wf_0",
        "payload": {"n": 2},
        "startedAt": 1,
        "status": "waiting",
    }
    assert parse_chunk(json.dumps(wire)) == waiting


def test_parsed_chunks_are_typed() -> None:
    by_type = {c["type"]: parse_chunk(c) for c in MASTRA_CHUNKS}
    assert isinstance(by_type["step-finish"], StepFinish)
    assert isinstance(by_type["reasoning-delta"], ReasoningDelta)
    assert isinstance(by_type["agent-execution-end"], AgentExecutionEnd)
    wrapped = by_type["agent-execution-event-text-delta"]
    assert isinstance(wrapped, WrappedChunk)
    assert isinstance(wrapped.payload, TextDelta)
    assert wrapped.payload.run_id == "sub-1"


def test_step_usage_keeps_raw_but_parses_the_counters() -> None:
    step = parse_chunk(next(c for c in MASTRA_CHUNKS if c["type"] == "step-finish"))
    assert isinstance(step, StepFinish)
    usage = step.payload.output.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (15, 5, 20)
    assert usage.model_extra == {"raw": {"prompt_tokens": 15}}


def test_tool_errors_keep_the_message_of_every_form() -> None:
    errors = [parse_chunk(c) for c in MASTRA_CHUNKS if c["type"] == "tool-error"]
    assert all(isinstance(e, ToolError) for e in errors)
    messages = [e.payload.error.message for e in errors if isinstance(e, ToolError)]
    assert messages == ["location is required", "Error: city not found"]
    first = errors[0]
    assert isinstance(first, ToolError)
    assert first.payload.error.name == "TypeError"


def test_failed_step_result_carries_its_error() -> None:
    failed = parse_chunk(next(c for c in MASTRA_CHUNKS if c["payload"].get("id") == "charge"))
    assert isinstance(failed, WorkflowStepResult)
    assert failed.payload.status == "failed"
    assert isinstance(failed.payload.error, ErrorInfo)
    assert failed.payload.error.message == "card declined"


# --- workflow-step-output: a chunk when it is one, plain JSON otherwise -------------------------


def _step_output(output: Any) -> dict[str, Any]:
    return {
        "type": "workflow-step-output",
        "runId": "w1",
        "from": "USER",
        "payload": {"stepName": "s", "output": output},
    }


def test_step_output_with_a_custom_type_stays_plain_json() -> None:
    custom = {"type": "my-progress", "payload": {"percent": 50}}
    chunk = parse_chunk(_step_output(custom))
    assert isinstance(chunk, WorkflowStepOutput)
    assert chunk.payload.output == custom
    assert type(chunk.payload.output) is dict


@pytest.mark.parametrize("output", [None, 3, "text", [1, {"type": "x"}], {"a": {"b": None}}])
def test_step_output_plain_values_round_trip(output: Any) -> None:
    wire = _step_output(output)
    assert parse_chunk(wire).model_dump(by_alias=True) == wire


def test_step_output_holding_an_agent_chunk_parses_it() -> None:
    inner = {"type": "text-delta", "runId": "a1", "from": "AGENT"}
    inner["payload"] = {"id": "0", "text": "Hi"}
    chunk = parse_chunk(_step_output(inner))
    assert isinstance(chunk, WorkflowStepOutput)
    assert isinstance(chunk.payload.output, TextDelta)
    assert chunk.model_dump(by_alias=True) == _step_output(inner)


def test_step_output_holding_a_wrapped_chunk_parses_it() -> None:
    inner = {
        "type": "text-delta",
        "runId": "a1",
        "from": "AGENT",
        "payload": {"id": "0", "text": ""},
    }
    wrapped = {"type": "agent-execution-event-text-delta", "runId": "n", "from": "NETWORK"}
    wrapped["payload"] = inner
    chunk = parse_chunk(_step_output(wrapped))
    assert isinstance(chunk, WorkflowStepOutput)
    assert isinstance(chunk.payload.output, WrappedChunk)
    assert chunk.model_dump(by_alias=True) == _step_output(wrapped)


def test_step_output_holding_mastras_payloadless_object_chunk_parses_it() -> None:
    # Mastra sends `object` with a top-level `object` key and no payload; an agent used as a
    # step wraps it whole, and it must come back as the chunk it is.
    inner = {"type": "object", "runId": "a1", "from": "AGENT", "object": {"city": "Oslo"}}
    chunk = parse_chunk(_step_output(inner))
    assert isinstance(chunk, WorkflowStepOutput)
    assert isinstance(chunk.payload.output, ObjectChunk)
    typed = WorkflowStepOutput(
        run_id="w1",
        payload=WorkflowStepOutputPayload(output=ObjectChunk(run_id="a1", object={"x": 1})),
    )
    assert parse_chunk(typed.model_dump(by_alias=True)) == typed


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "named"),
    [
        (
            {"type": "thinking-delta", "runId": "r", "from": "AGENT", "payload": {}},
            "thinking-delta",
        ),
        ('{"type": "nope", "runId": "r", "from": "AGENT", "payload": {}}', "nope"),
        (
            {
                "type": "agent-execution-event-mystery",
                "runId": "n",
                "from": "NETWORK",
                "payload": {"type": "mystery", "runId": "a", "from": "AGENT", "payload": {}},
            },
            "mystery",
        ),
    ],
)
def test_unknown_type_raises_unknown_chunk_type_error_naming_it(wire: Any, named: str) -> None:
    with pytest.raises(UnknownChunkTypeError) as info:
        parse_chunk(wire)
    assert info.value.chunk_type == named
    assert repr(named) in str(info.value)
    assert isinstance(info.value, ChunkParseError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (
            {"type": "text-delta", "runId": "r", "from": "AGENT", "payload": {"id": "t"}},
            "payload.text",
        ),
        ({"type": "text-delta", "from": "AGENT", "payload": {"id": "t", "text": ""}}, "runId"),
        (
            {"type": "text-delta", "runId": "r", "from": "ME", "payload": {"id": "t", "text": ""}},
            "from",
        ),
        (
            {
                "type": "step-finish",
                "runId": "r",
                "from": "AGENT",
                "payload": {
                    "stepResult": {"reason": "stop"},
                    "output": {"usage": {"inputTokens": "x"}},
                },
            },
            "payload.output.usage.inputTokens",
        ),
        (
            {
                "type": "tool-call",
                "runId": "r",
                "from": "AGENT",
                "payload": {"toolName": "t", "args": {}},
            },
            "payload.toolCallId",
        ),
    ],
)
def test_invalid_payload_raises_chunk_parse_error_naming_the_field(wire: Any, field: str) -> None:
    with pytest.raises(ChunkParseError) as info:
        parse_chunk(wire)
    assert not isinstance(info.value, UnknownChunkTypeError)
    assert field in str(info.value)
    assert wire["type"] in str(info.value)


def test_invalid_json_raises_chunk_parse_error() -> None:
    with pytest.raises(ChunkParseError, match="JSON"):
        parse_chunk("{not json")


# --- the model ------------------------------------------------------------------------------


def test_chunk_classes_are_keyed_by_their_wire_type() -> None:
    for wire_type, cls in CHUNK_CLASSES.items():
        assert cls.model_fields["type"].default == wire_type
    assert {"start", "finish", "workflow-finish", "network-execution-event-finish"} <= set(
        CHUNK_CLASSES
    )


def test_parse_chunk_returns_typed_chunks_unchanged() -> None:
    chunk = TextDelta(run_id="r1", payload=TextDeltaPayload(id="t1", text="Hi"))
    assert parse_chunk(chunk) is chunk


def test_chunks_are_frozen() -> None:
    chunk = TextDelta(run_id="r1", payload=TextDeltaPayload(id="t1", text="Hi"))
    with pytest.raises(ValidationError):
        chunk.run_id = "r2"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        chunk.payload.text = "Bye"  # type: ignore[misc]


def test_error_info_accepts_foreign_forms_and_dumps_them_back() -> None:
    for wire, message in [
        ("boom", "boom"),
        ({"__error__": {"name": "E", "message": "nested"}}, "nested"),
        ({"name": "E", "message": "plain", "stack": "at x"}, "plain"),
    ]:
        info = ErrorInfo.model_validate(wire)
        assert info.message == message
        assert info.model_dump(by_alias=True) == wire


def test_usage_in_chunks_is_a_usage() -> None:
    finish = parse_chunk(next(c for c in MASTRA_CHUNKS if c["type"] == "finish"))
    assert isinstance(finish.payload.output.usage, Usage)  # type: ignore[union-attr]
