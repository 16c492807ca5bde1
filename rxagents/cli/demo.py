"""``python -m rxagents demo``: stream an agent, a workflow and an agent network.

Runs on the embedded models (``ScriptedModel``, ``FunctionModel``): no API key, no network
access. Text is printed as it streams; tool calls, workflow steps and routing decisions are
shown compactly; status, result and usage are printed at the end of each run. ``--fast`` drops
the delays that make the streaming visible.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import BaseModel

from rxagents.agent import Agent, tool
from rxagents.errors import ConfigurationError, MissingApiKeyError
from rxagents.events import AgentError, TextDelta, TextEnd, ToolCall, ToolError, ToolResult
from rxagents.memory import Memory
from rxagents.models import FunctionModel, LanguageModel, ModelCall, ScriptedModel, resolve_model
from rxagents.network import NetworkStream
from rxagents.workflow import AgentStepInput, Step, StepContext, Workflow

__all__ = ("choose_model", "demo_agent", "demo_network", "demo_workflow", "main")

_COLOR = sys.stdout.isatty()
DIM = "\033[2m" if _COLOR else ""
BOLD = "\033[1m" if _COLOR else ""
RESET = "\033[0m" if _COLOR else ""


@tool
def plan_day(tasks: list[str], start_hour: int = 9) -> list[str]:
    """Put tasks into hourly slots."""
    return [f"{start_hour + i:02d}:00 {task}" for i, task in enumerate(tasks)]


def _usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


def _words(block: str, text: str) -> list[dict[str, Any]]:
    return [
        {"type": "text-delta", "id": block, "delta": word}
        for word in text.replace(" ", " \0").split("\0")
    ]


def choose_model(env: Mapping[str, str] | None = None) -> tuple[LanguageModel | None, str]:
    """Return the model ``RXAGENTS_MODEL`` names (``None``: the embedded one) and a notice.

    A configured model that cannot be used (its API key is missing) falls back to the embedded
    model, and the notice says why, naming the variable to set.

    Raises:
        ConfigurationError: ``RXAGENTS_MODEL`` is malformed or names an unknown provider.
    """
    environment = os.environ if env is None else env
    spec = environment.get("RXAGENTS_MODEL", "").strip()
    if not spec:
        return None, (
            "model: the embedded scripted model (set RXAGENTS_MODEL, e.g. openai/gpt-4o-mini, "
            "and its API key to run the agent on a real provider)"
        )
    try:
        return resolve_model(spec, env=environment), f"model: {spec} (from RXAGENTS_MODEL)"
    except MissingApiKeyError as err:
        return None, (
            f"warning: RXAGENTS_MODEL={spec} cannot be used: {err.variable} is not set; "
            "running on the embedded scripted model instead"
        )


def demo_agent(part_delay: float = 0.02, model: LanguageModel | None = None) -> Agent:
    """Build the demo agent: a planner with one tool.

    It runs on ``model`` when given (a real provider, say), and on the embedded scripted model
    otherwise.
    """
    args = json.dumps({"tasks": ["write report", "team sync", "review PRs"], "start_hour": 9})
    model = model or ScriptedModel(
        [
            [
                {"type": "text-start", "id": "t1"},
                *_words("t1", "Let me put your tasks into time slots."),
                {"type": "text-end", "id": "t1"},
                {"type": "tool-input-start", "id": "call-1", "toolName": "plan_day"},
                {"type": "tool-input-delta", "id": "call-1", "delta": args[:20]},
                {"type": "tool-input-delta", "id": "call-1", "delta": args[20:]},
                {"type": "tool-input-end", "id": "call-1"},
                {
                    "type": "tool-call",
                    "toolCallId": "call-1",
                    "toolName": "plan_day",
                    "input": args,
                },
                {"type": "finish", "finishReason": "tool-calls", "usage": _usage(42, 31)},
            ],
            [
                {"type": "text-start", "id": "t2"},
                *_words(
                    "t2",
                    "Here is your day: 09:00 write report, 10:00 team sync, 11:00 review PRs. "
                    "Start with the report while you are fresh.",
                ),
                {"type": "text-end", "id": "t2"},
                {"type": "finish", "finishReason": "stop", "usage": _usage(97, 28)},
            ],
        ],
        part_delay=part_delay,
        cycle=True,
    )
    return Agent(
        "planner",
        instructions="You organise people's days. Be brief.",
        model=model,
        tools=[plan_day],
    )


async def run_agent(agent: Agent, prompt: str) -> None:
    """Stream one agent run to the terminal."""
    print(f"{BOLD}agent{RESET} {agent.id} ← {prompt!r}")
    stream = await agent.stream(prompt)
    async for chunk in stream:
        if isinstance(chunk, TextDelta):
            print(chunk.payload.text, end="", flush=True)
        elif isinstance(chunk, TextEnd):
            print()
        elif isinstance(chunk, ToolCall):
            print(f"{DIM}  → {chunk.payload.tool_name}({json.dumps(chunk.payload.args)}){RESET}")
        elif isinstance(chunk, ToolResult):
            print(f"{DIM}  ← {json.dumps(chunk.payload.result)}{RESET}")
        elif isinstance(chunk, ToolError):
            print(f"{DIM}  ✗ {chunk.payload.error.message}{RESET}")
        elif isinstance(chunk, AgentError):
            print(f"\n  error: {chunk.payload.error.message}")
    usage = await stream.usage
    print(
        f"{DIM}  usage: {usage.input_tokens} in / {usage.output_tokens} out "
        f"({usage.total_tokens} total), finish: {await stream.finish_reason}{RESET}\n"
    )


# --- workflow ---------------------------------------------------------------------------------


class Topic(BaseModel):
    """A research topic."""

    topic: str


class Draft(BaseModel):
    """A text to post-process."""

    text: str


def _text_step(text: str, i: int, o: int) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": "t"},
        *_words("t", text),
        {"type": "text-end", "id": "t"},
        {"type": "finish", "finishReason": "stop", "usage": _usage(i, o)},
    ]


def _writer(part_delay: float) -> Agent:
    text = "Dolphins sleep with one half of the brain at a time and call each other by name."
    model = ScriptedModel([_text_step(text, 24, 18)], part_delay=part_delay, cycle=True)
    return Agent("writer", model=model, description="writes short factual paragraphs")


def demo_workflow(part_delay: float = 0.02) -> Workflow:
    """Build the demo workflow: a prompt step, an agent step, then a parallel block."""

    def ask(ctx: StepContext[Topic]) -> AgentStepInput:
        return AgentStepInput(prompt=f"Two facts about {ctx.input_data.topic}, one sentence.")

    def count(ctx: StepContext[Draft]) -> dict[str, int]:
        return {"words": len(ctx.input_data.text.split())}

    def headline(ctx: StepContext[Draft]) -> dict[str, str]:
        return {"headline": ctx.input_data.text.split(" and ")[0]}

    return (
        Workflow("fact-sheet", Topic, description="writes a fact sheet on a topic")
        .then(Step("ask", Topic, AgentStepInput, ask))
        .then(Step.from_agent(_writer(part_delay), id="write"))
        .parallel([Step("count", Draft, None, count), Step("headline", Draft, None, headline)])
        .commit()
    )


async def run_workflow(workflow: Workflow, input_data: dict[str, Any]) -> None:
    """Stream one workflow run to the terminal: steps, the agent step's text, the result."""
    print(f"{BOLD}workflow{RESET} {workflow.id} ← {json.dumps(input_data)}")
    run = await workflow.create_run()
    stream = await run.stream(input_data=input_data)
    writing = False
    async for chunk in stream:
        if chunk.type in ("workflow-step-start", "workflow-step-waiting"):
            print(f"{DIM}  ▶ {chunk.payload.id}{RESET}")
        elif chunk.type == "workflow-step-output":
            inner = chunk.payload.output
            if getattr(inner, "type", None) == "text-delta":
                if not writing:
                    print("    ", end="")
                    writing = True
                print(inner.payload.text, end="", flush=True)
            elif getattr(inner, "type", None) == "text-end" and writing:
                print()
                writing = False
        elif chunk.type == "workflow-step-result":
            payload = chunk.payload
            detail = json.dumps(payload.output) if payload.status == "success" else payload.error
            print(f"{DIM}  ✓ {payload.id}: {_short(detail)}{RESET}")
    result = await stream.result
    usage = await stream.usage
    print(f"  status: {await stream.status}, result: {json.dumps(result.result)}")
    print(f"{DIM}  usage: {usage.input_tokens} in / {usage.output_tokens} out{RESET}\n")


def _short(value: object, limit: int = 72) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- network ----------------------------------------------------------------------------------


_ROUTES: list[dict[str, str]] = [
    {
        "primitiveId": "research",
        "primitiveType": "agent",
        "prompt": "Find three facts about how dolphins sleep.",
        "selectionReason": "The task needs facts first.",
    },
    {
        "primitiveId": "fact-sheet",
        "primitiveType": "workflow",
        "prompt": '{"topic": "dolphin sleep"}',
        "selectionReason": "The facts are in; the fact-sheet workflow writes them up.",
    },
    {
        "primitiveId": "word_count",
        "primitiveType": "tool",
        "prompt": '{"text": "Dolphins sleep with one half of the brain at a time."}',
        "selectionReason": "Check the headline is short enough.",
    },
]
_CHECKS: list[dict[str, Any]] = [
    {"isComplete": False, "completionReason": "There are facts but no write-up yet."},
    {"isComplete": False, "completionReason": "The write-up needs a length check."},
    {
        "isComplete": True,
        "completionReason": "Researched, written up and checked.",
        "finalResult": "Dolphins rest one brain half at a time, surfacing to breathe; "
        "the fact sheet is written and its headline is 11 words.",
    },
]

_DONE = {"primitiveId": "none", "primitiveType": "none", "prompt": "", "selectionReason": "Done."}


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


def _router(delay: float) -> FunctionModel:
    """The network's model: routes from a script, then checks completion from another."""
    routes = iter(_ROUTES)
    checks = iter(_CHECKS)

    async def answer(call: ModelCall) -> AsyncIterator[dict[str, Any]]:
        schema = (call.response_format or {}).get("schema", {})
        if "primitiveId" in schema.get("properties", {}):
            text, usage = json.dumps(next(routes, _DONE)), (120, 30)
        else:
            text, usage = json.dumps(next(checks, _CHECKS[-1])), (90, 25)
        yield {"type": "text-start", "id": "j"}
        for start in range(0, len(text), 12):
            if delay:
                await asyncio.sleep(delay)
            yield {"type": "text-delta", "id": "j", "delta": text[start : start + 12]}
        yield {"type": "text-end", "id": "j"}
        yield {"type": "finish", "finishReason": "stop", "usage": _usage(*usage)}

    return FunctionModel(answer, model_id="demo-router")


def demo_network(part_delay: float = 0.02) -> Agent:
    """Build the demo network: a router over a research agent, a workflow and a tool."""
    research = Agent(
        "research",
        description="finds facts about animals",
        model=ScriptedModel(
            [
                _text_step(
                    "Dolphins sleep one brain half at a time, keep one eye open, "
                    "and rise to breathe while resting.",
                    40,
                    22,
                )
            ],
            part_delay=part_delay,
            cycle=True,
        ),
    )
    return Agent(
        "coordinator",
        instructions="Coordinate research and writing.",
        model=_router(part_delay),
        agents={"research": research},
        workflows={"fact-sheet": demo_workflow(part_delay)},
        tools={"word_count": word_count},
        memory=Memory(),
    )


async def run_network(agent: Agent, task: str) -> NetworkStream:
    """Stream one network run: routing decisions, sub-agent text, the final answer."""
    print(f"{BOLD}network{RESET} {agent.id} ← {task!r}")
    stream = await agent.network(task, memory={"thread": "demo", "resource": "demo-user"})
    answering = False
    async for chunk in stream:
        kind = chunk.type
        payload: Any = chunk.payload
        if kind == "routing-agent-end":
            target = f"{payload.primitive_type} {payload.primitive_id}"
            print(f"  {BOLD}route{RESET} → {target}: {payload.selection_reason}")
        elif kind == "agent-execution-start":
            print("    ", end="")
        elif kind == "agent-execution-event-text-delta":
            print(payload.payload.text, end="", flush=True)
        elif kind == "agent-execution-event-text-end":
            print()
        elif kind == "workflow-execution-event-workflow-step-result":
            print(f"{DIM}    ✓ {payload.payload.id}{RESET}")
        elif kind == "tool-execution-end":
            print(f"{DIM}    {payload.tool_name} → {json.dumps(payload.result)}{RESET}")
        elif kind == "routing-agent-text-delta":
            if not answering:
                print(f"  {BOLD}answer{RESET} ", end="")
                answering = True
            print(payload.text, end="", flush=True)
        elif kind == "network-validation-end":
            if answering:
                print()
                answering = False
            verdict = "complete" if payload.passed else "not complete"
            print(f"{DIM}  check: {verdict}: {payload.reason}{RESET}")
    result = await stream.result
    usage = await stream.usage
    print(f"  status: {await stream.status}, iterations: {result.iteration + 1}")
    print(f"  result: {result.result}")
    print(
        f"{DIM}  usage (every model call: routing, agents, checks): "
        f"{usage.input_tokens} in / {usage.output_tokens} out{RESET}\n"
    )
    return stream


async def amain(fast: bool = False, model: LanguageModel | None = None) -> None:
    """Run every demo section (the agent section on ``model`` when given)."""
    delay = 0.0 if fast else 0.02
    await run_agent(demo_agent(delay, model), "Help me organize my day")
    await run_workflow(demo_workflow(delay), {"topic": "dolphins"})
    await run_network(demo_network(delay), "Research how dolphins sleep and write a fact sheet")


def main(argv: list[str]) -> int:
    """Entry point of ``python -m rxagents demo [--fast]``."""
    unknown = [arg for arg in argv if arg != "--fast"]
    if unknown:
        print(f"rxagents demo: unknown argument(s) {' '.join(unknown)}", file=sys.stderr)
        print("usage: python -m rxagents demo [--fast]", file=sys.stderr)
        return 2
    try:
        model, notice = choose_model()
    except ConfigurationError as err:
        print(f"rxagents demo: {err}", file=sys.stderr)
        return 2
    print(notice, file=sys.stderr if notice.startswith("warning") else sys.stdout)
    try:
        asyncio.run(amain(fast="--fast" in argv, model=model))
    except BrokenPipeError:  # the output was piped into something that stopped reading
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
