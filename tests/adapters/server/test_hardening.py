"""Bad input the probe found getting through: non-finite numbers, unknown parts, long URLs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from rxagents import Agent, Runtime
from rxagents.adapters.server import create_app
from rxagents.errors import ConfigurationError
from rxagents.models import FunctionModel

from .test_server import approval_workflow, create, echo, post, refusal


@pytest.fixture
async def client(aiohttp_client: AiohttpClient) -> TestClient[Any, Any]:
    runtime = Runtime(
        agents={"echo": Agent("echo", model=FunctionModel(echo))},
        workflows={"approval": approval_workflow()},
    )
    return await aiohttp_client(create_app(runtime))


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"messages": "hi", "temperature": NaN}', "temperature"),
        (b'{"messages": "hi", "temperature": 1e400}', "temperature"),
        (b'{"messages": "hi", "topP": -Infinity}', "topP"),
        (b'{"messages": "hi", "modelSettings": {"frequencyPenalty": Infinity}}', "modelSettings"),
    ],
)
async def test_non_finite_numbers_are_refused_naming_the_field(
    client: TestClient[Any, Any], raw: bytes, field: str
) -> None:
    response = await post(client, "/api/agents/echo/stream", raw)
    error = await refusal(response, 400)
    assert error["error"].startswith(field)
    assert error["issues"][0]["message"] == "not a finite number"


async def test_a_workflow_state_with_nan_is_refused_before_any_stream(
    client: TestClient[Any, Any],
) -> None:
    run_id = await create(client)
    raw = b'{"inputData": {"value": "x"}, "initialState": {"n": NaN}}'
    response = await post(client, f"/api/workflows/approval/stream?runId={run_id}", raw)
    error = await refusal(response, 400)
    assert error["error"].startswith("initialState.n:")


async def test_an_unknown_content_part_type_is_refused(client: TestClient[Any, Any]) -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "bogus"}]}]}
    error = await refusal(await post(client, "/api/agents/echo/stream", body), 400)
    assert "has type 'bogus'" in error["error"]


async def test_an_overlong_url_gets_a_json_answer_and_one_log_line(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.get("/api/agents/" + "x" * 9000)
    assert response.status in (400, 414)
    assert response.content_type == "application/json"
    body = await response.json()
    assert "x" * 100 not in body["error"]  # the URL is not echoed back
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.WARNING)


async def test_a_request_line_past_the_parser_limit_is_one_warning_line(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.get("/api/agents/" + "x" * 70_000)
    assert response.status == 400  # aiohttp answers before the application runs
    warnings = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].exc_info is None
    assert "xxxx" not in warnings[0].getMessage()


def test_create_app_refuses_an_agent_and_says_how_to_wrap_it() -> None:
    agent = Agent("helper", model=FunctionModel(echo))
    with pytest.raises(ConfigurationError, match=r'Runtime\(agents=\{"helper": agent\}\)'):
        create_app(agent)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"needs a runtime \(rxagents.Runtime\), got dict"):
        create_app({})  # type: ignore[arg-type]
