"""``SqliteStorage``: the storage protocol in an embedded SQLite file (stdlib ``sqlite3``)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, final

from rxagents.storage._protocol import JsonValue

__all__ = ("SqliteStorage",)

_R = TypeVar("_R")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID
"""
_MAX_CHAR = chr(0x10FFFF)


@final
class SqliteStorage:
    """Keep JSON values in an SQLite file, shared by every process that opens the same path.

    Each call runs in a worker thread (``asyncio.to_thread``), so the event loop never waits
    for the disk; calls are serialised on one connection, opened on first use. The database is
    in WAL mode with a busy timeout, so several processes can use one file. ``":memory:"``
    gives a private in-memory database.

    Example:
        >>> storage = SqliteStorage("rxagents.db")
        >>> await storage.put("workflow_snapshots", "wf/run-1", {"status": "suspended"})
        ... # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        """Prepare a storage in the SQLite file at ``path`` (created on first use).

        Args:
            path: The database file, or ``":memory:"``.
            busy_timeout: Seconds to wait for another process's write lock.
        """
        self.path = os.fspath(path)
        self._busy_timeout = busy_timeout
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteStorage({self.path!r})"

    async def get(self, namespace: str, key: str, default: JsonValue = None) -> JsonValue:
        """Return the value stored under ``key``, or ``default`` when there is none."""
        row = await self._call(
            lambda db: db.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        )
        return default if row is None else json.loads(row[0])

    async def put(self, namespace: str, key: str, value: JsonValue) -> None:
        """Store ``value`` under ``key``, replacing what was there.

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
        """
        text = json.dumps(value, allow_nan=False)  # fail in the caller, before the thread hop
        stamp = time.time()
        await self._call(
            lambda db: db.execute(
                "INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (namespace, key, text, stamp),
            )
        )

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove ``key``; return whether it existed."""
        cursor = await self._call(
            lambda db: db.execute(
                "DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            )
        )
        return cursor.rowcount > 0

    async def list(
        self,
        namespace: str,
        prefix: str = "",
        *,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, JsonValue]]:
        """Return ``(key, value)`` pairs whose key starts with ``prefix``, in key order."""
        sql = "SELECT key, value FROM kv WHERE namespace = ?"
        params: list[Any] = [namespace]
        if prefix:
            # A range keeps the primary-key index usable (LIKE would not, and treats % and _).
            sql += " AND key >= ? AND key < ?"
            params += [prefix, prefix + _MAX_CHAR]
        sql += " ORDER BY key DESC" if reverse else " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        rows = await self._call(lambda db: db.execute(sql, params).fetchall())
        return [(key, json.loads(text)) for key, text in rows if key.startswith(prefix)]

    async def close(self) -> None:
        """Close the connection; using the storage afterwards raises :class:`RuntimeError`."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._close)

    # --- the worker-thread side -----------------------------------------------------------

    async def _call(self, action: Callable[[sqlite3.Connection], _R]) -> _R:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        return await asyncio.to_thread(self._run, action)

    def _run(self, action: Callable[[sqlite3.Connection], _R]) -> _R:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self!r} is closed")
            db = self._connection
            if db is None:
                db = self._connection = self._open()
            return action(db)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,  # autocommit: every statement is its own transaction
            check_same_thread=False,  # used from worker threads, one at a time (self._lock)
        )
        if self.path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute(_SCHEMA)
        return db

    def _close(self) -> None:
        with self._lock:
            db, self._connection = self._connection, None
            if db is not None:
                db.close()
