"""A model that raises: name and message on the wire, the traceback in process and at debug."""

from __future__ import annotations

import logging

import pytest

from rxagents import Agent
from rxagents.events import ErrorInfo
from rxagents.models import ScriptedModel


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
async def test_a_raising_model_is_logged_once_and_its_stack_stays_home(
    level: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(level, logger="rxagents")
    agent = Agent("a", model=ScriptedModel([[RuntimeError("boom at /secret/path.py")]]))
    stream = await agent.stream("hi")
    chunks = [chunk.model_dump(by_alias=True) async for chunk in stream]
    error = next(c for c in chunks if c["type"] == "error")["payload"]["error"]
    assert error == {"name": "RuntimeError", "message": "boom at /secret/path.py"}
    assert "stack" not in str(chunks)
    assert isinstance(stream.error, ErrorInfo)
    assert stream.error.exception is not None
    records = [r for r in caplog.records if "the model call failed" in r.getMessage()]
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    assert (records[0].exc_info is not None) == (level == logging.DEBUG)
