"""Broken streams: a valid stream with one mutation, and the rule it breaks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from rxagents.errors import InvalidInputError
from rxagents.testing._wellformed import Rule

from ._agent import agent_chunk_streams
from ._base import DEFAULT_TOOLS, Breakage, ToolSpec
from ._mutations import (
    AGENT_MUTATIONS,
    AGENT_PAUSE_MUTATIONS,
    AGENT_WRITE_MUTATIONS,
    NETWORK_MUTATIONS,
    WORKFLOW_MUTATIONS,
    Mutation,
    Stream,
)
from ._network import network_chunk_streams
from ._workflow import workflow_chunk_streams

__all__ = ("BREAKABLE_RULES", "broken_agent_streams", "violations")

BREAKABLE_RULES: frozenset[Rule] = frozenset(
    rule
    for mutation in (
        AGENT_MUTATIONS
        + AGENT_PAUSE_MUTATIONS
        + AGENT_WRITE_MUTATIONS
        + WORKFLOW_MUTATIONS
        + NETWORK_MUTATIONS
    )
    for rule in mutation.rules
)
"""Every rule :func:`violations` can break."""


_TRIES = 8
"""Streams drawn for one breakage before the example is rejected."""


@st.composite
def _broken(
    draw: DrawFn, streams: SearchStrategy[Stream], mutations: tuple[Mutation, ...]
) -> Breakage:
    # A stream may offer nothing to break (no text block, no pause): draw another a few times
    # before rejecting, so that rare shapes do not make hypothesis filter too much.
    for _ in range(_TRIES):
        stream = draw(streams)
        applicable = [(m, places) for m in mutations if (places := m.where(stream))]
        if applicable:
            break
    assume(applicable)
    mutation, places = draw(st.sampled_from(applicable))
    return mutation.apply(stream, draw(st.sampled_from(places)))


def _targeted(
    streams: SearchStrategy[Stream],
    mutations: tuple[Mutation, ...],
    rules: frozenset[Rule] | None,
) -> SearchStrategy[Breakage] | None:
    if rules is None:
        return _broken(streams, mutations)
    chosen = tuple(m for m in mutations if rules & set(m.rules))
    if not chosen:
        return None
    return _broken(streams, chosen).filter(lambda breakage: breakage[1] in rules)


def _rule_set(rules: Iterable[Rule | str] | None) -> frozenset[Rule] | None:
    """Return the chosen rules as members; a rule may be given by its name."""
    if rules is None:
        return None
    names = frozenset(rules)
    unknown = names - BREAKABLE_RULES
    if unknown:
        listed = ", ".join(sorted(map(str, unknown)))
        raise InvalidInputError(f"no mutation breaks {listed}; see BREAKABLE_RULES")
    return frozenset(rule for rule in BREAKABLE_RULES if rule in names)


def _writing_streams(tools: ToolSpec) -> SearchStrategy[list[Any]]:
    """Streams whose tools write: values, data chunks, nested runs, a sub-agent."""
    return agent_chunk_streams(
        tools=tools, include_errors=True, include_tool_output=True, sub_agents=("helper",)
    )


def broken_agent_streams(
    *, rules: Iterable[Rule | str] | None = None, tools: ToolSpec = DEFAULT_TOOLS
) -> SearchStrategy[Breakage]:
    """Return a strategy for agent streams broken by one mutation, with the rule they break.

    A valid stream (from :func:`agent_chunk_streams`, sometimes ending in a failed model call)
    gets one change: ``finish`` or ``start`` dropped or repeated; ``finish`` moved before the last
    ``step-finish``; a step start dropped or repeated; a delta moved out of its block or given
    another id; a block start or end dropped or repeated; streamed tool input not started,
    started twice or ended after its call; a tool-call dropped or repeated; a tool-result
    dropped, repeated, moved before its call or naming another tool; a runId or the total usage
    changed; in streams whose tools write, a ``tool-output`` naming another call or tool or moved
    after its call's answer, a nested run's ``finish`` dropped, the nested usage on an answer
    dropped. The rule is the one :func:`~rxagents.testing.check_well_formed` reports first.

    Args:
        rules: Only breakages of these rules, as members or names (each must be in
            ``BREAKABLE_RULES``).
        tools: Tool names for the underlying streams (see :func:`agent_scripts`).

    Raises:
        InvalidInputError: A rule in ``rules`` has no agent mutation.
    """
    streams = cast(SearchStrategy[Stream], agent_chunk_streams(tools=tools, include_errors=True))
    paused = cast(SearchStrategy[Stream], agent_chunk_streams(tools=tools, include_pauses=True))
    written = _writing_streams(tools)
    chosen = _rule_set(rules)
    strategies = [
        found
        for source, mutations in (
            (streams, AGENT_MUTATIONS),
            (paused, AGENT_PAUSE_MUTATIONS),
            (written, AGENT_WRITE_MUTATIONS),
        )
        if (found := _targeted(source, mutations, chosen)) is not None
    ]
    if not strategies:
        listed = ", ".join(sorted(chosen or ()))
        raise InvalidInputError(f"no agent mutation breaks {listed}")
    return st.one_of(strategies)


def violations(*, rules: Iterable[Rule | str] | None = None) -> SearchStrategy[Breakage]:
    """Return a strategy for broken agent, workflow and network streams with the broken rule.

    Agent breakages as in :func:`broken_agent_streams`; workflow streams lose or repeat their
    start or finish, lose a step's start or result, have output after its step's result, start
    a running ``stepCallId`` again, close a step with another id, or end with a status their
    steps contradict; network streams lose or repeat their finish, lose a span's start or end,
    repeat a wrapped chunk after its execution, change an inner runId, or lose an inner stream's
    finish.

    Args:
        rules: Only breakages of these rules, as members or names (each must be in
            ``BREAKABLE_RULES``); parametrize a test over ``BREAKABLE_RULES`` to exercise every
            rule evenly.

    Raises:
        InvalidInputError: A rule in ``rules`` is not in ``BREAKABLE_RULES``.
    """
    chosen = _rule_set(rules)
    families = (
        (agent_chunk_streams(include_errors=True), AGENT_MUTATIONS),
        (agent_chunk_streams(include_pauses=True), AGENT_PAUSE_MUTATIONS),
        (_writing_streams(DEFAULT_TOOLS), AGENT_WRITE_MUTATIONS),
        (workflow_chunk_streams(max_steps=3), WORKFLOW_MUTATIONS),
        (network_chunk_streams(max_iterations=2), NETWORK_MUTATIONS),
    )
    strategies = [
        found
        for streams, mutations in families
        if (found := _targeted(cast(SearchStrategy[Stream], streams), mutations, chosen))
        is not None
    ]
    return st.one_of(strategies)
