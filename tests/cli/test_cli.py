"""The command line: usage, the demo's model choice, and what ``serve`` accepts and logs."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from rxagents.cli.demo import choose_model
from rxagents.cli.serve import serve_main
from rxagents.errors import ConfigurationError
from rxagents.models import OpenAIChatModel


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RXAGENTS_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rxagents", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


def test_no_arguments_print_the_usage_and_succeed() -> None:
    done = run_cli()
    assert done.returncode == 0
    assert "python -m rxagents demo" in done.stdout
    assert "python -m rxagents serve" in done.stdout


def test_the_demo_says_it_runs_on_the_embedded_model() -> None:
    done = run_cli("demo", "--fast")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("model: the embedded scripted model")
    assert done.stderr == ""


def test_the_demo_warns_when_the_configured_model_has_no_key() -> None:
    done = run_cli("demo", "--fast", env={"RXAGENTS_MODEL": "openai/gpt-4o-mini"})
    assert done.returncode == 0
    assert "RXAGENTS_MODEL=openai/gpt-4o-mini cannot be used" in done.stderr
    assert "OPENAI_API_KEY is not set" in done.stderr
    assert "agent planner" in done.stdout


def test_the_demo_reports_a_bad_model_string_without_a_traceback() -> None:
    done = run_cli("demo", env={"RXAGENTS_MODEL": "no-slash"})
    assert done.returncode == 2
    assert done.stderr.startswith("rxagents demo: a model string is 'provider/model'")
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_choose_model_names_the_model_it_uses() -> None:
    env = {"RXAGENTS_MODEL": "openai/gpt-4o-mini", "OPENAI_API_KEY": "sk-test"}
    model, notice = choose_model(env)
    assert isinstance(model, OpenAIChatModel)
    assert notice == "model: openai/gpt-4o-mini (from RXAGENTS_MODEL)"
    assert choose_model({})[0] is None
    with pytest.raises(ConfigurationError, match="unknown model provider"):
        choose_model({"RXAGENTS_MODEL": "nowhere/x"})


AGENT_MODULE = """
from rxagents import Agent, Runtime
from rxagents.models import ScriptedModel

agent = Agent("hello", model=ScriptedModel([[{"type": "finish", "finishReason": "stop"}]]))
runtime = Runtime(agents={"hello": agent})
something = 42
"""


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "cli_app:agent",
            "is an Agent, not a Runtime; serve a runtime that registers it: "
            'Runtime(agents={"hello": agent})',
        ),
        ("cli_app:something", "is a int, not a rxagents Runtime"),
    ],
)
def test_serve_refuses_what_is_not_a_runtime(
    target: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "cli_app.py").write_text(AGENT_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert serve_main([target]) == 2
    assert message in capsys.readouterr().err


async def test_serve_logs_paths_never_query_strings(tmp_path: Path) -> None:
    (tmp_path / "cli_app.py").write_text(AGENT_MODULE)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rxagents",
        "serve",
        "cli_app:runtime",
        "--port",
        str(port),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert f"127.0.0.1:{port}" in line.decode()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/api/agents?token=s3cret-value") as response,
        ):
            assert response.status == 200
        logged = b""
        while b"/api/agents" not in logged:
            logged += await asyncio.wait_for(process.stderr.readline(), 30)
        assert b"GET /api/agents 200" in logged
        assert b"s3cret" not in logged
    finally:
        process.terminate()
        await process.wait()
