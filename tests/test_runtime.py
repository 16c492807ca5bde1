"""``Runtime``: agents and workflows by key, sharing one storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from rxagents.agent import Agent
from rxagents.errors import ConfigurationError, UserError
from rxagents.models import ScriptedModel
from rxagents.runtime import NotRegisteredError, Runtime
from rxagents.storage import InMemoryStorage, SqliteStorage
from rxagents.workflow import SNAPSHOT_NAMESPACE, Step, Workflow


class N(BaseModel):
    n: int


def workflow(id: str = "wf") -> Workflow:
    return Workflow(id, N, N).then(Step("inc", N, N, lambda c: {"n": c.input_data.n + 1})).commit()


def agent(id: str = "helper") -> Agent:
    return Agent(id, model=ScriptedModel([]))


def test_get_returns_what_was_registered_under_its_key() -> None:
    helper, flow = agent(), workflow()
    runtime = Runtime(agents={"helper": helper}, workflows={"greet": flow})
    assert runtime.get_agent("helper") is helper
    assert runtime.get_workflow("greet") is flow
    assert dict(runtime.agents) == {"helper": helper}
    assert dict(runtime.workflows) == {"greet": flow}
    assert "greet" in repr(runtime)


def test_unknown_keys_raise_a_key_error_listing_the_known_ones() -> None:
    runtime = Runtime(agents={"a": agent("a"), "b": agent("b")}, workflows={"w": workflow()})
    with pytest.raises(NotRegisteredError, match=r"no agent is registered as 'c'.*'a', 'b'") as e:
        runtime.get_agent("c")
    assert isinstance(e.value, KeyError)
    assert isinstance(e.value, UserError)
    assert (e.value.kind, e.value.key, e.value.known) == ("agent", "c", ["a", "b"])
    with pytest.raises(KeyError, match="registered workflows: 'w'"):
        runtime.get_workflow("nope")
    with pytest.raises(KeyError, match="registered agents: none"):
        Runtime().get_agent("x")


def test_registered_workflows_use_the_runtime_storage() -> None:
    storage = InMemoryStorage()
    flow = workflow()
    own = flow.storage
    runtime = Runtime(workflows={"w": flow}, storage=storage)
    assert runtime.storage is storage
    assert flow.storage is storage
    assert own is not storage
    assert isinstance(Runtime().storage, InMemoryStorage)


async def test_runs_of_registered_workflows_leave_snapshots_in_the_runtime_storage(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(tmp_path / "rt.db")
    runtime = Runtime(workflows={"w": workflow("counter")}, storage=storage)
    run = await runtime.get_workflow("w").create_run(run_id="r1")
    assert (await run.start(input_data={"n": 1})).result == {"n": 2}
    snapshot = await storage.get(SNAPSHOT_NAMESPACE, "counter/r1")
    assert snapshot["status"] == "success"
    again = Runtime(workflows={"w": workflow("counter")}, storage=storage)
    result = await again.get_workflow("w").get_run_result("r1")
    assert result is not None
    assert result.result == {"n": 2}
    await storage.close()


def test_bad_registrations_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not committed"):
        Runtime(workflows={"w": Workflow("draft").then(Step("s", None, None, lambda c: None))})
    with pytest.raises(ConfigurationError, match=r"is not a workflow \(no create_run\(\)\)"):
        Runtime(workflows={"w": agent()})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match=r"is not an agent \(no stream\(\)\)"):
        Runtime(agents={"a": workflow()})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="non-empty strings"):
        Runtime(agents={"": agent()})
    with pytest.raises(ConfigurationError, match="dict"):
        Runtime(agents=[agent()])  # type: ignore[arg-type]


def test_anything_that_runs_like_an_agent_or_workflow_can_be_registered() -> None:
    class Double:
        id = "double"

        def observe(self, messages: object, **options: object) -> None:
            return None

        async def stream(self, messages: object, **options: object) -> None:
            return None

    class RemoteLike:
        async def create_run(self, run_id: str | None = None) -> None:
            return None

    double, remote = Double(), RemoteLike()
    runtime = Runtime(agents={"d": double}, workflows={"r": remote})  # type: ignore[dict-item]
    agent_found: object = runtime.get_agent("d")
    workflow_found: object = runtime.get_workflow("r")
    assert agent_found is double
    assert workflow_found is remote
