"""Ids in the text of a version 4 UUID, made cheaply.

:func:`random_id` for what must stay unguessable (run and message ids travel in URLs);
:func:`counted_id` for ids that only need to be unique in the process (a workflow step's call).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import count

__all__ = ("counted_id", "random_id")


def random_id() -> str:
    """Return a random id, formatted as ``str(uuid.uuid4())`` is.

    The same 122 random bits from ``os.urandom`` (run ids travel in URLs, so they must stay
    unguessable), without building a ``uuid.UUID`` on the way (a run takes two ids, and the
    ``UUID`` object costs more than the random bytes).
    """
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


_UUID_MASK = ~(0xF000 << 64) & ~(0xC000 << 48) & ((1 << 128) - 1)
_UUID_BITS = (0x4000 << 64) | (0x8000 << 48)
_TAIL = (1 << 48) - 1


def _fresh() -> tuple[str, Iterator[int]]:
    """Return a random id prefix (the first four groups) and a counter from a random start."""
    bits = (int.from_bytes(os.urandom(16), "big") & _UUID_MASK) | _UUID_BITS
    text = bits.to_bytes(16, "big").hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-", count(bits & _TAIL)


_prefix, _counter = _fresh()


def _refresh() -> None:
    global _prefix, _counter
    _prefix, _counter = _fresh()


if hasattr(os, "register_at_fork"):  # POSIX: a forked process numbers its own ids
    os.register_at_fork(after_in_child=_refresh)


def counted_id() -> str:
    """Return a version-4 UUID string unique in the process (not a secret).

    The first four groups are random per process (74 random bits), the last counts on from a
    random start: unique by construction within the process, and a third of the cost of
    drawing 128 random bits each time.
    """
    return _prefix + format(next(_counter) & _TAIL, "012x")
