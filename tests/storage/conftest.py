"""Every storage backend, for the one contract suite: in memory, SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from rxagents.storage import InMemoryStorage, PostgresStorage, SqliteStorage, Storage

BACKENDS = ("memory", "sqlite", "postgres")

Opener = Callable[[], Storage]
"""Opens another storage object on the same data (another connection, as another process)."""


@pytest.fixture(params=BACKENDS)
async def open_storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """A function opening storages that share one backend's data; all closed at the end."""
    opened: list[Storage] = []
    memory = InMemoryStorage()
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else ""

    def open_one() -> Storage:
        storage: Storage
        if request.param == "memory":
            storage = memory
        elif request.param == "sqlite":
            storage = SqliteStorage(tmp_path / "contract.db")
        else:
            storage = PostgresStorage(dsn)
        opened.append(storage)
        return storage

    yield open_one
    for storage in opened:
        await storage.close()


@pytest.fixture
def storage(open_storage: Opener) -> Storage:
    """One storage of each backend."""
    return open_storage()
