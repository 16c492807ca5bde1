"""The storage protocol: a namespaced key-value store of JSON values."""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias, runtime_checkable

__all__ = ("JsonValue", "Storage")

JsonValue: TypeAlias = Any
"""A JSON-compatible value: ``None``, bool, int, float, str, lists and string-keyed dicts."""


@runtime_checkable
class Storage(Protocol):
    """A namespaced key-value store of JSON values, used by workflows (run snapshots) and memory.

    Keys live in namespaces (``"workflow_snapshots"``, ``"threads"``, ``"messages"`` …); within a
    namespace, :meth:`list` returns entries in key order, so keys that encode an order (a thread
    id, then a zero-padded index) give ordered listings. Values are stored as JSON: what
    :meth:`get` returns is a fresh copy, never the object given to :meth:`put`.

    Every method is a coroutine; implementations must not block the event loop.
    """

    async def get(self, namespace: str, key: str, default: JsonValue = None) -> JsonValue:
        """Return the value stored under ``key``, or ``default`` when there is none."""
        ...

    async def put(self, namespace: str, key: str, value: JsonValue) -> None:
        """Store ``value`` under ``key``, replacing what was there.

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
        """
        ...

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove ``key``; return whether it existed."""
        ...

    async def list(
        self,
        namespace: str,
        prefix: str = "",
        *,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, JsonValue]]:
        """Return ``(key, value)`` pairs whose key starts with ``prefix``, in key order.

        Args:
            namespace: The namespace to list.
            prefix: Only keys starting with it (all keys when empty).
            limit: At most this many pairs (after ordering).
            reverse: Descending key order (with ``limit``: the last entries).
        """
        ...

    async def close(self) -> None:
        """Release the storage's resources; using it afterwards is an error."""
        ...
