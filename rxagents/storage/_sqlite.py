"""``SqliteStorage``: the storage protocol in an embedded SQLite file (stdlib ``sqlite3``)."""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar, final

from rxagents.errors import StorageClosedError
from rxagents.storage._protocol import ANY, Entry, Filter, JsonValue, encode
from rxagents.storage._shared import COLUMNS, Listing, list_query

__all__ = ("SQLITE_MIGRATIONS", "SqliteStorage")

_R = TypeVar("_R")

SQLITE_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        "CREATE TABLE IF NOT EXISTS kv ("
        " namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " updated_at REAL NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID",
    ),
    (
        "ALTER TABLE kv ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE kv ADD COLUMN owner TEXT",
        "ALTER TABLE kv ADD COLUMN status TEXT",
        "CREATE INDEX IF NOT EXISTS kv_owner ON kv (namespace, owner, key)",
        "CREATE INDEX IF NOT EXISTS kv_status ON kv (namespace, status, key)",
    ),
)
"""The schema, as numbered migrations (``PRAGMA user_version`` says how many are applied)."""


@final
class SqliteStorage(Listing):
    """Keep JSON values in an SQLite file, shared by every process that opens the same path.

    Each call runs in a worker thread (``asyncio.to_thread``), so the event loop never waits
    for the disk; calls are serialised on one connection, opened on first use (which applies
    the schema's migrations). The database is in WAL mode with a busy timeout, so several
    processes can use one file; :meth:`create` and :meth:`update` are single conditional
    statements, atomic across those processes. ``":memory:"`` gives a private in-memory
    database.

    Example:
        >>> storage = SqliteStorage("rxagents.db")
        >>> await storage.put("workflow_snapshots", "wf/run-1", {"status": "suspended"})
        ... # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
    ) -> None:
        """Prepare a storage in the SQLite file at ``path`` (created on first use).

        Args:
            path: The database file, or ``":memory:"``.
            busy_timeout: Seconds to wait for another process's write lock.
            synchronous: ``FULL`` (the default) syncs the WAL at every commit, so a write
                survives a power loss; ``NORMAL`` syncs at checkpoints only: a write still
                survives a crash of the process, and costs less (see the README's figures).
        """
        self.path = os.fspath(path)
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteStorage({self.path!r})"

    async def migrate(self) -> None:
        """Open the database now and apply any missing migrations (first use does it too)."""
        await self._call(lambda db: None)

    async def get(self, namespace: str, key: str, default: JsonValue = None) -> JsonValue:
        """Return the value stored under ``key``, or ``default`` when there is none."""
        row = await self._call(
            lambda db: db.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        )
        return default if row is None else json.loads(row[0])

    async def get_entry(self, namespace: str, key: str) -> Entry | None:
        """Return the entry under ``key``, or ``None``."""
        row = await self._call(
            lambda db: db.execute(
                f"SELECT {COLUMNS} FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        )
        return None if row is None else _entry(row)

    async def put(self, namespace: str, key: str, value: JsonValue) -> None:
        """Store ``value`` under ``key``, replacing what was there (owner and status stay).

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
            ValueError: ``value`` holds NaN or an infinity.
        """
        text = encode(value)  # fail in the caller, before the thread hop
        stamp = time.time()
        await self._call(
            lambda db: db.execute(
                "INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at, version = kv.version + 1",
                (namespace, key, text, stamp),
            )
        )

    async def create(
        self,
        namespace: str,
        key: str,
        value: JsonValue,
        *,
        owner: str | None = None,
        status: str | None = None,
    ) -> Entry | None:
        """Store ``value`` only if ``key`` is absent; return the new entry or ``None``."""
        text = encode(value)
        stamp = time.time()
        cursor = await self._call(
            lambda db: db.execute(
                "INSERT INTO kv (namespace, key, value, updated_at, version, owner, status) "
                "VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (namespace, key) DO NOTHING",
                (namespace, key, text, stamp, owner, status),
            )
        )
        if cursor.rowcount != 1:
            return None
        return Entry(key, value, 1, owner, status)

    async def update(
        self,
        namespace: str,
        key: str,
        value: JsonValue,
        *,
        version: int,
        status: str | None = None,
    ) -> Entry | None:
        """Replace the entry if its version is ``version``; return the new entry or ``None``."""
        text = encode(value)
        stamp = time.time()

        rows = await self._call(
            lambda db: db.execute(
                "UPDATE kv SET value = ?, updated_at = ?, version = version + 1, status = ? "
                "WHERE namespace = ? AND key = ? AND version = ? RETURNING owner",
                (text, stamp, status, namespace, key, version),
            ).fetchall()  # all rows: the statement (and its commit) ends with the last one
        )
        if not rows:
            return None
        return Entry(key, value, version + 1, rows[0][0], status)

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove ``key``; return whether it existed."""
        cursor = await self._call(
            lambda db: db.execute(
                "DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            )
        )
        return cursor.rowcount > 0

    async def list_entries(
        self,
        namespace: str,
        prefix: str = "",
        *,
        owner: Filter = ANY,
        status: Filter = ANY,
        limit: int | None = None,
        reverse: bool = False,
    ) -> builtins.list[Entry]:
        """Return the entries matching every filter, in key order (see :class:`Storage`)."""
        sql, params = list_query("kv", "?", namespace, prefix, owner, status, limit, reverse)
        rows = await self._call(lambda db: db.execute(sql, params).fetchall())
        return [_entry(row) for row in rows if row[0].startswith(prefix)]

    async def close(self) -> None:
        """Close the connection; using the storage afterwards raises :class:`RuntimeError`."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._close)

    # --- the worker-thread side -----------------------------------------------------------

    async def _call(self, action: Callable[[sqlite3.Connection], _R]) -> _R:
        if self._closed:
            raise StorageClosedError(f"{self!r} is closed")
        return await asyncio.to_thread(self._run, action)

    def _run(self, action: Callable[[sqlite3.Connection], _R]) -> _R:
        with self._lock:
            if self._closed:
                raise StorageClosedError(f"{self!r} is closed")
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
        try:
            if self.path != ":memory:":
                _enable_wal(db, self._busy_timeout)
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            _migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _close(self) -> None:
        with self._lock:
            db, self._connection = self._connection, None
            if db is not None:
                db.close()


def _enable_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL, retrying while other connections hold it.

    Changing the journal mode needs the file to itself, and SQLite answers "database is locked" at
    once (without its busy handler) when another connection opens the same new file at that moment.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _migrate(db: sqlite3.Connection) -> None:
    """Apply the missing migrations in one write transaction (other processes wait)."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= len(SQLITE_MIGRATIONS):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        applied = db.execute("PRAGMA user_version").fetchone()[0]
        for statements in SQLITE_MIGRATIONS[applied:]:
            for statement in statements:
                try:
                    db.execute(statement)
                except sqlite3.OperationalError as error:
                    if "duplicate column" not in str(error):
                        raise
        db.execute(f"PRAGMA user_version = {len(SQLITE_MIGRATIONS)}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _entry(row: Any) -> Entry:
    key, text, version, owner, status = row
    return Entry(key, json.loads(text), version, owner, status)
