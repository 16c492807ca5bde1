"""Storage: a namespaced, versioned key-value store of JSON values, with atomic operations.

Workflows keep their run snapshots here (so a suspended run can be resumed, also by another
process or machine); memory keeps threads and messages in the same store under other
namespaces.

- :class:`Storage`: the protocol (``get``, ``put``, ``delete``, ``list`` by key prefix; the
  atomic ``create`` (create-if-absent, with an owner) and ``update`` (compare-and-set on the
  entry's version); ``list_entries`` filtered by owner and status).
- :class:`InMemoryStorage`: a dict; for tests and single-process use.
- :class:`SqliteStorage`: an embedded SQLite file (stdlib ``sqlite3``, run in worker threads);
  the default for anything that must outlive the process, safe for several processes on one
  machine.
- :class:`PostgresStorage`: PostgreSQL (``rxagents[postgres]``), shared by many machines.
"""

from rxagents.storage._memory import InMemoryStorage as InMemoryStorage
from rxagents.storage._postgres import PostgresStorage as PostgresStorage
from rxagents.storage._protocol import ANY as ANY
from rxagents.storage._protocol import Entry as Entry
from rxagents.storage._protocol import Filter as Filter
from rxagents.storage._protocol import JsonText as JsonText
from rxagents.storage._protocol import JsonValue as JsonValue
from rxagents.storage._protocol import Storage as Storage
from rxagents.storage._sqlite import SqliteStorage as SqliteStorage

__all__ = (
    "ANY",
    "Entry",
    "Filter",
    "InMemoryStorage",
    "JsonText",
    "JsonValue",
    "PostgresStorage",
    "SqliteStorage",
    "Storage",
)
