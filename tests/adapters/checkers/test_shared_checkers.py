"""Extra checks: the shared protocol checkers, when a ``shared`` checkout sits beside the repo.

``conftest.py`` collects this file only when ``../shared`` (or ``RXAGENTS_SHARED``) holds both
``mastra-client-check`` and ``aisdk-check``; the project's own harness (``tests/js``) covers the
same ground without them. ``install_shared.sh`` copies them into a writable cache and installs
their pinned clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from rxagents import Runtime
from rxagents.adapters.server import create_app
from rxagents.agent import Agent
from rxagents.models import ScriptedModel
from tests.adapters.tool_streams import streaming_runtime, text_step

from .conftest import HERE, SCRIPT_TIMEOUT, Serve

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def shared_checkers() -> Path:
    """Install both shared checkers; return the cache directory holding them."""
    install = HERE / "install_shared.sh"
    result = subprocess.run(
        ["bash", str(install)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{install} failed:\n{result.stderr[-4000:]}", pytrace=False)
    return Path(result.stdout.strip().splitlines()[-1])


async def run_check(script: Path, *args: str) -> str:
    """Run a shared checker; assert it passes; return its stdout."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, err = await asyncio.wait_for(process.communicate(), SCRIPT_TIMEOUT)
    assert process.returncode == 0, f"{script} failed ({process.returncode}):\n{err.decode()}"
    return out.decode()


async def test_the_shared_mastra_client_check_passes(base: str, shared_checkers: Path) -> None:
    out = await run_check(
        shared_checkers / "mastra-client-check" / "check.mjs",
        *("--base", base, "--agent", "tool-agent"),
        *("--workflow", "approval-workflow", "--input", '{"value": "x"}'),
        *("--resume-data", '{"approved": true}'),
        *("--network", "network-agent", "--max-steps", "10"),
    )
    summary = json.loads(out)
    assert summary["ok"] is True
    assert summary["workflowResume"]["status"] == "success"


CHAT_ROUTES = {
    "/api/agents/text-agent/chat": None,
    "/api/agents/tool-agent/chat": None,
    "/api/agents/failing-tool-agent/chat": None,
    "/api/agents/network-agent/network/chat": None,
    "/api/workflows/approval-workflow/chat": {"inputData": {"value": "x"}},
    "/api/workflows/agent-workflow/chat": {"inputData": {}},
}


@pytest.mark.parametrize("path", CHAT_ROUTES)
async def test_the_shared_aisdk_check_passes(base: str, shared_checkers: Path, path: str) -> None:
    body = CHAT_ROUTES[path]
    extra = [] if body is None else ["--body", json.dumps(body)]
    out = await run_check(
        shared_checkers / "aisdk-check" / "check.mjs", "--url", base + path, *extra
    )
    assert json.loads(out)["role"] == "assistant"


TOOL_STREAM_ROUTES = {
    "/api/agents/writer-agent/chat": None,
    "/api/agents/nested-agent/chat": None,
    "/api/agents/text-pipe-agent/chat": None,
    "/api/agents/long-nested-agent/chat": None,
    "/api/workflows/writer-workflow/chat": {"inputData": {}},
}


@pytest.mark.parametrize("sub_agents", [False, True])
@pytest.mark.parametrize("path", TOOL_STREAM_ROUTES)
async def test_the_shared_aisdk_check_passes_on_tools_that_stream(
    serve: Serve, shared_checkers: Path, path: str, sub_agents: bool
) -> None:
    base = await serve(create_app(streaming_runtime(), chat_sub_agents=sub_agents))
    body = TOOL_STREAM_ROUTES[path]
    extra = [] if body is None else ["--body", json.dumps(body)]
    out = await run_check(
        shared_checkers / "aisdk-check" / "check.mjs", "--url", base + path, *extra
    )
    message = json.loads(out)
    kinds = {part["type"] for part in message["parts"]}
    assert ("data-tool-agent-text" in kinds) == (sub_agents and "nested" in path)


async def test_the_shared_mastra_client_check_passes_on_wrapped_tool_progress(
    serve: Serve, shared_checkers: Path
) -> None:
    """A workflow agent step and a network agent whose tool writes: progress travels wrapped.

    (An agent stream with tool progress is outside this checker's rules, which require the
    four-key envelope from ``AGENT`` on every chunk; ``mastra.mjs tool-stream`` covers it.)
    """
    runtime = streaming_runtime()
    plain = Agent("plain", model=ScriptedModel([text_step("hi")], cycle=True))
    runtime = Runtime(agents={**runtime.agents, "plain": plain}, workflows=runtime.workflows)
    base = await serve(create_app(runtime))
    out = await run_check(
        shared_checkers / "mastra-client-check" / "check.mjs",
        *("--base", base, "--agent", "plain", "--workflow", "writer-workflow"),
        *("--network", "network-agent", "--max-steps", "10"),
    )
    assert json.loads(out)["ok"] is True
