"""The clock every chunk timestamp comes from: epoch milliseconds (DESIGN section 2)."""

from __future__ import annotations

import time

__all__ = ("now_ms",)


def now_ms() -> int:
    """Return the current time in epoch milliseconds."""
    return int(time.time() * 1000)
