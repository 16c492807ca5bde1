"""pydantic-ai: ``async with agent.run_stream_events(...)`` and ``async for`` over every event.

``run_stream_events`` is the API that yields every event of a run, tool calls and results
included (``run_stream`` stops at the first final-result candidate; ``iter`` hands out graph
nodes, each streamed separately). The fake model is pydantic-ai's own ``FunctionModel`` with a
stream function that yields the token strings (or one ``DeltaToolCalls`` for the tool call).
Per token, the model layer estimates the token's usage and its parts manager appends the text to
the accumulated ``TextPart`` and builds a ``PartDeltaEvent`` carrying a ``TextPartDelta``; the
run hands it to the consumer from a background task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

from . import PROMPT, TOKEN, TOOL_ARGS, TOOL_CALL_ID, TOOL_NAME, Run, Scenario, weather

NAME = "pydantic-ai"
DISTRIBUTIONS = ("pydantic-ai-slim",)


def _after_tool(messages: list[ModelMessage]) -> bool:
    last = messages[-1]
    return isinstance(last, ModelRequest) and any(
        isinstance(part, ToolReturnPart) for part in last.parts
    )


def runner(scenario: Scenario) -> Run:
    tokens = scenario.tokens
    call = {0: DeltaToolCall(name=TOOL_NAME, json_args=TOOL_ARGS, tool_call_id=TOOL_CALL_ID)}

    async def stream_text(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str]:
        for _ in range(tokens):
            yield TOKEN

    async def stream_with_tool(
        messages: list[ModelMessage], info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        if _after_tool(messages):
            for _ in range(tokens):
                yield TOKEN
        else:
            yield call

    if scenario.kind == "text":
        agent: Agent[None, str] = Agent(FunctionModel(stream_function=stream_text), name="bench")
    else:
        agent = Agent(
            FunctionModel(stream_function=stream_with_tool), name="bench", tools=[weather]
        )

    async def run() -> int:
        count = 0
        async with agent.run_stream_events(PROMPT) as events:
            async for _ in events:
                count += 1
        return count

    return run
