"""Shared test configuration: hypothesis profiles (a heavier one when ``CI`` is set).

No health check is suppressed. Without a deadline (examples that run agents vary in time on a
loaded machine) hypothesis allows 30 s, not 1 s, of input generation before ``too_slow``; the
README's snippets run outside this configuration, with hypothesis's defaults, as users run them.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
