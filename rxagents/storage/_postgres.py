"""``PostgresStorage``: the storage protocol in PostgreSQL, shared by many machines.

Built on psycopg 3 (async) and its connection pool (``pip install 'rxagents[postgres]'``).
One table holds every namespace: values are ``jsonb``, keys sort in code point order
(``COLLATE "C"``, as in the other backends), ``(namespace, owner, key)`` and ``(namespace,
status, key)`` are indexed for the filtered listings. :meth:`PostgresStorage.create` is an
``INSERT … ON CONFLICT DO NOTHING`` and :meth:`PostgresStorage.update` an ``UPDATE … WHERE
version = $n`` (the row lock makes a concurrent writer re-check the version), so both are
atomic across every process and machine.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, final

from rxagents.errors import StorageClosedError, StorageError, StorageUnavailableError
from rxagents.storage._protocol import ANY, Entry, Filter, JsonValue, encode
from rxagents.storage._shared import COLUMNS, Listing, list_query

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

__all__ = ("POSTGRES_MIGRATIONS", "PostgresStorage")

_log = logging.getLogger(__name__)
_R = TypeVar("_R")

POSTGRES_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        "CREATE TABLE IF NOT EXISTS rxagents_kv ("
        " namespace text NOT NULL,"
        ' key text COLLATE "C" NOT NULL,'
        " value jsonb NOT NULL,"
        " version bigint NOT NULL DEFAULT 1,"
        " owner text,"
        " status text,"
        " updated_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (namespace, key))",
        "CREATE INDEX IF NOT EXISTS rxagents_kv_owner ON rxagents_kv (namespace, owner, key)",
        "CREATE INDEX IF NOT EXISTS rxagents_kv_status ON rxagents_kv (namespace, status, key)",
    ),
)
"""The schema, as numbered migrations; ``rxagents_schema`` records which are applied."""

_LOCK_ID: Final = 0x7278_6167_656E_7473 & 0x7FFF_FFFF_FFFF_FFFF
"""The advisory lock that serialises concurrent migrations."""
_INSTALL_HINT = "PostgresStorage needs psycopg 3 and psycopg-pool: pip install 'rxagents[postgres]'"


@final
class PostgresStorage(Listing):
    """Keep JSON values in PostgreSQL, shared by every process on every machine using ``dsn``.

    A pool of connections is opened on first use, and the schema's migrations are applied then
    (idempotent, serialised by an advisory lock, recorded in ``rxagents_schema``); call
    :meth:`migrate` to apply them ahead of time, e.g. in a deployment step. Reads are retried
    (``read_retries`` times) when the connection breaks; a write that breaks raises
    :class:`~rxagents.errors.StorageUnavailableError`, since it may or may not have been
    applied. Each connection is checked when taken from the pool, so a restarted server costs
    no failed write.

    Example:
        >>> storage = PostgresStorage("postgresql://app@db.internal/app")
        >>> runtime = Runtime(workflows={...}, storage=storage)  # doctest: +SKIP
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        read_retries: int = 3,
    ) -> None:
        """Prepare a storage on the database at ``dsn`` (nothing connects until first use).

        Args:
            dsn: A libpq connection string or URL (``postgresql://user@host:5432/db``).
            min_connections: Connections the pool keeps open.
            max_connections: The most connections the pool opens.
            connect_timeout: Seconds to wait for a connection before raising
                :class:`~rxagents.errors.StorageUnavailableError`.
            read_retries: How many times a read is retried after a connection failure.
        """
        self.dsn = dsn
        self._min = min_connections
        self._max = max_connections
        self._timeout = connect_timeout
        self._retries = read_retries
        self._pool: AsyncConnectionPool[Any] | None = None
        self._opening: asyncio.Lock | None = None
        self._closed = False

    def __repr__(self) -> str:
        return "PostgresStorage(<dsn>)"  # the DSN may hold a password

    # --- schema -------------------------------------------------------------------------------

    async def migrate(self) -> None:
        """Connect and apply any missing migrations now (first use does it too).

        Raises:
            StorageUnavailableError: The database cannot be reached.
        """
        await self._ready()

    async def _apply_migrations(self, pool: AsyncConnectionPool[Any]) -> None:
        async with pool.connection(timeout=self._timeout) as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            await db.execute(
                "CREATE TABLE IF NOT EXISTS rxagents_schema ("
                " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cursor = await db.execute("SELECT version FROM rxagents_schema")
            applied = {row[0] for row in await cursor.fetchall()}
            for number, statements in enumerate(POSTGRES_MIGRATIONS, start=1):
                if number in applied:
                    continue
                for statement in statements:
                    await db.execute(statement)
                await db.execute("INSERT INTO rxagents_schema (version) VALUES (%s)", (number,))
                _log.info("applied rxagents storage migration %d", number)

    # --- the protocol -------------------------------------------------------------------------

    async def get(self, namespace: str, key: str, default: JsonValue = None) -> JsonValue:
        """Return the value stored under ``key``, or ``default`` when there is none."""
        rows = await self._read(
            "SELECT value FROM rxagents_kv WHERE namespace = %s AND key = %s", (namespace, key)
        )
        return default if not rows else rows[0][0]

    async def get_entry(self, namespace: str, key: str) -> Entry | None:
        """Return the entry under ``key``, or ``None``."""
        rows = await self._read(
            f"SELECT {COLUMNS} FROM rxagents_kv WHERE namespace = %s AND key = %s",
            (namespace, key),
        )
        return _entry(rows[0]) if rows else None

    async def put(self, namespace: str, key: str, value: JsonValue) -> None:
        """Store ``value`` under ``key``, replacing what was there (owner and status stay).

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
            ValueError: ``value`` holds NaN, an infinity, or text PostgreSQL cannot store
                (a NUL character).
            StorageUnavailableError: The connection broke (the write may have happened).
        """
        text = encode(value)
        await self._write(
            "INSERT INTO rxagents_kv (namespace, key, value) VALUES (%s, %s, %s::jsonb) "
            "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
            "version = rxagents_kv.version + 1, updated_at = now()",
            (namespace, key, text),
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
        rows = await self._write(
            "INSERT INTO rxagents_kv (namespace, key, value, owner, status) "
            "VALUES (%s, %s, %s::jsonb, %s, %s) ON CONFLICT (namespace, key) DO NOTHING "
            "RETURNING version",
            (namespace, key, text, owner, status),
        )
        return Entry(key, value, 1, owner, status) if rows else None

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
        rows = await self._write(
            "UPDATE rxagents_kv SET value = %s::jsonb, version = version + 1, status = %s, "
            "updated_at = now() WHERE namespace = %s AND key = %s AND version = %s "
            "RETURNING owner",
            (text, status, namespace, key, version),
        )
        return Entry(key, value, version + 1, rows[0][0], status) if rows else None

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove ``key``; return whether it existed."""
        rows = await self._write(
            "DELETE FROM rxagents_kv WHERE namespace = %s AND key = %s RETURNING 1",
            (namespace, key),
        )
        return bool(rows)

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
        """Return the entries matching every filter, in key order (see the protocol)."""
        sql, params = list_query(
            "rxagents_kv", "%s", namespace, prefix, owner, status, limit, reverse
        )
        rows = await self._read(sql, params)
        return [_entry(row) for row in rows if row[0].startswith(prefix)]

    async def close(self) -> None:
        """Close the pool; using the storage afterwards raises :class:`RuntimeError`."""
        if self._closed:
            return
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # --- connections ----------------------------------------------------------------------------

    async def _ready(self) -> AsyncConnectionPool[Any]:
        if self._closed:
            raise StorageClosedError(f"{self!r} is closed")
        pool = self._pool
        if pool is not None:
            return pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is not None:
                return self._pool
            try:
                from psycopg_pool import AsyncConnectionPool
            except ImportError as error:
                raise ImportError(_INSTALL_HINT) from error
            pool = AsyncConnectionPool(
                self.dsn,
                min_size=self._min,
                max_size=self._max,
                kwargs={"autocommit": True},
                check=AsyncConnectionPool.check_connection,
                open=False,
            )
            try:
                await self._guard(self._open(pool))
            except BaseException:
                await pool.close()
                raise
            self._pool = pool
            return pool

    async def _open(self, pool: AsyncConnectionPool[Any]) -> None:
        await pool.open(wait=True, timeout=self._timeout)
        await self._apply_migrations(pool)

    async def _read(self, sql: str, params: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
        attempt = 0
        while True:
            try:
                return await self._guard(self._execute(sql, params))
            except StorageUnavailableError:
                if attempt >= self._retries or self._closed:
                    raise
                attempt += 1
                _log.warning("storage read failed (attempt %d); retrying", attempt)
                await asyncio.sleep(0.05 * 2**attempt)

    async def _write(self, sql: str, params: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
        return await self._guard(self._execute(sql, params))

    async def _execute(self, sql: str, params: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
        pool = await self._ready()
        async with pool.connection(timeout=self._timeout) as db:
            return await _fetch(db, sql, params)

    async def _guard(self, work: Awaitable[_R]) -> _R:
        """Await ``work``, turning driver errors into the error tree's."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            return await work
        except PoolTimeout as error:
            raise StorageUnavailableError(
                f"no PostgreSQL connection within {self._timeout:g} s: {error}"
            ) from error
        except psycopg.OperationalError as error:
            raise StorageUnavailableError(f"PostgreSQL connection failed: {error}") from error
        except psycopg.DataError as error:
            raise ValueError(f"PostgreSQL refused the value: {error}") from error
        except psycopg.Error as error:
            raise StorageError(f"PostgreSQL error: {error}") from error


async def _fetch(
    db: AsyncConnection[Any], sql: str, params: Sequence[Any]
) -> builtins.list[tuple[Any, ...]]:
    cursor = await db.execute(sql, params)
    return await cursor.fetchall() if cursor.description is not None else []


def _entry(row: Sequence[Any]) -> Entry:
    key, value, version, owner, status = row
    return Entry(key, value, int(version), owner, status)
