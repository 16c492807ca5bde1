"""The real JavaScript clients against a server started in the test.

``tests/js`` is the project's own Node harness: its ``package.json`` and ``package-lock.json``
pin ``@mastra/client-js`` and the AI SDK (``ai``); ``mastra.mjs`` and ``aisdk.mjs`` take a JSON
scenario (a list of steps) and print a JSON summary (one result per step). The session fixture
installs the clients with ``tests/js/install.sh`` (``npm ci``, skipped while the lock file is
unchanged). Nothing is skipped: without Node.js 20+ and npm the tests fail saying what to install.

The shared checkers (``../shared``, or ``RXAGENTS_SHARED``) are an optional extra:
``test_shared_checkers.py`` is collected only when they exist.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from rxagents.adapters.server import create_app
from rxagents.agent import Agent, tool
from rxagents.memory import Memory
from rxagents.models import FunctionModel, ModelCall, ScriptedModel
from rxagents.runtime import Runtime
from rxagents.workflow import Step, StepContext, Workflow
from tests.adapters.conftest import Serve

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
JS = REPO / "tests" / "js"
SHARED = Path(os.environ.get("RXAGENTS_SHARED", REPO.parent / "shared"))
SCRIPT_TIMEOUT = 120.0

collect_ignore = (
    []
    if all(
        (SHARED / name / "setup.sh").is_file() for name in ("mastra-client-check", "aisdk-check")
    )
    else ["test_shared_checkers.py"]
)


# --- the harness ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptRun:
    """One run of a harness script: exit code, parsed stdout (when JSON) and stderr."""

    code: int
    summary: dict[str, Any] | None
    stderr: str


@dataclass(frozen=True)
class JsClients:
    """The installed harness: runs ``tests/js/<script>.mjs`` on a scenario."""

    root: Path

    async def run(self, script: str, scenario: dict[str, Any]) -> ScriptRun:
        """Run ``node <script>.mjs`` with ``scenario`` on stdin, without blocking the server."""
        process = await asyncio.create_subprocess_exec(
            "node",
            str(self.root / f"{script}.mjs"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            out, err = await asyncio.wait_for(
                process.communicate(json.dumps(scenario).encode()), SCRIPT_TIMEOUT
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        summary = json.loads(out) if process.returncode == 0 else None
        return ScriptRun(process.returncode, summary, err.decode())

    async def steps(self, script: str, base: str, steps: list[dict[str, Any]]) -> list[Any]:
        """Run ``steps`` against ``base``; assert they all pass; return their results."""
        run = await self.run(script, {"base": base, "steps": steps})
        assert run.code == 0, f"tests/js/{script}.mjs failed ({run.code}):\n{run.stderr}"
        assert run.summary is not None
        assert run.summary["ok"] is True
        results: list[Any] = run.summary["steps"]
        return results


def _installed_node() -> str:
    """Fail unless Node.js 20+ and npm are on PATH; return Node's version."""
    missing = [name for name in ("node", "npm", "bash") if shutil.which(name) is None]
    if missing:
        pytest.fail(
            f"the JavaScript client tests need Node.js 20+ with npm (missing on PATH: "
            f"{', '.join(missing)}); they install their own pinned clients from tests/js with "
            "npm ci",
            pytrace=False,
        )
    version = subprocess.run(
        ["node", "-p", "process.versions.node"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if int(version.split(".")[0]) < 20:
        pytest.fail(f"the JavaScript client tests need Node.js 20+, found {version}", pytrace=False)
    return version


@pytest.fixture(scope="session")
def js_clients() -> JsClients:
    """Install the pinned clients once per session (quick when up to date); fail loudly."""
    _installed_node()
    install = JS / "install.sh"
    result = subprocess.run(
        ["bash", str(install)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"installing the JavaScript clients failed ({install}):\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    return JsClients(JS)


Mastra = Callable[..., Awaitable[list[Any]]]
Chat = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def mastra(js_clients: JsClients) -> Mastra:
    """``await mastra(base, *steps)``: run ``@mastra/client-js`` steps; return their results."""

    async def run(base: str, *steps: dict[str, Any]) -> list[Any]:
        return await js_clients.steps("mastra", base, list(steps))

    return run


@pytest.fixture
def ai_chat(js_clients: JsClients) -> Chat:
    """``await ai_chat(base, path, body=None, **options)``: one strict AI SDK chat turn."""

    async def chat(base: str, path: str, body: Any = None, **options: Any) -> dict[str, Any]:
        step = {"action": "chat", "path": path, **options}
        if body is not None:
            step["body"] = body
        [result] = await js_clients.steps("aisdk", base, [step])
        assert isinstance(result, dict)
        return result

    return chat


# --- the server under test ------------------------------------------------------------------


def usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}


@tool
def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temp": 21, "sky": "cloudy"}


@tool
def search(query: str) -> str:
    """Search the web (its backend is down)."""
    raise RuntimeError("search backend down")


def text_step(text: str, block: str = "t1", reasoning: str | None = None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if reasoning:
        parts += [
            {"type": "reasoning-start", "id": "r1"},
            {"type": "reasoning-delta", "id": "r1", "delta": reasoning},
            {"type": "reasoning-end", "id": "r1"},
        ]
    words = text.split(" ")
    parts += [
        {"type": "text-start", "id": block},
        *(
            {"type": "text-delta", "id": block, "delta": w + ("" if i == len(words) - 1 else " ")}
            for i, w in enumerate(words)
        ),
        {"type": "text-end", "id": block},
        {"type": "finish", "finishReason": "stop", "usage": usage(30, 8)},
    ]
    return parts


def tool_step(call_id: str, name: str, args: str) -> list[dict[str, Any]]:
    half = len(args) // 2
    return [
        {"type": "tool-input-start", "id": call_id, "toolName": name},
        {"type": "tool-input-delta", "id": call_id, "delta": args[:half]},
        {"type": "tool-input-delta", "id": call_id, "delta": args[half:]},
        {"type": "tool-input-end", "id": call_id},
        {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": args},
        {"type": "finish", "finishReason": "tool-calls", "usage": usage(15, 5)},
    ]


def agents() -> dict[str, Agent]:
    return {
        "text-agent": Agent(
            "text-agent",
            model=ScriptedModel(
                [text_step("Plan: email, gym, groceries.", reasoning="List it.")], cycle=True
            ),
        ),
        "tool-agent": Agent(
            "tool-agent",
            model=ScriptedModel(
                [
                    tool_step("call-1", "weather", '{"city":"Paris"}'),
                    text_step("It is 21C and cloudy.", "t2"),
                ],
                cycle=True,
            ),
            tools=[weather],
        ),
        "failing-tool-agent": Agent(
            "failing-tool-agent",
            model=ScriptedModel(
                [
                    tool_step("call-9", "search", '{"query":"x"}'),
                    text_step("The search failed.", "t2"),
                ],
                cycle=True,
            ),
            tools=[search],
        ),
    }


class Value(BaseModel):
    value: str


class Approval(BaseModel):
    approved: bool


async def _prepare(ctx: StepContext[Value]) -> Value:
    await ctx.writer.write({"type": "data-progress", "data": {"stage": "prepared"}})
    return Value(value=ctx.input_data.value + "!")


async def _approve(ctx: StepContext[Value]) -> Value | None:
    if ctx.resume_data is None:
        await ctx.suspend({"why": "need approval"})
        return None
    verdict = "approved" if ctx.resume_data.approved else "rejected"
    return Value(value=f"{ctx.input_data.value} {verdict}")


def workflows(helper: Agent) -> dict[str, Workflow]:
    return {
        "approval-workflow": Workflow("approval-workflow", Value, Value)
        .then(Step("prepare", Value, Value, _prepare))
        .then(Step("approve", Value, Value, _approve, resume_schema=Approval))
        .commit(),
        "agent-workflow": Workflow("agent-workflow")
        .then(Step("to-prompt", None, None, lambda ctx: {"prompt": "Plan my day"}))
        .then(Step.from_agent(helper))
        .commit(),
    }


def router(call: ModelCall) -> list[dict[str, Any]]:
    """The network agent's model: routes to the researcher; checks pass with a final answer."""
    properties = (call.response_format or {}).get("schema", {}).get("properties", {})
    if "primitiveId" in properties:
        decision = {
            "primitiveId": "researcher",
            "primitiveType": "agent",
            "prompt": "Find facts about dolphins",
            "selectionReason": "the researcher finds facts",
        }
        answer = json.dumps(decision)
    else:
        verdict = {
            "isComplete": True,
            "completionReason": "the facts answer the task",
            "finalResult": "Dolphins are smart, social mammals.",
        }
        answer = json.dumps(verdict)
    return text_step(answer)


def network_agents() -> dict[str, Agent]:
    researcher = Agent(
        "researcher",
        description="finds facts",
        model=ScriptedModel([text_step("Dolphins are mammals.")], cycle=True),
    )
    network = Agent(
        "network-agent",
        instructions="Coordinate the research.",
        model=FunctionModel(router),
        agents={"researcher": researcher},
        memory=Memory(),
    )
    return {"researcher": researcher, "network-agent": network}


@pytest.fixture
async def base(serve: Serve) -> str:
    """A server with text, tool and failing-tool agents, two workflows and a network."""
    registered = {**agents(), **network_agents()}
    runtime = Runtime(agents=registered, workflows=workflows(registered["text-agent"]))
    return await serve(create_app(runtime))
