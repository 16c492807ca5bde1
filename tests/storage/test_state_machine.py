"""A model of the storage contract, checked against every backend by random interleavings.

The state machine drives two storage objects on the same data (two connections: what two
processes would hold) with creates, claims (compare-and-set), puts, deletes, listings by owner
and status, and bursts of concurrent claims and creates; a plain dict is the model.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from rxagents.storage import ANY, Entry, InMemoryStorage, PostgresStorage, SqliteStorage, Storage

from .conftest import BACKENDS

_T = TypeVar("_T")

KEYS = st.sampled_from(["a", "a/1", "a/2", "b", "b/1", "é"])
OWNERS = st.none() | st.sampled_from(["alice", "bob"])
STATUSES = st.none() | st.sampled_from(["running", "suspended", "success"])
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(st.characters(
        blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text("abc", max_size=3), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@dataclass
class _Model:
    value: Any
    version: int
    owner: str | None
    status: str | None


def _machine(open_pair: Callable[[], tuple[Storage, Storage]]) -> type[RuleBasedStateMachine]:
    class StorageContract(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.first, self.second = self.loop.run_until_complete(_opened(open_pair))
            self.ns = uuid.uuid4().hex
            self.model: dict[str, _Model] = {}

        def run(self, work: Coroutine[Any, Any, _T]) -> _T:
            return self.loop.run_until_complete(work)

        def pick(self, which: bool) -> Storage:
            return self.first if which else self.second

        def expected(self, key: str) -> Entry | None:
            item = self.model.get(key)
            if item is None:
                return None
            return Entry(key, item.value, item.version, item.owner, item.status)

        @rule(which=st.booleans(), key=KEYS, value=VALUES, owner=OWNERS, status=STATUSES)
        def create(
            self, which: bool, key: str, value: Any, owner: str | None, status: str | None
        ) -> None:
            entry = self.run(
                self.pick(which).create(self.ns, key, value, owner=owner, status=status)
            )
            if key in self.model:
                assert entry is None
            else:
                assert entry == Entry(key, value, 1, owner, status)
                self.model[key] = _Model(value, 1, owner, status)

        @rule(which=st.booleans(), key=KEYS, value=VALUES, status=STATUSES, stale=st.booleans())
        def claim(self, which: bool, key: str, value: Any, status: str | None, stale: bool) -> None:
            item = self.model.get(key)
            version = (item.version if item else 1) - (1 if stale else 0)
            entry = self.run(
                self.pick(which).update(self.ns, key, value, version=version, status=status)
            )
            if item is None or stale:
                assert entry is None
            else:
                item.value, item.version, item.status = value, item.version + 1, status
                assert entry == self.expected(key)

        @rule(which=st.booleans(), key=KEYS, value=VALUES)
        def put(self, which: bool, key: str, value: Any) -> None:
            self.run(self.pick(which).put(self.ns, key, value))
            item = self.model.get(key)
            if item is None:
                self.model[key] = _Model(value, 1, None, None)
            else:
                item.value, item.version = value, item.version + 1

        @rule(which=st.booleans(), key=KEYS)
        def delete(self, which: bool, key: str) -> None:
            existed = self.run(self.pick(which).delete(self.ns, key))
            assert existed == (self.model.pop(key, None) is not None)

        @rule(key=KEYS, contenders=st.integers(2, 6), status=STATUSES)
        def concurrent_claims(self, key: str, contenders: int, status: str | None) -> None:
            item = self.model.get(key)
            version = item.version if item else 1
            results = self.run(
                _gather(
                    self.pick(i % 2 == 0).update(
                        self.ns, key, {"by": i}, version=version, status=status
                    )
                    for i in range(contenders)
                )
            )
            winners = [entry for entry in results if entry is not None]
            if item is None:
                assert winners == []
                return
            assert len(winners) == 1
            item.value, item.version, item.status = winners[0].value, version + 1, status

        @rule(key=KEYS, contenders=st.integers(2, 6))
        def concurrent_creates(self, key: str, contenders: int) -> None:
            results = self.run(
                _gather(
                    self.pick(i % 2 == 0).create(self.ns, key, i, owner=f"owner-{i}")
                    for i in range(contenders)
                )
            )
            winners = [entry for entry in results if entry is not None]
            if key in self.model:
                assert winners == []
                return
            assert len(winners) == 1
            won = winners[0]
            self.model[key] = _Model(won.value, 1, won.owner, None)

        @rule(
            which=st.booleans(),
            prefix=st.sampled_from(["", "a", "a/", "b"]),
            owner=st.just(ANY) | OWNERS,
            status=st.just(ANY) | STATUSES,
            limit=st.none() | st.integers(0, 4),
            reverse=st.booleans(),
        )
        def list_entries(
            self,
            which: bool,
            prefix: str,
            owner: Any,
            status: Any,
            limit: int | None,
            reverse: bool,
        ) -> None:
            got = self.run(
                self.pick(which).list_entries(
                    self.ns, prefix, owner=owner, status=status, limit=limit, reverse=reverse
                )
            )
            keys = sorted(
                key
                for key, item in self.model.items()
                if key.startswith(prefix)
                and (owner is ANY or item.owner == owner)
                and (status is ANY or item.status == status)
            )
            if reverse:
                keys.reverse()
            if limit is not None:
                keys = keys[:limit]
            assert got == [self.expected(key) for key in keys]

        @invariant()
        def reads_agree_with_the_model(self) -> None:
            for key in ["a", "b/1"]:
                assert self.run(self.second.get_entry(self.ns, key)) == self.expected(key)

        def teardown(self) -> None:
            self.run(self.first.close())
            if self.second is not self.first:
                self.run(self.second.close())
            self.loop.close()

    return StorageContract


async def _opened(open_pair: Callable[[], tuple[Storage, Storage]]) -> tuple[Storage, Storage]:
    return open_pair()


async def _gather(work: Any) -> list[Any]:
    return list(await asyncio.gather(*work))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_follows_the_storage_model(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    def open_pair() -> tuple[Storage, Storage]:
        if backend == "memory":
            shared = InMemoryStorage()
            return shared, shared
        if backend == "sqlite":
            path = tmp_path / "model.db"
            return SqliteStorage(path), SqliteStorage(path)
        dsn = request.getfixturevalue("postgres_dsn")
        return PostgresStorage(dsn, max_connections=3), PostgresStorage(dsn, max_connections=3)

    machine = _machine(open_pair)
    # Each example opens fresh connections: keep the database backends' example count modest
    # (the CI profile's 200 would take minutes); the in-memory model takes the profile's.
    examples = {} if backend == "memory" else {"max_examples": 30}
    run_state_machine_as_test(machine, settings=settings(stateful_step_count=25, **examples))
