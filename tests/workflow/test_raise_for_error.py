"""``WorkflowStream.raise_for_error()``: a failed run raises, a good or suspended one does not."""

from __future__ import annotations

import pytest

from rxagents.errors import RunFailedError
from rxagents.workflow import Workflow

from .conftest import N, boom, inc


async def test_a_failed_step_raises_run_failed_error() -> None:
    workflow = Workflow("wf", N, N).then(inc()).then(boom()).commit()
    stream = await (await workflow.create_run()).stream(input_data={"n": 1})
    assert await stream.status == "failed"  # in-band first, as in Mastra
    with pytest.raises(RunFailedError, match="step exploded") as caught:
        await stream.raise_for_error()
    assert caught.value.error is not None
    assert caught.value.error.name == "RuntimeError"


async def test_a_successful_run_raises_nothing() -> None:
    workflow = Workflow("wf", N, N).then(inc()).commit()
    stream = await (await workflow.create_run()).stream(input_data={"n": 1})
    await stream.raise_for_error()
    assert await stream.status == "success"
