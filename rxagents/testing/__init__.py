"""Test helpers for rxagents and for users' own pipelines.

- :func:`assert_well_formed` / :func:`check_well_formed`: check an agent, workflow or network
  chunk stream against every ordering rule of its family (:class:`Rule` names them, ``RULES``
  describes each).
- :func:`run_marbles` / :func:`chunk_records`: marble tests of chunk pipelines on a
  ``reactivex.testing.TestScheduler``.
- :mod:`rxagents.testing.strategies`: hypothesis strategies for usage, scripted model responses
  and chunk streams (needs hypothesis: ``pip install 'rxagents[dev]'``; imported only on demand).
"""

from ._wellformed import RULES as RULES
from ._wellformed import ChunkLike as ChunkLike
from ._wellformed import Rule as Rule
from ._wellformed import StreamKind as StreamKind
from ._wellformed import Violation as Violation
from ._wellformed import WellFormednessError as WellFormednessError
from ._wellformed import assert_well_formed as assert_well_formed
from ._wellformed import check_well_formed as check_well_formed
from .marbles import MarbleResult as MarbleResult
from .marbles import chunk_records as chunk_records
from .marbles import run_marbles as run_marbles

__all__ = (
    "RULES",
    "ChunkLike",
    "MarbleResult",
    "Rule",
    "StreamKind",
    "Violation",
    "WellFormednessError",
    "assert_well_formed",
    "check_well_formed",
    "chunk_records",
    "run_marbles",
)
