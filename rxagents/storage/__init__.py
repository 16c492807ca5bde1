"""Storage: a namespaced key-value store of JSON values, in memory or in an SQLite file.

Workflows keep their run snapshots here (so a suspended run can be resumed, also by another
process); memory keeps threads and messages in the same store under other namespaces.

- :class:`Storage`: the protocol (``get``, ``put``, ``delete``, ``list`` by key prefix).
- :class:`InMemoryStorage`: a dict; for tests and single-process use.
- :class:`SqliteStorage`: an embedded SQLite file (stdlib ``sqlite3``, run in worker threads);
  the default for anything that must outlive the process.
"""

from rxagents.storage._memory import InMemoryStorage as InMemoryStorage
from rxagents.storage._protocol import JsonValue as JsonValue
from rxagents.storage._protocol import Storage as Storage
from rxagents.storage._sqlite import SqliteStorage as SqliteStorage

__all__ = ("InMemoryStorage", "JsonValue", "SqliteStorage", "Storage")
