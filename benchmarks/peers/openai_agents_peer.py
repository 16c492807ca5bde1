"""OpenAI Agents SDK: ``Runner.run_streamed(...)`` and ``async for`` over ``stream_events()``.

The fake model is a ``Model`` whose ``stream_response`` replays Responses API events built once
per scripted step (``response.created``, ``output_item.added``, ``content_part.added``, one
``output_text.delta`` per token, the ``done`` events and ``response.completed`` carrying the
whole output, as the real API sends them). The runner wraps each one in a
``RawResponsesStreamEvent`` and queues it for the consumer (so the consumer reads about
``tokens + 7`` raw events per text reply, plus an ``AgentUpdatedStreamEvent`` and one
``RunItemStreamEvent`` per new item: message, tool call, tool output). It does not build the
message from the deltas: the final ``response.completed`` event carries it. Tracing is disabled
(it would try to export to OpenAI's servers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agents import (
    Agent,
    Model,
    ModelSettings,
    RunConfig,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from . import PROMPT, TOKEN, TOOL_ARGS, TOOL_CALL_ID, TOOL_NAME, Run, Scenario, weather

NAME = "openai-agents"
DISTRIBUTIONS = ("openai-agents", "openai")

set_tracing_disabled(True)


def _response(output: list[Any], status: Any, tokens: int) -> Response:
    usage = ResponseUsage(
        input_tokens=5,
        output_tokens=tokens,
        total_tokens=5 + tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
    )
    return Response(
        id="resp-1",
        created_at=0,
        model="fake",
        object="response",
        output=output,
        parallel_tool_calls=False,
        tool_choice="auto",
        tools=[],
        status=status,
        usage=usage if status == "completed" else None,
    )


def _text_events(tokens: int) -> list[ResponseStreamEvent]:
    text = TOKEN * tokens
    empty = ResponseOutputText(type="output_text", text="", annotations=[], logprobs=[])
    full = ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])
    item = ResponseOutputMessage(
        id="msg-1", type="message", role="assistant", status="completed", content=[full]
    )
    started = item.model_copy(update={"content": [], "status": "in_progress"})
    seq = iter(range(tokens + 10))
    common: dict[str, Any] = {"item_id": "msg-1", "output_index": 0, "content_index": 0}
    return [
        ResponseCreatedEvent(
            type="response.created",
            response=_response([], "in_progress", 0),
            sequence_number=next(seq),
        ),
        ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            item=started,
            output_index=0,
            sequence_number=next(seq),
        ),
        ResponseContentPartAddedEvent(
            type="response.content_part.added", part=empty, sequence_number=next(seq), **common
        ),
        *(
            ResponseTextDeltaEvent(
                type="response.output_text.delta",
                delta=TOKEN,
                logprobs=[],
                sequence_number=next(seq),
                **common,
            )
            for _ in range(tokens)
        ),
        ResponseTextDoneEvent(
            type="response.output_text.done",
            text=text,
            logprobs=[],
            sequence_number=next(seq),
            **common,
        ),
        ResponseContentPartDoneEvent(
            type="response.content_part.done", part=full, sequence_number=next(seq), **common
        ),
        ResponseOutputItemDoneEvent(
            type="response.output_item.done",
            item=item,
            output_index=0,
            sequence_number=next(seq),
        ),
        ResponseCompletedEvent(
            type="response.completed",
            response=_response([item], "completed", tokens),
            sequence_number=next(seq),
        ),
    ]


def _tool_events() -> list[ResponseStreamEvent]:
    call = ResponseFunctionToolCall(
        id="fc-1",
        call_id=TOOL_CALL_ID,
        type="function_call",
        name=TOOL_NAME,
        arguments=TOOL_ARGS,
        status="completed",
    )
    started = call.model_copy(update={"arguments": "", "status": "in_progress"})
    return [
        ResponseCreatedEvent(
            type="response.created", response=_response([], "in_progress", 0), sequence_number=0
        ),
        ResponseOutputItemAddedEvent(
            type="response.output_item.added", item=started, output_index=0, sequence_number=1
        ),
        ResponseFunctionCallArgumentsDeltaEvent(
            type="response.function_call_arguments.delta",
            delta=TOOL_ARGS,
            item_id="fc-1",
            output_index=0,
            sequence_number=2,
        ),
        ResponseFunctionCallArgumentsDoneEvent(
            type="response.function_call_arguments.done",
            arguments=TOOL_ARGS,
            item_id="fc-1",
            output_index=0,
            sequence_number=3,
        ),
        ResponseOutputItemDoneEvent(
            type="response.output_item.done", item=call, output_index=0, sequence_number=4
        ),
        ResponseCompletedEvent(
            type="response.completed",
            response=_response([call], "completed", 5),
            sequence_number=5,
        ),
    ]


class FakeResponsesModel(Model):
    """Streams pre-built Responses API events: the tool call first when ``tool_events`` is
    given and the input has no tool output yet, else the text."""

    def __init__(
        self, text_events: list[ResponseStreamEvent], tool_events: list[ResponseStreamEvent]
    ) -> None:
        self.text_events = text_events
        self.tool_events = tool_events

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the benchmark only streams")

    async def stream_response(  # type: ignore[override]  # the interface's long signature
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: ModelSettings,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: Any,
        **kwargs: Any,
    ) -> AsyncIterator[ResponseStreamEvent]:
        after_tool = not isinstance(input, str) and any(
            isinstance(item, dict) and item.get("type") == "function_call_output" for item in input
        )
        events = self.tool_events if self.tool_events and not after_tool else self.text_events
        for event in events:
            yield event


def runner(scenario: Scenario) -> Run:
    text = _text_events(scenario.tokens)
    if scenario.kind == "text":
        model = FakeResponsesModel(text, [])
        agent: Agent[Any] = Agent(name="bench", model=model)
    else:
        model = FakeResponsesModel(text, _tool_events())
        agent = Agent(name="bench", model=model, tools=[function_tool(weather)])
    config = RunConfig(tracing_disabled=True)

    async def run() -> int:
        count = 0
        result = Runner.run_streamed(agent, PROMPT, run_config=config)
        async for _ in result.stream_events():
            count += 1
        return count

    return run
