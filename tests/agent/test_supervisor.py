"""Supervisor agents: sub-agents and workflows as ``agent-<key>`` / ``workflow-<key>`` tools.

The sequences, payload keys and model prompts are those Mastra 1.71 produces for the same
scripts (a supervisor delegating once, a workflow as a tool, a sub-agent tool waiting for
approval, then approved or declined).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pytest_aiohttp import AiohttpClient
from reactivex import Observable, abc, from_iterable
from reactivex.disposable import Disposable

from rxagents import Agent, Step, Workflow
from rxagents.adapters.client import RemoteAgent
from rxagents.adapters.server import create_app
from rxagents.agent import ToolContext, tool
from rxagents.agent._suspend import APPROVAL_RESUME_SCHEMA
from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.events import AgentChunk, Chunk, ToolOutput, ToolResultPayload, parse_chunk
from rxagents.memory import Memory
from rxagents.models import FunctionModel, ModelCall, ModelPart, ScriptedModel
from rxagents.operators import reduce_usage
from rxagents.runtime import Runtime
from rxagents.testing import assert_well_formed
from rxagents.usage import Usage
from tests.adapters.server.test_server import post, sse_chunks
from tests.agent.conftest import text_step, tool_step

AGENT_SCHEMA = (
    '{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"prompt":'
    '{"description":"The prompt to send to the agent","type":"string"},"threadId":{"description":'
    '"Thread ID for conversation continuity for memory messages","anyOf":[{"type":"string"},'
    '{"type":"null"}]},"resourceId":{"description":"Resource/user identifier for memory messages",'
    '"anyOf":[{"type":"string"},{"type":"null"}]},"instructions":{"description":"Additional '
    "instructions to append to the agent instructions. Only provide if you have specific guidance "
    'beyond what the agent already knows. Leave empty in most cases.","anyOf":[{"type":"string"},'
    '{"type":"null"}]},"maxSteps":{"description":"Maximum number of execution steps for the '
    'sub-agent (integer, minimum 3)","anyOf":[{"type":"integer","minimum":3,"maximum":'
    '9007199254740991},{"type":"null"}]},"suspendedToolCallId":{"anyOf":[{"description":"The '
    'toolCallId of the suspended tool to resume","type":"string"},{"type":"null"}]},'
    '"suspendedToolRunId":{"anyOf":[{"description":"The runId of the suspended tool","type":'
    '"string"},{"type":"null"}]},"resumeData":{"description":"The resumeData object created from '
    'the resumeSchema of suspended tool","type":["string","number","integer","boolean","object",'
    '"null"]}},"required":["prompt"],"additionalProperties":false}'
)
"""Mastra 1.71's input schema of an ``agent-<key>`` tool, as its model received it."""

WORKFLOW_SCHEMA = (
    '{"type":"object","properties":{"inputData":{"type":"object","properties":{"topic":{"type":'
    '"string"}},"required":["topic"],"additionalProperties":false,"$schema":'
    '"http://json-schema.org/draft-07/schema#"},"suspendedToolCallId":{"type":["string","null"],'
    '"description":"The toolCallId of the suspended tool to resume"},"suspendedToolRunId":{"type":'
    '["string","null"],"description":"The runId of the suspended tool"},"resumeData":'
    '{"description":"The resumeData object created from the resumeSchema of suspended tool",'
    '"type":["string","number","integer","boolean","object","null"]}},"required":["inputData"],'
    '"additionalProperties":true,"$schema":"http://json-schema.org/draft-07/schema#"}'
)
"""Mastra 1.71's input schema of a ``workflow-<key>`` tool (input ``{topic: string}``)."""


@tool(require_approval=True)
def weather(city: str) -> dict[str, int]:
    """Current weather for a city."""
    return {"temp": 21}


def research(*steps: list[dict[str, Any]], **options: Any) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(list(steps) or [text_step("Research result: 42")], model_id="sub")
    options.setdefault("description", "Researches things")
    agent = Agent("research", model=model, instructions="You research.", **options)
    return agent, model


def supervisor(
    sub: Any, *steps: list[dict[str, Any]], **options: Any
) -> tuple[Agent, ScriptedModel]:
    default = [
        tool_step(("call-1", "agent-research", '{"prompt":"find the answer"}'), i=10, o=5),
        text_step("The answer is 42"),
    ]
    model = ScriptedModel(list(steps) or default, model_id="sup")
    agent = Agent(
        "sup", model=model, instructions="You supervise.", agents={"research": sub}, **options
    )
    return agent, model


def wire(chunk: Any) -> dict[str, Any]:
    data: dict[str, Any] = chunk.model_dump(by_alias=True, mode="json")
    return data


def outline(chunks: list[AgentChunk]) -> list[str]:
    """Types in order; a tool-output is ``output:<inner type>``."""
    return [
        f"output:{c.payload.output.type}" if isinstance(c, ToolOutput) else c.type for c in chunks
    ]


async def test_delegation_streams_the_whole_sub_agent_run_as_mastra_does() -> None:
    sub, sub_model = research()
    sup, sup_model = supervisor(sub)
    stream = await sup.stream("What is the answer?")
    chunks = [c async for c in stream]
    assert_well_formed(chunks)
    assert outline(chunks) == [
        "start",
        "step-start",
        "tool-call",
        "output:start",
        "output:step-start",
        "output:text-start",
        "output:text-delta",
        "output:text-end",
        "output:step-finish",
        "output:finish",
        "tool-result",
        "step-finish",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    outputs = [wire(c) for c in chunks if isinstance(c, ToolOutput)]
    sub_run = outputs[0]["payload"]["output"]["runId"]
    assert sub_run != stream.run_id
    for output in outputs:
        assert set(output) == {"type", "runId", "from", "payload"}
        assert output["runId"] == stream.run_id
        assert output["from"] == "USER"
        assert set(output["payload"]) == {"output", "toolCallId", "toolName"}
        assert output["payload"]["toolCallId"] == "call-1"
        assert output["payload"]["toolName"] == "agent-research"
        assert output["payload"]["output"]["runId"] == sub_run
        assert output["payload"]["output"]["from"] == "AGENT"
    assert outputs[0]["payload"]["output"]["payload"]["id"] == "research"
    result = next(wire(c) for c in chunks if c.type == "tool-result")["payload"]
    assert set(result) == {"args", "toolCallId", "toolName", "result", "providerMetadata"}
    assert result["args"] == {"prompt": "find the answer"}
    assert set(result["result"]) == {
        "text",
        "subAgentThreadId",
        "subAgentResourceId",
        "subAgentToolResults",
    }
    assert result["result"]["text"] == "Research result: 42"
    assert result["result"]["subAgentToolResults"] == []
    assert result["providerMetadata"] == {
        "mastra": {"modelOutput": {"type": "text", "value": "Research result: 42"}}
    }
    # what the models received
    offered = sup_model.calls[0].tools
    assert [t.name for t in offered] == ["agent-research"]
    assert offered[0].description == "Researches things"
    assert json.dumps(offered[0].input_schema, separators=(",", ":")) == AGENT_SCHEMA
    assert sub_model.calls[0].prompt == [
        {"role": "system", "content": "You research."},
        {"role": "system", "content": "You supervise."},
        {"role": "user", "content": [{"type": "text", "text": "What is the answer?"}]},
        {"role": "user", "content": [{"type": "text", "text": "find the answer"}]},
    ]
    assert sub_model.calls[0].tools == []
    assert sup_model.calls[1].prompt[-1] == {
        "role": "tool",
        "content": [
            {
                "type": "tool-result",
                "toolCallId": "call-1",
                "toolName": "agent-research",
                "output": {"type": "text", "value": "Research result: 42"},
            }
        ],
    }
    assert await stream.text == "The answer is 42"


async def test_sub_agent_usage_counts_in_the_supervisor_usage_once() -> None:
    sub, _ = research(text_step("Research result: 42", i=7, o=3))
    sup, _ = supervisor(sub)
    stream = await sup.stream("What is the answer?")
    chunks = [c async for c in stream]
    expected = Usage(input_tokens=27, output_tokens=13, total_tokens=40)  # 10/5 + 7/3 + 10/5
    assert await stream.usage == expected
    assert Usage.zero + chunks[-1].payload.output.usage == expected  # type: ignore[union-attr]
    reduced: list[Usage] = []
    from_iterable(chunks).pipe(reduce_usage()).subscribe(reduced.append)
    assert reduced == [expected]


async def test_generate_returns_the_supervisor_result() -> None:
    sub, _ = research()
    sup, _ = supervisor(sub)
    result = await sup.generate("What is the answer?")
    assert result.text == "The answer is 42"
    assert result.finish_reason == "stop"
    assert [c.tool_name for c in result.tool_calls] == ["agent-research"]
    (delegated,) = result.tool_results
    assert isinstance(delegated, ToolResultPayload)
    assert delegated.result["text"] == "Research result: 42"
    assert result.usage == Usage(input_tokens=30, output_tokens=15, total_tokens=45)
    assert result.response_messages[1]["content"][0]["output"] == {
        "type": "text",
        "value": "Research result: 42",
    }


async def test_description_falls_back_to_the_agent_name() -> None:
    sub, _ = research(description="")
    sup, model = supervisor(sub)
    await (await sup.stream("q")).text
    assert model.calls[0].tools[0].description == "Agent: research"


async def test_instructions_are_appended_and_max_steps_overrides() -> None:
    def always_calls(call: ModelCall) -> list[dict[str, Any]]:
        return tool_step(("c", "noop", "{}"))

    @tool
    def noop() -> str:
        """Do nothing."""
        return "ok"

    model = FunctionModel(always_calls)
    sub = Agent("research", model=model, instructions="You research.", tools=[noop], max_steps=5)
    args = '{"prompt":"go","instructions":"Be brief.","maxSteps":3}'
    sup, _ = supervisor(sub, tool_step(("call-1", "agent-research", args)), text_step("done"))
    stream = await sup.stream("q")
    chunks = [c async for c in stream]
    inner = [c.payload.output for c in chunks if isinstance(c, ToolOutput)]
    assert [c.type for c in inner].count("step-start") == 3  # maxSteps, not the agent's 5
    result = next(c for c in chunks if c.type == "tool-result")
    assert result.payload.result["subAgentToolResults"][0] == {  # type: ignore[union-attr]
        "toolName": "noop",
        "toolCallId": "c",
        "result": "ok",
        "args": {},
    }
    assert model.calls[0].prompt[0] == {"role": "system", "content": "You research.\n\nBe brief."}


async def test_max_steps_below_three_is_a_tool_error() -> None:
    sub, sub_model = research()
    args = '{"prompt":"go","maxSteps":2}'
    sup, _ = supervisor(sub, tool_step(("call-1", "agent-research", args)), text_step("done"))
    stream = await sup.stream("q")
    chunks = [c async for c in stream]
    error = next(wire(c) for c in chunks if c.type == "tool-error")
    assert "maxSteps" in error["payload"]["error"]["message"]
    assert sub_model.calls == []
    assert await stream.text == "done"


async def test_a_failing_sub_agent_is_a_tool_error_and_the_supervisor_goes_on() -> None:
    sub, _ = research([RuntimeError("provider down")])
    sup, sup_model = supervisor(sub)
    stream = await sup.stream("What is the answer?")
    chunks = [c async for c in stream]
    assert_well_formed(chunks)
    types = outline(chunks)
    assert types[types.index("output:error") + 1 :][:3] == [
        "output:step-finish",
        "output:finish",
        "tool-error",
    ]
    error = next(wire(c) for c in chunks if c.type == "tool-error")["payload"]
    assert error["toolName"] == "agent-research"
    assert "provider down" in error["error"]["message"]
    assert types[-1] == "finish"
    assert await stream.text == "The answer is 42"
    assert sup_model.calls[1].prompt[-1]["content"][0]["output"]["type"] == "error-text"


class _Raising:
    """An agent-like value whose runs cannot start."""

    id = name = "research"
    description = "Always fails"

    def observe(self, messages: Any, **options: Any) -> Observable[Chunk]:
        raise RuntimeError("cannot start")


async def test_a_sub_agent_that_raises_is_a_tool_error() -> None:
    sup, _ = supervisor(_Raising())
    stream = await sup.stream("q")
    chunks = [c async for c in stream]
    error = next(wire(c) for c in chunks if c.type == "tool-error")
    assert error["payload"]["error"]["message"] == "cannot start"
    assert chunks[-1].type == "finish"


class _BlockingModel:
    """A v2 model whose calls never answer; it records when a call is disposed."""

    specification_version = "v2"
    provider = "test"
    model_id = "blocking"

    def __init__(self) -> None:
        self.disposed = asyncio.Event()

    def do_stream(self, call: ModelCall) -> Observable[ModelPart]:
        def subscribe(
            observer: abc.ObserverBase[ModelPart], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return Disposable(self.disposed.set)

        return Observable(subscribe)


async def test_cancelling_the_supervisor_cancels_the_sub_agent_model_call() -> None:
    blocking = _BlockingModel()
    sub = Agent("research", model=blocking)
    sup, _ = supervisor(sub)
    stream = await sup.stream("q")
    async for chunk in stream:
        if isinstance(chunk, ToolOutput) and chunk.payload.output.type == "step-start":
            break  # the sub-agent's model call is open
    stream.cancel()
    await blocking.disposed.wait()
    assert await stream.finish_reason == "abort"
    chunks = [c async for c in stream]
    assert chunks[-1].type == "abort"
    assert_well_formed(chunks)


async def test_cancelling_the_supervisor_cancels_the_sub_agent_tools() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    @tool
    async def wait_forever() -> str:
        """Wait."""
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    sub_model = ScriptedModel([tool_step(("c", "wait_forever", "{}"))])
    sub = Agent("research", model=sub_model, tools=[wait_forever])
    sup, _ = supervisor(sub)
    stream = await sup.stream("q")
    await started.wait()
    stream.cancel()
    await cancelled.wait()
    assert await stream.finish_reason == "abort"


async def test_sub_agent_memory_uses_the_given_thread() -> None:
    memory = Memory()
    sub, _ = research(memory=memory)
    args = '{"prompt":"find the answer","threadId":"t-1","resourceId":"u-1"}'
    sup, _ = supervisor(sub, tool_step(("call-1", "agent-research", args)), text_step("ok"))
    stream = await sup.stream("What is the answer?")
    chunks = [c async for c in stream]
    result = next(c for c in chunks if c.type == "tool-result").payload.result  # type: ignore[union-attr]
    assert (result["subAgentThreadId"], result["subAgentResourceId"]) == ("t-1", "u-1")
    thread = await memory.get_thread("t-1")
    assert thread is not None
    assert thread.resource_id == "u-1"


async def test_without_memory_the_ids_are_fresh_uuids() -> None:
    sub, _ = research()
    sup, _ = supervisor(sub)
    first = await sup.generate("q")
    ids = first.tool_results[0].result  # type: ignore[union-attr]
    assert len(ids["subAgentThreadId"]) == 36
    assert ids["subAgentThreadId"] != ids["subAgentResourceId"]


def test_agent_keys_must_make_valid_tool_names() -> None:
    sub, _ = research()
    with pytest.raises(ConfigurationError, match="valid tool name"):
        Agent("sup", model=ScriptedModel([]), agents={"a b": sub})
    with pytest.raises(ConfigurationError, match="valid tool name"):
        Agent("sup", model=ScriptedModel([]), agents={"x" * 60: sub})


def test_a_tool_named_like_a_delegation_tool_is_refused() -> None:
    sub, _ = research()

    @tool(name="agent-research")
    def clash() -> str:
        """Clash."""
        return ""

    with pytest.raises(ConfigurationError, match="agent-research"):
        Agent("sup", model=ScriptedModel([]), agents={"research": sub}, tools=[clash])


def test_a_non_agent_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="is not an AgentLike"):
        Agent("sup", model=ScriptedModel([]), agents={"x": object()})  # type: ignore[dict-item]


# --- workflows as tools ---------------------------------------------------------------------


class Topic(BaseModel):
    topic: str


class Out(BaseModel):
    out: str


def cats_workflow() -> Workflow:
    async def s1(ctx: Any) -> dict[str, str]:
        return {"out": f"wf:{ctx.input_data.topic}"}

    workflow = Workflow("myWf", input_schema=Topic, output_schema=Out, description="A workflow")
    return workflow.then(Step("s1", Topic, Out, s1)).commit()


async def test_a_workflow_is_a_tool_whose_chunks_stream_as_tool_output() -> None:
    model = ScriptedModel(
        [
            tool_step(("call-1", "workflow-myWf", '{"inputData":{"topic":"cats"}}')),
            text_step("ok"),
        ]
    )
    sup = Agent("sup2", model=model, instructions="x", workflows={"myWf": cats_workflow()})
    stream = await sup.stream("run wf")
    chunks = [c async for c in stream]
    assert_well_formed(chunks)
    assert outline(chunks) == [
        "start",
        "step-start",
        "tool-call",
        "output:workflow-start",
        "output:workflow-step-start",
        "output:workflow-step-result",
        "output:workflow-finish",
        "tool-result",
        "step-finish",
        "step-start",
        "text-start",
        "text-delta",
        "text-end",
        "step-finish",
        "finish",
    ]
    inner = [wire(c)["payload"]["output"] for c in chunks if isinstance(c, ToolOutput)]
    assert {c["from"] for c in inner} == {"WORKFLOW"}
    result = next(wire(c) for c in chunks if c.type == "tool-result")["payload"]
    assert set(result) == {"args", "toolCallId", "toolName", "result"}
    assert result["result"] == {"result": {"out": "wf:cats"}, "runId": inner[0]["runId"]}
    (offered,) = model.calls[0].tools
    assert (offered.name, offered.description) == ("workflow-myWf", "A workflow")
    assert json.dumps(offered.input_schema, separators=(",", ":")) == WORKFLOW_SCHEMA
    assert model.calls[1].prompt[-1]["content"][0]["output"] == {
        "type": "json",
        "value": result["result"],
    }


async def test_a_workflow_with_bad_input_is_a_tool_error() -> None:
    model = ScriptedModel(
        [tool_step(("call-1", "workflow-myWf", '{"inputData":{"nope":1}}')), text_step("ok")]
    )
    sup = Agent("sup2", model=model, workflows={"myWf": cats_workflow()})
    chunks = [c async for c in await sup.stream("run wf")]
    assert "tool-error" in outline(chunks)
    assert chunks[-1].type == "finish"


# --- approval inside a sub-agent ------------------------------------------------------------


def approval_pair() -> tuple[Agent, ScriptedModel, ScriptedModel]:
    sub, sub_model = research(
        tool_step(("sub-call-1", "weather", '{"city":"Paris"}')),
        text_step("Sub: 21C"),
        tools=[weather],
    )
    sup, sup_model = supervisor(
        sub,
        tool_step(("call-1", "agent-research", '{"prompt":"weather?"}'), i=10, o=5),
        text_step("Final: 21C"),
    )
    return sup, sup_model, sub_model


async def test_a_sub_agent_approval_pauses_the_supervisor_on_its_delegation_call() -> None:
    sup, _, _ = approval_pair()
    paused = await sup.stream("weather?")
    chunks = [c async for c in paused]
    assert outline(chunks) == [
        "start",
        "step-start",
        "tool-call",
        "output:start",
        "output:step-start",
        "output:tool-call",
        "output:tool-call-approval",
        "tool-call-approval",
    ]
    inner = wire(chunks[-2])["payload"]["output"]
    assert inner["payload"]["toolCallId"] == "sub-call-1"
    assert inner["from"] == "AGENT"
    approval = wire(chunks[-1])
    assert approval["runId"] == paused.run_id
    assert approval["payload"] == {
        "toolCallId": "call-1",
        "toolName": "weather",
        "args": {"city": "Paris"},
        "resumeSchema": APPROVAL_RESUME_SCHEMA,
    }
    assert await paused.finish_reason == "suspended"
    (pending,) = await paused.pending_tool_calls
    assert (pending.tool_call_id, pending.tool_name) == ("call-1", "weather")
    (run,) = await sup.list_suspended_runs()
    assert run["tool_calls"][0]["tool_call_id"] == "call-1"


async def test_approving_on_the_supervisor_resumes_the_sub_agent() -> None:
    sup, sup_model, sub_model = approval_pair()
    paused = await sup.stream("weather?")
    before = [c async for c in paused]
    resumed = await sup.approve_tool_call(run_id=paused.run_id, tool_call_id="call-1")
    chunks = [c async for c in resumed]
    assert_well_formed([*before, *chunks])
    assert outline(chunks) == [
        "output:tool-result",
        "output:step-finish",
        "output:step-start",
        "output:text-start",
        "output:text-delta",
        "output:text-end",
        "output:step-finish",
        "output:finish",
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
    result = next(wire(c) for c in chunks if c.type == "tool-result")["payload"]
    assert result["toolName"] == "agent-research"
    assert result["result"]["text"] == "Sub: 21C"
    assert result["result"]["subAgentToolResults"] == [
        {
            "toolName": "weather",
            "toolCallId": "sub-call-1",
            "result": {"temp": 21},
            "args": {"city": "Paris"},
        }
    ]
    assert result["providerMetadata"]["mastra"]["modelOutput"] == {
        "type": "text",
        "value": "Sub: 21C",
    }
    assert sub_model.calls[1].prompt[-1]["content"][0]["output"] == {
        "type": "json",
        "value": {"temp": 21},
    }
    assert sup_model.calls[1].prompt[-1]["content"][0]["output"] == {
        "type": "text",
        "value": "Sub: 21C",
    }
    assert await resumed.text == "Final: 21C"
    # every model call once: two of the supervisor's, two of the sub-agent's
    assert await resumed.usage == Usage(input_tokens=45, output_tokens=20, total_tokens=65)
    reduced: list[Usage] = []
    from_iterable([*before, *chunks]).pipe(reduce_usage()).subscribe(reduced.append)
    assert reduced == [await resumed.usage]
    assert await sup.list_suspended_runs() == []
    assert await sub_model_runs(sup) == []


async def sub_model_runs(sup: Agent) -> list[Any]:
    sub = sup.agents["research"]
    assert isinstance(sub, Agent)
    return await sub.list_suspended_runs()


async def test_declining_on_the_supervisor_declines_the_sub_agent_call() -> None:
    sup, _, sub_model = approval_pair()
    paused = await sup.stream("weather?")
    before = [c async for c in paused]
    resumed = await sup.decline_tool_call(paused.run_id, "call-1", reason="nope")
    chunks = [c async for c in resumed]
    assert_well_formed([*before, *chunks])
    types = outline(chunks)
    assert types[0] == "output:tool-output-denied"
    assert "tool-output-denied" not in types
    denied = wire(chunks[0])["payload"]["output"]["payload"]
    assert denied["approval"] == {"id": "sub-call-1", "approved": False, "reason": "nope"}
    result = next(wire(c) for c in chunks if c.type == "tool-result")["payload"]
    assert result["result"]["subAgentToolResults"] == []
    assert sub_model.calls[1].prompt[-1]["content"][0]["output"] == {
        "type": "text",
        "value": "nope",
    }
    assert types[-1] == "finish"
    assert await resumed.text == "Final: 21C"


async def test_sub_agent_approval_over_http_uses_the_approve_route(
    aiohttp_client: AiohttpClient,
) -> None:
    sup, _, _ = approval_pair()
    client: TestClient[Any, Any] = await aiohttp_client(create_app(Runtime(agents={"sup": sup})))
    response = await post(client, "/api/agents/sup/stream", {"messages": "weather?"})
    paused = sse_chunks(await response.read())
    assert paused[-1]["type"] == "tool-call-approval"
    assert paused[-1]["payload"]["toolName"] == "weather"
    body = {"runId": paused[0]["runId"], "toolCallId": "call-1"}
    response = await post(client, "/api/agents/sup/approve-tool-call", body)
    chunks = sse_chunks(await response.read())
    assert chunks[0]["type"] == "tool-output"
    assert chunks[0]["payload"]["output"]["type"] == "tool-result"
    assert [c["type"] for c in chunks][-1] == "finish"
    assert [parse_chunk(c).type for c in chunks].count("tool-result") == 1


class Question(BaseModel):
    question: str


class Answer(BaseModel):
    answer: str


@tool(suspend_schema=Question, resume_schema=Answer)
async def ask(q: str, ctx: ToolContext) -> dict[str, str]:
    """Ask the user something."""
    if ctx.resume_data is None:
        await ctx.suspend({"question": q})
    assert isinstance(ctx.resume_data, Answer)
    return {"got": ctx.resume_data.answer}


async def test_a_suspended_sub_agent_tool_is_resumed_through_the_supervisor() -> None:
    sub, sub_model = research(
        tool_step(("sub-call-1", "ask", '{"q":"name?"}')), text_step("Hi Bob"), tools=[ask]
    )
    sup, _ = supervisor(
        sub, tool_step(("call-1", "agent-research", '{"prompt":"greet"}')), text_step("Done")
    )
    paused = await sup.stream("greet me")
    chunks = [c async for c in paused]
    assert outline(chunks)[-2:] == ["output:tool-call-suspended", "tool-call-suspended"]
    suspended = wire(chunks[-1])["payload"]
    assert suspended["toolCallId"] == "call-1"
    assert suspended["toolName"] == "ask"
    assert suspended["args"] == {"q": "name?"}
    assert suspended["suspendPayload"] == {"question": "name?"}
    assert json.loads(suspended["resumeSchema"])["required"] == ["answer"]
    (run,) = await sup.list_suspended_runs()
    assert run["tool_calls"][0]["suspend_payload"] == {"question": "name?"}
    with pytest.raises(InvalidInputError, match="resume_stream"):
        await sup.decline_tool_call(paused.run_id, "call-1")
    resumed = await sup.resume_stream(
        {"answer": "Bob"}, run_id=paused.run_id, tool_call_id="call-1"
    )
    chunks = [c async for c in resumed]
    assert outline(chunks)[0] == "output:tool-result"
    result = next(wire(c) for c in chunks if c.type == "tool-result")["payload"]["result"]
    assert result["text"] == "Hi Bob"
    assert result["subAgentToolResults"][0]["result"] == {"got": "Bob"}
    assert await resumed.text == "Done"
    assert len(sub_model.calls) == 2


class _ObserveOnly:
    """An agent-like value with only ``observe()`` (no ``stream()``)."""

    def __init__(self, agent: Agent) -> None:
        self.id = self.name = agent.id
        self.description = agent.description
        self._agent = agent

    def observe(self, messages: Any, **options: Any) -> Observable[AgentChunk]:
        return self._agent.observe(messages, **options)


async def test_a_sub_agent_seen_only_through_observe_is_delegated_to() -> None:
    sub, _ = research()
    sup, _ = supervisor(_ObserveOnly(sub))
    stream = await sup.stream("What is the answer?")
    chunks = [c async for c in stream]
    result = next(wire(c) for c in chunks if c.type == "tool-result")["payload"]["result"]
    assert result["text"] == "Research result: 42"
    assert outline(chunks).count("output:finish") == 1
    assert await stream.usage == Usage(input_tokens=30, output_tokens=15, total_tokens=45)


async def test_a_remote_sub_agent_is_delegated_to_and_its_approval_answered(
    aiohttp_client: AiohttpClient,
) -> None:
    served, served_model = research(
        tool_step(("sub-call-1", "weather", '{"city":"Paris"}')),
        text_step("Sub: 21C"),
        tools=[weather],
    )
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(Runtime(agents={"research": served}))
    )
    remote = RemoteAgent(str(client.make_url("")).rstrip("/"), "research", description="Remote")
    args = '{"prompt":"weather?","instructions":"Be brief."}'
    sup, _ = supervisor(remote, tool_step(("call-1", "agent-research", args)), text_step("ok"))
    paused = await sup.stream("weather?")
    chunks = [c async for c in paused]
    assert outline(chunks)[-2:] == ["output:tool-call-approval", "tool-call-approval"]
    assert served_model.calls[0].prompt[:2] == [
        {"role": "system", "content": "You research."},
        {"role": "system", "content": "Be brief."},
    ]
    resumed = await sup.approve_tool_call(paused.run_id, "call-1")
    chunks = [c async for c in resumed]
    result = next(wire(c) for c in chunks if c.type == "tool-result")["payload"]["result"]
    assert result["text"] == "Sub: 21C"
    assert result["subAgentToolResults"][0]["result"] == {"temp": 21}
    assert await resumed.text == "ok"


async def test_a_delegation_result_survives_a_pause_of_its_step() -> None:
    sub, _ = research()
    model = ScriptedModel(
        [
            tool_step(
                ("call-1", "agent-research", '{"prompt":"find"}'),
                ("call-2", "weather", '{"city":"Paris"}'),
            ),
            text_step("done"),
        ]
    )
    sup = Agent("sup", model=model, agents={"research": sub}, tools=[weather])
    paused = await sup.stream("q")
    chunks = [c async for c in paused]
    assert outline(chunks)[-2:] == ["tool-result", "tool-call-approval"]
    resumed = await sup.approve_tool_call(paused.run_id, "call-2")
    assert await resumed.text == "done"
    outputs = [part["output"] for part in model.calls[1].prompt[-1]["content"]]
    assert outputs == [
        {"type": "text", "value": "Research result: 42"},
        {"type": "json", "value": {"temp": 21}},
    ]


@given(
    delegations=st.integers(min_value=1, max_value=3),
    calls=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=3, max_size=3),
)
async def test_usage_counts_every_model_call_once(
    delegations: int, calls: list[tuple[int, int]]
) -> None:
    (sup_i, sup_o), (sub_i, sub_o), (end_i, end_o) = calls
    sub = Agent("research", model=ScriptedModel([text_step("r", i=sub_i, o=sub_o)], cycle=True))
    delegating = tool_step(
        *((f"call-{n}", "agent-research", '{"prompt":"p"}') for n in range(delegations)),
        i=sup_i,
        o=sup_o,
    )
    model = ScriptedModel([delegating, text_step("done", i=end_i, o=end_o)])
    sup = Agent("sup", model=model, agents={"research": sub})
    stream = await sup.stream("q")
    chunks = [c async for c in stream]
    assert_well_formed(chunks)
    total_in = sup_i + delegations * sub_i + end_i
    total_out = sup_o + delegations * sub_o + end_o
    expected = Usage(
        input_tokens=total_in, output_tokens=total_out, total_tokens=total_in + total_out
    )
    assert await stream.usage == expected
    reduced: list[Usage] = []
    from_iterable(chunks).pipe(reduce_usage()).subscribe(reduced.append)
    assert reduced == [expected]
    assert outline(chunks).count("tool-result") == delegations
