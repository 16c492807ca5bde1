"""Property: prefixing a well-formed agent stream keeps it well formed inside a network."""

from __future__ import annotations

from typing import Any

import reactivex
from hypothesis import given

from rxagents.events import (
    AgentExecutionEnd,
    AgentExecutionEndPayload,
    AgentExecutionStart,
    AgentExecutionStartPayload,
    NetworkFinish,
    NetworkFinishPayload,
    RoutingAgentEnd,
    RoutingAgentEndPayload,
    RoutingAgentStart,
    RoutingAgentStartPayload,
)
from rxagents.operators import prefix_events, unwrap_events
from rxagents.testing import assert_well_formed
from rxagents.testing.strategies import agent_chunk_streams

PREFIX = "agent-execution-event-"


def wrap(chunks: list[Any]) -> list[Any]:
    out: list[Any] = []
    reactivex.from_iterable(chunks).pipe(prefix_events(PREFIX, run_id="net")).subscribe(out.append)
    return out


def in_a_network(inner: list[Any]) -> list[Any]:
    exec_id = inner[0].run_id
    return [
        RoutingAgentStart(run_id="net", payload=RoutingAgentStartPayload(run_id="r0")),
        RoutingAgentEnd(
            run_id="net",
            payload=RoutingAgentEndPayload(primitive_id="a", primitive_type="agent", run_id="r0"),
        ),
        AgentExecutionStart(
            run_id="net", payload=AgentExecutionStartPayload(agent_id="a", run_id=exec_id)
        ),
        *wrap(inner),
        AgentExecutionEnd(run_id="net", payload=AgentExecutionEndPayload(agent_id="a")),
        NetworkFinish(run_id="net", payload=NetworkFinishPayload(task="t")),
    ]


@given(agent_chunk_streams(include_errors=True))
def test_prefixed_well_formed_streams_stay_well_formed(inner: list[Any]) -> None:
    assert_well_formed(inner)
    network = in_a_network(inner)
    assert_well_formed(network, kind="network")
    unwrapped: list[Any] = []
    reactivex.from_iterable(network).pipe(unwrap_events(PREFIX)).subscribe(unwrapped.append)
    assert unwrapped == inner
    assert_well_formed(unwrapped)
