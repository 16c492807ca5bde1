"""The storage protocol: a namespaced, versioned key-value store of JSON values."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from types import EllipsisType
from typing import Any, Protocol, TypeAlias, runtime_checkable

__all__ = ("ANY", "Entry", "Filter", "JsonText", "JsonValue", "Storage", "encode")

JsonValue: TypeAlias = Any
"""A JSON-compatible value: ``None``, bool, int, float, str, lists and string-keyed dicts."""

Filter: TypeAlias = "str | EllipsisType | None"
"""A listing filter on ``owner`` or ``status``: a value, ``None`` (only entries without one),
or :data:`ANY` (no filter)."""

ANY: EllipsisType = ...
"""The "no filter" value of :meth:`Storage.list_entries`'s ``owner`` and ``status``."""


class JsonText(str):
    """A value already encoded as JSON text: writes store it as is (it must be valid JSON).

    For callers that build large values from cached pieces (a run's snapshot reuses the JSON
    of its finished steps); reads return the decoded value, as for any other write.
    """

    __slots__ = ()


def encode(value: JsonValue) -> str:
    """Return ``value`` as JSON text (as is for :class:`JsonText`).

    Raises:
        TypeError: ``value`` is not JSON-serialisable.
        ValueError: ``value`` holds NaN or an infinity.
    """
    if isinstance(value, JsonText):
        return str(value)
    return json.dumps(value, allow_nan=False)


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored entry: its value and the metadata the atomic operations use."""

    key: str
    """Its key in its namespace."""
    value: JsonValue
    """The JSON value (a fresh copy)."""
    version: int
    """1 when created; every write adds 1 (what :meth:`Storage.update` compares)."""
    owner: str | None = None
    """Who the entry belongs to (set by :meth:`Storage.create`, never changed by a write)."""
    status: str | None = None
    """A short state label (``"suspended"`` …) the entry can be listed by."""


@runtime_checkable
class Storage(Protocol):
    """A namespaced key-value store of JSON values, used by workflows (run snapshots) and memory.

    Keys live in namespaces (``"workflow_snapshots"``, ``"threads"``, ``"messages"`` …); within a
    namespace, listings are in key order (Unicode code point order), so keys that encode an
    order (a thread id, then a zero-padded index) give ordered listings. Values are stored as
    JSON: what a read returns is a fresh copy, never the object given to a write, and a value
    is serialised before the call first suspends (a caller may change it right after calling).

    Each entry also has a ``version``, an ``owner`` and a ``status``; the atomic operations
    :meth:`create` (create-if-absent) and :meth:`update` (compare-and-set on the version) are
    atomic across every process and machine sharing the store, so "claim this suspended run"
    and "create this thread for this owner" succeed for exactly one caller.

    Every method is a coroutine; implementations must not block the event loop. A backend that
    can lose its connection raises :class:`~rxagents.errors.StorageUnavailableError` (after
    retrying reads).
    """

    async def get(self, namespace: str, key: str, default: JsonValue = None) -> JsonValue:
        """Return the value stored under ``key``, or ``default`` when there is none."""
        ...

    async def get_entry(self, namespace: str, key: str) -> Entry | None:
        """Return the entry under ``key`` (value, version, owner, status), or ``None``."""
        ...

    async def put(self, namespace: str, key: str, value: JsonValue) -> None:
        """Store ``value`` under ``key``, replacing what was there (owner and status stay).

        Raises:
            TypeError: ``value`` is not JSON-serialisable.
            ValueError: ``value`` holds NaN or an infinity.
        """
        ...

    async def create(
        self,
        namespace: str,
        key: str,
        value: JsonValue,
        *,
        owner: str | None = None,
        status: str | None = None,
    ) -> Entry | None:
        """Store ``value`` under ``key`` only if the key is absent, atomically.

        Returns:
            The new entry (version 1; its ``value`` is the object given, not a copy), or
            ``None`` when the key exists (nothing changed).
        """
        ...

    async def update(
        self,
        namespace: str,
        key: str,
        value: JsonValue,
        *,
        version: int,
        status: str | None = None,
    ) -> Entry | None:
        """Replace the entry only if its version is still ``version`` (compare-and-set).

        The owner stays; ``status`` replaces the entry's status.

        Returns:
            The new entry (version ``version + 1``; its ``value`` is the object given), or
            ``None`` when the entry is absent or was written since (nothing changed).
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
    ) -> builtins.list[tuple[str, JsonValue]]:
        """Return ``(key, value)`` pairs whose key starts with ``prefix``, in key order.

        Args:
            namespace: The namespace to list.
            prefix: Only keys starting with it (all keys when empty).
            limit: At most this many pairs (after ordering).
            reverse: Descending key order (with ``limit``: the last entries).
        """
        ...

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
        """Return the entries matching every filter, in key order.

        Args:
            namespace: The namespace to list.
            prefix: Only keys starting with it.
            owner: Only this owner's entries (``None``: only entries without an owner).
            status: Only entries with this status (``None``: only entries without one).
            limit: At most this many entries (after ordering).
            reverse: Descending key order.
        """
        ...

    async def close(self) -> None:
        """Release the storage's resources; using it afterwards is an error."""
        ...
