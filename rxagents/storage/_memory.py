"""``InMemoryStorage``: the storage protocol in a dict, for tests and single-process use."""

from __future__ import annotations

import bisect
import json
from typing import final

from rxagents.storage._protocol import JsonValue

__all__ = ("InMemoryStorage",)


@final
class InMemoryStorage:
    """Keep JSON values in memory; nothing outlives the process.

    Values are kept as JSON text, so stored data is isolated from the caller's objects and a
    value that is not JSON fails at :meth:`put` exactly as it would with
    :class:`~rxagents.storage.SqliteStorage`. Every method completes without suspending.

    Example:
        >>> storage = InMemoryStorage()
        >>> await storage.put("threads", "t1", {"title": "Hi"})  # doctest: +SKIP
        >>> await storage.get("threads", "t1")  # doctest: +SKIP
        {'title': 'Hi'}
    """

    def __init__(self) -> None:
        self._data: dict[str, dict[str, str]] = {}
        self._keys: dict[str, list[str]] = {}
        self._closed = False

    def __repr__(self) -> str:
        count = sum(len(v) for v in self._data.values())
        return f"InMemoryStorage({count} entries)"

    async def get(self, namespace: str, key: str, default: JsonValue = None) -> JsonValue:
        """Return the value stored under ``key``, or ``default`` when there is none."""
        self._check()
        text = self._data.get(namespace, {}).get(key)
        return default if text is None else json.loads(text)

    async def put(self, namespace: str, key: str, value: JsonValue) -> None:
        """Store ``value`` under ``key``, replacing what was there.

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
        """
        self._check()
        text = json.dumps(value, allow_nan=False)
        entries = self._data.setdefault(namespace, {})
        if key not in entries:
            bisect.insort(self._keys.setdefault(namespace, []), key)
        entries[key] = text

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

    async def list(
        self,
        namespace: str,
        prefix: str = "",
        *,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, JsonValue]]:
        """Return ``(key, value)`` pairs whose key starts with ``prefix``, in key order."""
        self._check()
        keys = self._keys.get(namespace, [])
        start = bisect.bisect_left(keys, prefix)
        selected: list[str] = []
        for key in keys[start:]:
            if not key.startswith(prefix):
                break
            selected.append(key)
        if reverse:
            selected.reverse()
        if limit is not None:
            selected = selected[: max(limit, 0)]
        entries = self._data[namespace] if selected else {}
        return [(key, json.loads(entries[key])) for key in selected]

    async def close(self) -> None:
        """Forget everything; using the storage afterwards raises :class:`RuntimeError`."""
        self._closed = True
        self._data.clear()
        self._keys.clear()

    def _check(self) -> None:
        if self._closed:
            raise RuntimeError("this InMemoryStorage is closed")
