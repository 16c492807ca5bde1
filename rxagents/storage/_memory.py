"""``InMemoryStorage``: the storage protocol in a dict, for tests and single-process use."""

from __future__ import annotations

import bisect
import builtins
import json
from typing import NamedTuple, final

from rxagents.errors import StorageClosedError
from rxagents.storage._protocol import ANY, Entry, Filter, JsonValue, encode
from rxagents.storage._shared import Listing

__all__ = ("InMemoryStorage",)


class _Row(NamedTuple):
    text: str
    version: int
    owner: str | None
    status: str | None


@final
class InMemoryStorage(Listing):
    """Keep JSON values in memory; nothing outlives the process.

    Values are kept as JSON text, so stored data is isolated from the caller's objects and a
    value that is not JSON fails at :meth:`put` exactly as it would with
    :class:`~rxagents.storage.SqliteStorage`. Every method completes without suspending, so
    each one is atomic within the event loop.

    Example:
        >>> storage = InMemoryStorage()
        >>> await storage.put("threads", "t1", {"title": "Hi"})  # doctest: +SKIP
        >>> await storage.get("threads", "t1")  # doctest: +SKIP
        {'title': 'Hi'}
    """

    def __init__(self) -> None:
        self._data: dict[str, dict[str, _Row]] = {}
        self._keys: dict[str, list[str]] = {}
        self._closed = False

    def __repr__(self) -> str:
        count = sum(len(v) for v in self._data.values())
        return f"InMemoryStorage({count} entries)"

    async def get(self, namespace: str, key: str, default: JsonValue = None) -> JsonValue:
        """Return the value stored under ``key``, or ``default`` when there is none."""
        self._check()
        row = self._data.get(namespace, {}).get(key)
        return default if row is None else json.loads(row.text)

    async def get_entry(self, namespace: str, key: str) -> Entry | None:
        """Return the entry under ``key``, or ``None``."""
        self._check()
        row = self._data.get(namespace, {}).get(key)
        return None if row is None else _entry(key, row)

    async def put(self, namespace: str, key: str, value: JsonValue) -> None:
        """Store ``value`` under ``key``, replacing what was there (owner and status stay).

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
            ValueError: ``value`` holds NaN or an infinity.
        """
        self._check()
        text = encode(value)
        old = self._data.get(namespace, {}).get(key)
        if old is None:
            self._insert(namespace, key, _Row(text, 1, None, None))
        else:
            self._data[namespace][key] = _Row(text, old.version + 1, old.owner, old.status)

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
        self._check()
        text = encode(value)
        if key in self._data.get(namespace, {}):
            return None
        self._insert(namespace, key, _Row(text, 1, owner, status))
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
        self._check()
        text = encode(value)
        old = self._data.get(namespace, {}).get(key)
        if old is None or old.version != version:
            return None
        self._data[namespace][key] = _Row(text, version + 1, old.owner, status)
        return Entry(key, value, version + 1, old.owner, status)

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove ``key``; return whether it existed."""
        self._check()
        entries = self._data.get(namespace)
        if entries is None or key not in entries:
            return False
        del entries[key]
        keys = self._keys[namespace]
        keys.pop(bisect.bisect_left(keys, key))
        return True

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
        self._check()
        keys = self._keys.get(namespace, [])
        rows = self._data.get(namespace, {})
        start = bisect.bisect_left(keys, prefix)
        selected: builtins.list[str] = []
        for key in keys[start:]:
            if not key.startswith(prefix):
                break
            row = rows[key]
            if (owner is ANY or row.owner == owner) and (status is ANY or row.status == status):
                selected.append(key)
        if reverse:
            selected.reverse()
        if limit is not None:
            selected = selected[: max(limit, 0)]
        return [_entry(key, rows[key]) for key in selected]

    async def close(self) -> None:
        """Forget everything; using the storage afterwards raises :class:`RuntimeError`."""
        self._closed = True
        self._data.clear()
        self._keys.clear()

    def _insert(self, namespace: str, key: str, row: _Row) -> None:
        self._data.setdefault(namespace, {})[key] = row
        bisect.insort(self._keys.setdefault(namespace, []), key)

    def _check(self) -> None:
        if self._closed:
            raise StorageClosedError("this InMemoryStorage is closed")


def _entry(key: str, row: _Row) -> Entry:
    return Entry(key, json.loads(row.text), row.version, row.owner, row.status)
