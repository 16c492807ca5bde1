"""Every storage backend, for the one contract suite: in memory, SQLite and a real PostgreSQL.

``open_storage`` (in ``tests/conftest.py``) opens storages of each backend in ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rxagents.storage import Storage

BACKENDS = ("memory", "sqlite", "postgres")

Opener = Callable[[], Storage]
"""Opens another storage object on the same data (another connection, as another process)."""


@pytest.fixture
def storage(open_storage: Opener) -> Storage:
    """One storage of each backend."""
    return open_storage()
