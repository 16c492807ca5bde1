"""Hypothesis strategies for usage, scripted model responses and chunk streams.

Valid streams follow every rule :func:`rxagents.testing.assert_well_formed` checks; broken ones
come with the rule they break. Use them in this project's tests and in your own:

Example:
    >>> from hypothesis import given
    >>> from rxagents.testing import assert_well_formed
    >>> from rxagents.testing.strategies import agent_chunk_streams
    >>> @given(agent_chunk_streams())
    ... def test_my_pipeline_keeps_streams_well_formed(chunks):
    ...     assert_well_formed(my_pipeline(chunks))

Streams of tools that write while they run, of nested agent runs and of supervisors come from
``agent_chunk_streams(include_tool_output=True, sub_agents=("research",), max_depth=2)``.

The strategies live in private modules, one per kind of data (``rxagents.testing._strategies``);
this module is their public face. It needs hypothesis (``pip install 'rxagents[dev]'``);
``rxagents.testing`` itself does not import it.
"""

from __future__ import annotations

try:  # the modules behind this one import hypothesis: fail here, with the install hint
    import hypothesis  # noqa: F401
except ImportError as _err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "rxagents.testing.strategies needs hypothesis; install it with: pip install 'rxagents[dev]'"
    ) from _err

from ._strategies._agent import agent_chunk_streams as agent_chunk_streams
from ._strategies._base import DEFAULT_TOOLS as DEFAULT_TOOLS
from ._strategies._base import Breakage as Breakage
from ._strategies._base import ModelPartDict as ModelPartDict
from ._strategies._base import Script as Script
from ._strategies._base import ToolSpec as ToolSpec
from ._strategies._base import json_values as json_values
from ._strategies._base import usages as usages
from ._strategies._broken import BREAKABLE_RULES as BREAKABLE_RULES
from ._strategies._broken import broken_agent_streams as broken_agent_streams
from ._strategies._broken import violations as violations
from ._strategies._chunks import chunks as chunks
from ._strategies._network import network_chunk_streams as network_chunk_streams
from ._strategies._scripts import agent_scripts as agent_scripts
from ._strategies._workflow import workflow_chunk_streams as workflow_chunk_streams

__all__ = (
    "BREAKABLE_RULES",
    "DEFAULT_TOOLS",
    "Breakage",
    "ModelPartDict",
    "Script",
    "ToolSpec",
    "agent_chunk_streams",
    "agent_scripts",
    "broken_agent_streams",
    "chunks",
    "json_values",
    "network_chunk_streams",
    "usages",
    "violations",
    "workflow_chunk_streams",
)
