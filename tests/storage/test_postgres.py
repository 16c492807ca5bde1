"""PostgresStorage on a real server: migrations, schema, lost connections, clear errors."""

from __future__ import annotations

import asyncio
import socket

import psycopg
import pytest

from rxagents.errors import StorageUnavailableError
from rxagents.storage import PostgresStorage
from rxagents.storage._postgres import POSTGRES_MIGRATIONS


def _rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as db:
        return db.execute(sql).fetchall()  # type: ignore[arg-type]  # test SQL literals


async def test_first_use_applies_the_migrations_once(postgres_dsn: str) -> None:
    storage = PostgresStorage(postgres_dsn)
    await storage.put("ns", "k", {"a": 1})
    versions = _rows(postgres_dsn, "SELECT version FROM rxagents_schema ORDER BY version")
    assert versions == [(n,) for n in range(1, len(POSTGRES_MIGRATIONS) + 1)]
    await storage.migrate()  # again: nothing to do
    await storage.close()
    again = PostgresStorage(postgres_dsn)
    assert await again.get("ns", "k") == {"a": 1}
    await again.close()
    assert len(_rows(postgres_dsn, "SELECT version FROM rxagents_schema")) == len(
        POSTGRES_MIGRATIONS
    )


async def test_concurrent_first_uses_migrate_without_conflict(postgres_dsn: str) -> None:
    storages = [PostgresStorage(postgres_dsn, min_connections=1) for _ in range(5)]
    await asyncio.gather(*(s.migrate() for s in storages))
    await asyncio.gather(*(s.create("ns", f"k{i}", i) for i, s in enumerate(storages)))
    assert len(await storages[0].list("ns")) == 5
    for storage in storages:
        await storage.close()


async def test_values_are_jsonb_and_listings_are_indexed(postgres_dsn: str) -> None:
    await PostgresStorage(postgres_dsn).migrate()
    columns = dict(
        _rows(
            postgres_dsn,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'rxagents_kv'",
        )
    )
    assert columns["value"] == "jsonb"
    indexes = {name for (name,) in _rows(postgres_dsn, "SELECT indexname FROM pg_indexes")}
    assert {"rxagents_kv_owner", "rxagents_kv_status", "rxagents_kv_pkey"} <= indexes


async def test_lost_connections_are_replaced(postgres_dsn: str) -> None:
    storage = PostgresStorage(postgres_dsn, min_connections=2)
    await storage.put("ns", "k", 1)
    _rows(
        postgres_dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert await storage.get("ns", "k") == 1  # the pool noticed and reconnected
    assert await storage.update("ns", "k", 2, version=1) is not None
    await storage.close()


async def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    storage = PostgresStorage(
        f"postgresql://nobody@127.0.0.1:{port}/none", connect_timeout=0.5, read_retries=1
    )
    with pytest.raises(StorageUnavailableError, match="PostgreSQL"):
        await storage.get("ns", "k")
    with pytest.raises(StorageUnavailableError):
        await storage.put("ns", "k", 1)
    await storage.close()


async def test_the_dsn_never_shows_in_repr(postgres_dsn: str) -> None:
    storage = PostgresStorage("postgresql://app:secret@127.0.0.1/x")
    assert "secret" not in repr(storage)
    await storage.close()


async def test_text_postgres_cannot_store_is_a_value_error(postgres_dsn: str) -> None:
    storage = PostgresStorage(postgres_dsn)
    with pytest.raises(ValueError, match="PostgreSQL refused"):
        await storage.put("ns", "k", {"nul": "a\x00b"})
    assert await storage.get("ns", "k") is None
    await storage.close()
