"""What the storage backends share: ``list()`` from ``list_entries()``, the SQL of a listing."""

from __future__ import annotations

import builtins
from typing import Any, Final

from rxagents.storage._protocol import ANY, Filter, JsonValue, Storage

__all__ = ("COLUMNS", "Listing", "list_query")

COLUMNS: Final = "key, value, version, owner, status"
"""The columns a row is read with, in the order ``Entry`` is built from."""

_MAX_CHAR: Final = chr(0x10FFFF)


class Listing:
    """Gives a backend :meth:`list` from its ``list_entries`` (see :class:`Storage`)."""

    async def list(
        self: Storage,
        namespace: str,
        prefix: str = "",
        *,
        limit: int | None = None,
        reverse: bool = False,
    ) -> builtins.list[tuple[str, JsonValue]]:
        """Return ``(key, value)`` pairs whose key starts with ``prefix``, in key order."""
        entries = await self.list_entries(namespace, prefix, limit=limit, reverse=reverse)
        return [(entry.key, entry.value) for entry in entries]


def list_query(
    table: str,
    mark: str,
    namespace: str,
    prefix: str,
    owner: Filter,
    status: Filter,
    limit: int | None,
    reverse: bool,
) -> tuple[str, builtins.list[Any]]:
    """The SQL (with ``mark`` as the parameter placeholder) and parameters of a listing.

    A key range, not ``LIKE``, selects the prefix: it keeps the primary-key index usable and
    does not treat ``%`` and ``_`` specially (callers still check ``startswith``: collations
    may order differently).
    """
    sql = f"SELECT {COLUMNS} FROM {table} WHERE namespace = {mark}"
    params: builtins.list[Any] = [namespace]
    if prefix:
        sql += f" AND key >= {mark} AND key < {mark}"
        params += [prefix, prefix + _MAX_CHAR]
    for column, wanted in (("owner", owner), ("status", status)):
        if wanted is None:
            sql += f" AND {column} IS NULL"
        elif wanted is not ANY:
            sql += f" AND {column} = {mark}"
            params.append(wanted)
    sql += " ORDER BY key DESC" if reverse else " ORDER BY key"
    if limit is not None:
        sql += f" LIMIT {mark}"
        params.append(max(limit, 0))
    return sql, params
