"""LangChain: ``astream_events(..., version="v2")``, ``async for`` over every event.

Two ways in. ``langchain (chat model)``: a chat model with the tool bound, streamed on its own
(text scenarios only: a chat model does not run tools). ``langchain (create_agent)``:
``langchain.agents.create_agent`` (a LangGraph graph looping model → tools → model) for every
scenario. The fake model is a small ``BaseChatModel`` whose ``_astream`` builds one
``AIMessageChunk`` in a ``ChatGenerationChunk`` per token (pydantic models, validated; chunks
cannot be pre-built, LangChain sets their ids and merges them), or one chunk carrying the tool
call. Per token, LangChain's callback machinery reports the new token to the event-stream
tracer, which builds an ``on_chat_model_stream`` event dict (run id, parent ids, tags, metadata)
and passes it through a memory stream; the chunks are summed into the final message. The agent
also emits LangGraph's events: ``on_chain_start/stream/end`` for the graph and for each node
run (model, tools) and ``on_tool_start/end`` for the tool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, tool

from . import PROMPT, TOKEN, TOOL_ARGS, TOOL_CALL_ID, TOOL_NAME, Run, Scenario, weather

DISTRIBUTIONS = ("langchain", "langchain-core", "langgraph")


class FakeStreamingChatModel(BaseChatModel):
    """Streams ``tokens`` text tokens, or first a call to the tool when ``calls_tool``."""

    tokens: int
    calls_tool: bool = False

    @property
    def _llm_type(self) -> str:
        return "fake-streaming"

    def _wants_tool(self, messages: list[BaseMessage]) -> bool:
        return self.calls_tool and not isinstance(messages[-1], ToolMessage)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError("the benchmark only streams")

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self._wants_tool(messages):
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {
                            "name": TOOL_NAME,
                            "args": TOOL_ARGS,
                            "id": TOOL_CALL_ID,
                            "index": 0,
                            "type": "tool_call_chunk",
                        }
                    ],
                )
            )
            return
        for _ in range(self.tokens):
            # no on_llm_new_token here: BaseChatModel reports every chunk itself
            yield ChatGenerationChunk(message=AIMessageChunk(content=TOKEN))

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[getattr(t, "name", None) for t in tools], **kwargs)


_weather = tool(weather)


def _read(runnable: Runnable[Any, Any], payload: Any) -> Run:
    async def run() -> int:
        count = 0
        async for _ in runnable.astream_events(payload, version="v2"):
            count += 1
        return count

    return run


class ChatModel:
    """``langchain (chat model)``: the bound model streamed alone (text scenarios only)."""

    NAME = "langchain (chat model)"
    DISTRIBUTIONS = DISTRIBUTIONS

    @staticmethod
    def runner(scenario: Scenario) -> Run | None:
        if scenario.kind != "text":
            return None
        model = FakeStreamingChatModel(tokens=scenario.tokens).bind_tools([_weather])
        return _read(model, [("user", PROMPT)])


class CreateAgent:
    """``langchain (create_agent)``: the LangGraph agent loop, every scenario."""

    NAME = "langchain (create_agent)"
    DISTRIBUTIONS = DISTRIBUTIONS

    @staticmethod
    def runner(scenario: Scenario) -> Run:
        model = FakeStreamingChatModel(tokens=scenario.tokens, calls_tool=scenario.kind == "tool")
        agent = create_agent(model, tools=[_weather] if scenario.kind == "tool" else [])
        return _read(agent, {"messages": [("user", PROMPT)]})
