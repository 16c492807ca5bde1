"""Random ids for runs and messages: the text of a version 4 UUID, made cheaply."""

from __future__ import annotations

import os

__all__ = ("random_id",)


def random_id() -> str:
    """Return a random id, formatted as ``str(uuid.uuid4())`` is.

    The same 122 random bits from ``os.urandom`` (run ids travel in URLs, so they must stay
    unguessable), without building a ``uuid.UUID`` on the way (a run takes two ids, and the
    ``UUID`` object costs more than the random bytes).
    """
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"
