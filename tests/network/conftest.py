"""Builders shared by the network tests: a scripted router, primitives, chunk helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Callable, Sequence
from typing import Any

from pydantic import BaseModel

from rxagents import Agent, tool
from rxagents.agent import Tool
from rxagents.events import ChunkBase
from rxagents.memory import Memory
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.workflow import Step, StepContext, Workflow

Part = dict[str, Any]


def usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


def text_parts(text: str, i: int = 10, o: int = 5, *, pieces: int = 3) -> list[Part]:
    """A text reply streamed in ``pieces`` deltas, then ``finish`` with usage ``i``/``o``."""
    size = max(1, -(-len(text) // pieces))
    deltas = [text[n : n + size] for n in range(0, len(text), size)] or [""]
    return [
        {"type": "text-start", "id": "t"},
        *({"type": "text-delta", "id": "t", "delta": d} for d in deltas),
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop", "usage": usage(i, o)},
    ]


def route(
    primitive_id: str, primitive_type: str, prompt: Any = "", reason: str = "because"
) -> dict[str, Any]:
    """A routing decision as the router answers it."""
    if not isinstance(prompt, str):
        prompt = json.dumps(prompt)
    return {
        "primitiveId": primitive_id,
        "primitiveType": primitive_type,
        "prompt": prompt,
        "selectionReason": reason,
    }


def verdict(is_complete: bool, reason: str = "reason", final: str | None = None) -> dict[str, Any]:
    """A completion check's answer."""
    answer: dict[str, Any] = {"isComplete": is_complete, "completionReason": reason}
    if final is not None:
        answer["finalResult"] = final
    return answer


NONE = route("none", "none", "", "done")


def is_routing(call: ModelCall) -> bool:
    schema = (call.response_format or {}).get("schema", {})
    return "primitiveId" in schema.get("properties", {})


def is_check(call: ModelCall) -> bool:
    schema = (call.response_format or {}).get("schema", {})
    return "isComplete" in schema.get("properties", {})


class Router:
    """The network agent's model: answers routing calls and checks from two scripts.

    An entry is a dict (sent as JSON), a string (sent as is: bad JSON), a list of parts (sent
    as they are) or an exception (the call fails). Routing calls cost 100/10 tokens, checks
    50/5, unless an entry says otherwise through ``(answer, (i, o))``.
    """

    def __init__(
        self,
        routes: Sequence[Any],
        checks: Sequence[Any] = (),
        *,
        default_check: Any = None,
    ) -> None:
        self.routes = list(routes)
        self.checks = list(checks)
        self.default_check = default_check if default_check is not None else verdict(False)
        self.routing_calls: list[ModelCall] = []
        self.check_calls: list[ModelCall] = []
        self.model = FunctionModel(self._answer, model_id="router-model")

    def _answer(self, call: ModelCall) -> list[Any]:
        if is_routing(call):
            self.routing_calls.append(call)
            entry = self.routes.pop(0) if self.routes else NONE
            return self._parts(entry, 100, 10)
        assert is_check(call), call.response_format
        self.check_calls.append(call)
        entry = self.checks.pop(0) if self.checks else self.default_check
        return self._parts(entry, 50, 5)

    @staticmethod
    def _parts(entry: Any, i: int, o: int) -> list[Any]:
        if isinstance(entry, tuple):
            entry, (i, o) = entry
        if isinstance(entry, Exception):
            raise entry
        if isinstance(entry, list):
            return entry
        text = entry if isinstance(entry, str) else json.dumps(entry)
        return text_parts(text, i, o)


class ReportIn(BaseModel):
    topic: str


class ReportOut(BaseModel):
    report: str


async def write_report(ctx: StepContext[ReportIn]) -> dict[str, str]:
    return {"report": f"Report on {ctx.input_data.topic}"}


def report_workflow(execute: Callable[[StepContext[ReportIn]], Any] = write_report) -> Workflow:
    return (
        Workflow("report", ReportIn, ReportOut, description="writes a report on a topic")
        .then(Step("write", ReportIn, ReportOut, execute))
        .commit()
    )


@tool
async def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


def research_agent(text: str = "Dolphins are mammals.", **kwargs: Any) -> Agent:
    model = ScriptedModel([text_parts(text, 20, 4)], cycle=True)
    return Agent("research", model=model, description="finds facts", **kwargs)


def network_agent(
    router: Router,
    *,
    agents: dict[str, Agent] | None = None,
    workflows: dict[str, Workflow] | None = None,
    tools: dict[str, Tool] | None = None,
    memory: Memory | None = None,
) -> Agent:
    return Agent(
        "coordinator",
        model=router.model,
        instructions="Coordinate the research.",
        agents={"research": research_agent()} if agents is None else agents,
        workflows={"report": report_workflow()} if workflows is None else workflows,
        tools={"word_count": word_count} if tools is None else tools,
        memory=memory if memory is not None else Memory(),
    )


MEMORY = {"thread": "thread-1", "resource": "user-1"}


def types(chunks: Sequence[ChunkBase]) -> list[str]:
    return [chunk.type for chunk in chunks]


def outer(chunks: Sequence[ChunkBase]) -> list[str]:
    """The types of the network's own chunks (wrapped ones and text deltas left out)."""
    return [
        c.type
        for c in chunks
        if not c.type.startswith(
            ("agent-execution-event-", "workflow-execution-event-", "routing-agent-text-delta")
        )
    ]


async def collect(stream: AsyncIterable[Any]) -> list[Any]:
    """Every chunk of a stream (typed loosely: tests read payloads of known kinds)."""
    return [chunk async for chunk in stream]


def of_type(chunks: Sequence[ChunkBase], kind: str) -> list[Any]:
    return [chunk for chunk in chunks if chunk.type == kind]


def prompt_text(call: ModelCall) -> str:
    """All the text a model call was given."""
    texts: list[str] = []
    for message in call.prompt:
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
        else:
            texts += [str(part.get("text", "")) for part in content]
    return "\n".join(texts)
