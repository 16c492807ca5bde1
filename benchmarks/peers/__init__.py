"""The work every peer does in ``bench_peers.py``, and one module per peer that drives it.

Each peer module has ``NAME`` (the row label), ``DISTRIBUTIONS`` (the packages whose versions the
report prints) and ``runner(scenario)``: it builds the agent and its fake model once (not timed)
and returns a coroutine function that does one whole run, reads every event the framework's
event stream yields, and returns how many it read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

TOKEN = "tok "
"""The text of every streamed token."""
TOOL_NAME = "weather"
TOOL_ARGS = '{"city": "Paris"}'
TOOL_CALL_ID = "call-1"
PROMPT = "go"


def weather(city: str) -> dict[str, object]:
    """Current weather for a city."""
    return {"city": city, "temp": 21}


@dataclass(frozen=True)
class Scenario:
    """One scripted run.

    ``text``: one model call streaming ``tokens`` text tokens. ``tool``: a model call that asks
    for ``weather(city="Paris")``, the tool call, then a model call streaming ``tokens`` tokens.
    """

    kind: Literal["text", "tool"]
    tokens: int


Run = Callable[[], Awaitable[int]]
"""One whole run; returns the number of events read."""
