"""The demo's network section runs on embedded models and streams the same way every time."""

from __future__ import annotations

import pytest

from rxagents.cli.demo import demo_network, run_network
from rxagents.testing import assert_well_formed


async def test_the_demo_network_routes_over_an_agent_a_workflow_and_a_tool(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = await run_network(demo_network(0.0), "Research how dolphins sleep")
    assert_well_formed(list(stream.chunks))
    out = capsys.readouterr().out
    assert "route → agent research" in out
    assert "route → workflow fact-sheet" in out
    assert "route → tool word_count" in out
    assert "word_count → 11" in out
    assert "status: success, iterations: 3" in out
    result = await stream.result
    assert result.is_complete
    assert str(result.result).startswith("Dolphins rest one brain half at a time")
