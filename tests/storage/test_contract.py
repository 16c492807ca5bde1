"""The atomic operations of the storage contract, the same on every backend.

``create`` is create-if-absent, ``update`` a compare-and-set on the entry's version, and both
hold across separate storage objects (separate connections, as separate processes would
have): of N concurrent callers exactly one wins.
"""

from __future__ import annotations

import asyncio

import pytest

from rxagents.storage import ANY, Entry, Storage

from .conftest import Opener


async def test_create_stores_a_new_entry_with_owner_and_status(storage: Storage) -> None:
    entry = await storage.create("ns", "k", {"v": 1}, owner="alice", status="open")
    assert entry == Entry("k", {"v": 1}, 1, "alice", "open")
    assert await storage.get_entry("ns", "k") == entry
    assert await storage.get("ns", "k") == {"v": 1}


async def test_create_leaves_an_existing_entry_untouched(storage: Storage) -> None:
    await storage.create("ns", "k", "first", owner="alice")
    assert await storage.create("ns", "k", "second", owner="bob") is None
    assert await storage.get_entry("ns", "k") == Entry("k", "first", 1, "alice", None)


async def test_create_after_delete_starts_again_at_version_one(storage: Storage) -> None:
    await storage.create("ns", "k", 1, owner="alice")
    assert await storage.delete("ns", "k")
    assert await storage.create("ns", "k", 2, owner="bob") == Entry("k", 2, 1, "bob", None)


async def test_create_refuses_values_that_are_not_json(storage: Storage) -> None:
    with pytest.raises(TypeError):
        await storage.create("ns", "k", object())
    assert await storage.get_entry("ns", "k") is None


async def test_get_entry_of_a_missing_key_is_none(storage: Storage) -> None:
    assert await storage.get_entry("ns", "missing") is None


async def test_update_with_the_current_version_writes_and_counts(storage: Storage) -> None:
    await storage.create("ns", "k", "a", owner="alice", status="suspended")
    entry = await storage.update("ns", "k", "b", version=1, status="running")
    assert entry == Entry("k", "b", 2, "alice", "running")
    assert await storage.get_entry("ns", "k") == entry


async def test_update_with_a_stale_version_changes_nothing(storage: Storage) -> None:
    await storage.create("ns", "k", "a", status="suspended")
    await storage.update("ns", "k", "b", version=1, status="running")
    assert await storage.update("ns", "k", "c", version=1, status="done") is None
    assert await storage.get_entry("ns", "k") == Entry("k", "b", 2, None, "running")


async def test_update_of_a_missing_key_changes_nothing(storage: Storage) -> None:
    assert await storage.update("ns", "k", "x", version=1) is None
    assert await storage.get_entry("ns", "k") is None


async def test_put_counts_versions_and_keeps_owner_and_status(storage: Storage) -> None:
    await storage.put("ns", "plain", 1)
    assert await storage.get_entry("ns", "plain") == Entry("plain", 1, 1, None, None)
    await storage.create("ns", "k", 1, owner="alice", status="open")
    await storage.put("ns", "k", 2)
    assert await storage.get_entry("ns", "k") == Entry("k", 2, 2, "alice", "open")
    assert await storage.update("ns", "k", 3, version=1) is None  # put moved the version on


async def test_list_entries_filters_by_owner(storage: Storage) -> None:
    await storage.create("t", "a1", 1, owner="alice")
    await storage.create("t", "b1", 2, owner="bob")
    await storage.create("t", "a2", 3, owner="alice")
    await storage.create("t", "n1", 4)
    alice = await storage.list_entries("t", owner="alice")
    assert [(e.key, e.value) for e in alice] == [("a1", 1), ("a2", 3)]
    assert [e.key for e in await storage.list_entries("t", owner=None)] == ["n1"]
    assert [e.key for e in await storage.list_entries("t", owner=ANY)] == ["a1", "a2", "b1", "n1"]
    assert [e.key for e in await storage.list_entries("t", owner="carol")] == []


async def test_list_entries_filters_by_status_prefix_limit_and_order(storage: Storage) -> None:
    for index, status in enumerate(["suspended", "running", "suspended", None, "suspended"]):
        await storage.create("runs", f"wf/{index}", index, status=status)
    await storage.create("runs", "other/9", 9, status="suspended")
    suspended = await storage.list_entries("runs", "wf/", status="suspended")
    assert [e.key for e in suspended] == ["wf/0", "wf/2", "wf/4"]
    assert all(e.status == "suspended" for e in suspended)
    last = await storage.list_entries("runs", "wf/", status="suspended", limit=2, reverse=True)
    assert [e.key for e in last] == ["wf/4", "wf/2"]
    assert [e.key for e in await storage.list_entries("runs", status=None)] == ["wf/3"]
    both = await storage.list_entries("runs", owner=None, status="running")
    assert [e.key for e in both] == ["wf/1"]


async def test_status_follows_updates_in_listings(storage: Storage) -> None:
    await storage.create("runs", "r", {"n": 0}, status="suspended")
    await storage.update("runs", "r", {"n": 1}, version=1, status="running")
    assert await storage.list_entries("runs", status="suspended") == []
    assert [e.value for e in await storage.list_entries("runs", status="running")] == [{"n": 1}]


async def test_of_concurrent_creates_exactly_one_wins(open_storage: Opener) -> None:
    storages = [open_storage() for _ in range(4)]
    results = await asyncio.gather(
        *(storages[i % 4].create("threads", "t", {"by": i}, owner=f"user-{i}") for i in range(12))
    )
    winners = [entry for entry in results if entry is not None]
    assert len(winners) == 1
    stored = await storages[0].get_entry("threads", "t")
    assert stored == winners[0]


async def test_of_concurrent_claims_exactly_one_wins(open_storage: Opener) -> None:
    storages = [open_storage() for _ in range(4)]
    await storages[0].create("runs", "r", {"status": "suspended"}, status="suspended")
    for round_ in range(3):
        current = await storages[1].get_entry("runs", "r")
        assert current is not None
        results = await asyncio.gather(
            *(
                storages[i % 4].update(
                    "runs", "r", {"claimedBy": i}, version=current.version, status="running"
                )
                for i in range(12)
            )
        )
        winners = [entry for entry in results if entry is not None]
        assert len(winners) == 1, f"round {round_}"
        assert await storages[2].get_entry("runs", "r") == winners[0]
        assert winners[0].version == current.version + 1
