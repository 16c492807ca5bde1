"""Every storage backend behaves alike: JSON values in namespaces, ordered prefix listings."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from rxagents.storage import SqliteStorage, Storage


async def test_every_backend_implements_the_protocol(storage: Storage) -> None:
    assert isinstance(storage, Storage)


async def test_get_returns_the_default_for_a_missing_key(storage: Storage) -> None:
    assert await storage.get("ns", "missing") is None
    assert await storage.get("ns", "missing", default={"d": 1}) == {"d": 1}


@pytest.mark.parametrize(
    "value", [{"a": [1, 2.5, None, True], "b": {"c": "é"}}, [1, "two"], "text", 3, None, False]
)
async def test_put_then_get_round_trips_json_values(storage: Storage, value: Any) -> None:
    await storage.put("ns", "k", value)
    assert await storage.get("ns", "k", default="absent") == value


async def test_put_replaces_and_values_are_copies(storage: Storage) -> None:
    original = {"items": [1]}
    await storage.put("ns", "k", original)
    original["items"].append(2)
    assert await storage.get("ns", "k") == {"items": [1]}
    fetched = await storage.get("ns", "k")
    fetched["items"].append(3)
    assert await storage.get("ns", "k") == {"items": [1]}
    await storage.put("ns", "k", {"items": []})
    assert await storage.get("ns", "k") == {"items": []}


async def test_values_that_are_not_json_are_refused(storage: Storage) -> None:
    with pytest.raises(TypeError):
        await storage.put("ns", "k", {"when": object()})
    with pytest.raises(ValueError, match="JSON"):
        await storage.put("ns", "k", math.nan)
    assert await storage.get("ns", "k") is None


async def test_delete_reports_whether_the_key_existed(storage: Storage) -> None:
    await storage.put("ns", "k", 1)
    assert await storage.delete("ns", "k") is True
    assert await storage.delete("ns", "k") is False
    assert await storage.get("ns", "k") is None
    assert await storage.list("ns") == []


async def test_namespaces_are_separate(storage: Storage) -> None:
    await storage.put("threads", "t1", "thread")
    await storage.put("messages", "t1", "message")
    assert await storage.get("threads", "t1") == "thread"
    assert await storage.list("messages") == [("t1", "message")]


async def test_list_returns_prefixed_keys_in_key_order(storage: Storage) -> None:
    for key in ["t2/0002", "t1/0002", "t1/0001", "t10/0001", "t1/0010", "u/1"]:
        await storage.put("m", key, key.upper())
    assert [k for k, _ in await storage.list("m", "t1/")] == ["t1/0001", "t1/0002", "t1/0010"]
    assert await storage.list("m", "t1/", limit=2) == [
        ("t1/0001", "T1/0001"),
        ("t1/0002", "T1/0002"),
    ]
    assert [k for k, _ in await storage.list("m", "t1/", limit=2, reverse=True)] == [
        "t1/0010",
        "t1/0002",
    ]
    assert [k for k, _ in await storage.list("m")] == sorted(
        ["t2/0002", "t1/0002", "t1/0001", "t10/0001", "t1/0010", "u/1"]
    )
    assert await storage.list("m", "nothing") == []
    assert await storage.list("m", "t1/", limit=0) == []


async def test_list_prefixes_are_literal_not_patterns(storage: Storage) -> None:
    for key in ["a%b", "a_b", "axb", "a%", "ä/1"]:
        await storage.put("p", key, 1)
    assert [k for k, _ in await storage.list("p", "a%")] == ["a%", "a%b"]
    assert [k for k, _ in await storage.list("p", "a_")] == ["a_b"]
    assert [k for k, _ in await storage.list("p", "ä")] == ["ä/1"]


async def test_concurrent_writes_all_land(storage: Storage) -> None:
    await asyncio.gather(*(storage.put("c", f"{i:03d}", i) for i in range(50)))
    assert [v for _, v in await storage.list("c")] == list(range(50))


async def test_a_closed_storage_refuses_work(storage: Storage) -> None:
    await storage.close()
    with pytest.raises(RuntimeError, match="closed"):
        await storage.get("ns", "k")
    await storage.close()  # closing twice is fine


async def test_two_sqlite_storages_on_one_file_share_data(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first, second = SqliteStorage(path), SqliteStorage(str(path))
    await first.put("ns", "k", {"from": "first"})
    assert await second.get("ns", "k") == {"from": "first"}
    await second.delete("ns", "k")
    assert await first.get("ns", "k") is None
    await first.close()
    await second.close()
    reopened = SqliteStorage(path)
    assert await reopened.list("ns") == []
    await reopened.close()


def test_many_sqlite_storages_opening_one_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Switching a new file to WAL needs it alone; SQLite refuses at once, without its busy handler,
    # when another connection opens the file at that moment (about one trial in 16 failed).
    async def trial(path: Path) -> None:
        storages = [SqliteStorage(path) for _ in range(8)]
        await asyncio.gather(*(s.put("ns", f"k{i}", i) for i, s in enumerate(storages)))
        assert len(await storages[0].list("ns")) == 8
        await asyncio.gather(*(s.close() for s in storages))

    for attempt in range(40):
        asyncio.run(trial(tmp_path / f"fresh-{attempt}.db"))


async def test_sqlite_in_memory_database_works() -> None:
    storage = SqliteStorage(":memory:")
    await storage.put("ns", "k", [1])
    assert await storage.get("ns", "k") == [1]
    await storage.close()


async def test_sqlite_work_happens_off_the_event_loop(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "busy.db")
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    for i in range(20):
        await storage.put("ns", str(i), i)  # each await lets the ticker run: no blocking call
    stop.set()
    await task
    assert ticks >= 20
    await storage.close()


async def test_sqlite_migrates_a_file_written_by_an_earlier_version(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE kv (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
        "updated_at REAL NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID"
    )
    db.execute("INSERT INTO kv VALUES ('ns', 'k', '{\"old\": true}', 0)")
    db.commit()
    db.close()
    storage = SqliteStorage(path)
    entry = await storage.get_entry("ns", "k")
    assert entry is not None
    assert (entry.value, entry.version, entry.owner, entry.status) == ({"old": True}, 1, None, None)
    assert await storage.update("ns", "k", {"old": False}, version=1) is not None
    await storage.close()
    again = SqliteStorage(path)
    await again.migrate()  # already applied: nothing to do
    assert await again.get("ns", "k") == {"old": False}
    await again.close()
