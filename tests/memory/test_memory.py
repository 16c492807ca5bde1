"""Memory: threads and messages on both storage backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rxagents.errors import InvalidInputError, ThreadOwnershipError, UserError
from rxagents.memory import (
    MESSAGES_NAMESPACE,
    THREADS_NAMESPACE,
    Memory,
    MemoryRef,
    ThreadNotFoundError,
    memory_ref,
)
from rxagents.storage import InMemoryStorage, PostgresStorage, SqliteStorage, Storage


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    store: Storage
    if request.param == "memory":
        store = InMemoryStorage()
    elif request.param == "sqlite":
        store = SqliteStorage(tmp_path / "m.db")
    else:
        store = PostgresStorage(request.getfixturevalue("postgres_dsn"))
    yield store
    await store.close()


async def test_threads_are_created_read_updated_listed_and_deleted(storage: Storage) -> None:
    memory = Memory(storage)
    thread = await memory.create_thread(
        resource_id="user-1", thread_id="t1", title="Dolphins", metadata={"tag": "sea"}
    )
    assert (thread.id, thread.resource_id, thread.title) == ("t1", "user-1", "Dolphins")
    assert thread.metadata == {"tag": "sea"}
    assert thread.created_at == thread.updated_at > 0
    assert await memory.get_thread("t1") == thread
    assert await memory.get_thread("nope") is None

    updated = await memory.update_thread("t1", title="Whales")
    assert (updated.title, updated.metadata) == ("Whales", {"tag": "sea"})
    assert updated.updated_at >= thread.updated_at
    assert (await memory.require_thread("t1")).title == "Whales"

    other = await memory.create_thread(resource_id="user-2")
    mine = await memory.create_thread(resource_id="user-1", thread_id="t0")
    listed = await memory.list_threads(resource_id="user-1")
    assert {t.id for t in listed} == {"t1", "t0"}
    assert [t.created_at for t in listed] == sorted(t.created_at for t in listed)
    assert [t.id for t in await memory.list_threads(resource_id="user-2")] == [other.id]
    assert {t.id for t in await memory.list_threads()} == {"t1", "t0", other.id}

    await memory.save_messages("t1", ["hello"])
    assert await memory.delete_thread("t1")
    assert not await memory.delete_thread("t1")
    assert await memory.get_thread("t1") is None
    assert await storage.list(MESSAGES_NAMESPACE) == []
    assert [t.id for t in await memory.list_threads(resource_id="user-1")] == [mine.id]


async def test_thread_ids_are_stored_as_json_with_camel_case_keys(storage: Storage) -> None:
    memory = Memory(storage)
    await memory.create_thread(resource_id="u", thread_id="t")
    stored = await storage.get(THREADS_NAMESPACE, "t")
    assert set(stored) == {"id", "resourceId", "title", "metadata", "createdAt", "updatedAt"}


async def test_messages_come_back_in_the_order_they_were_saved(storage: Storage) -> None:
    memory = Memory(storage)
    await memory.create_thread(resource_id="u", thread_id="t")
    texts = [f"message {i}" for i in range(30)]
    for i in range(0, 30, 3):  # batches, saved as fast as the storage allows
        await memory.save_messages("t", texts[i : i + 3])
    saved = await memory.messages("t")
    assert [m.text for m in saved] == texts
    assert [m.text for m in await memory.recent("t", 4)] == texts[-4:]
    assert await memory.recent("t", 0) == []
    assert [m.text for m in await memory.recent("t")] == texts[-20:]  # last_messages default
    assert all(m.thread_id == "t" and m.resource_id == "u" for m in saved)
    assert len({m.id for m in saved}) == 30


async def test_messages_keep_roles_content_and_metadata(storage: Storage) -> None:
    memory = Memory(storage)
    await memory.create_thread(resource_id="u", thread_id="t")
    call = {"type": "tool-call", "toolCallId": "c1", "toolName": "f", "input": {"x": 1}}
    saved = await memory.save_messages(
        "t",
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi", "metadata": {"own": True}},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello"}, call]},
        ],
        metadata={"source": "test"},
    )
    read = await memory.messages("t")
    assert read == saved
    assert [m.to_message() for m in read] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello"}, call]},
    ]
    assert [m.metadata for m in read] == [{"source": "test"}, {"own": True}, {"source": "test"}]
    assert read[2].text == "Hello"


async def test_messages_of_threads_with_slashes_in_their_ids_stay_apart(storage: Storage) -> None:
    memory = Memory(storage)
    for thread_id in ("a", "a/b", "a%2Fb"):
        await memory.create_thread(resource_id="r/1", thread_id=thread_id)
        await memory.save_messages(thread_id, [f"in {thread_id}"])
    for thread_id in ("a", "a/b", "a%2Fb"):
        assert [m.text for m in await memory.messages(thread_id)] == [f"in {thread_id}"]
    assert len(await memory.list_threads(resource_id="r/1")) == 3
    assert await memory.list_threads(resource_id="r") == []


async def test_a_missing_thread_is_a_clear_error(storage: Storage) -> None:
    memory = Memory(storage)
    for call in (
        memory.messages("ghost"),
        memory.recent("ghost"),
        memory.save_messages("ghost", ["hi"]),
        memory.update_thread("ghost", title="x"),
        memory.require_thread("ghost"),
    ):
        with pytest.raises(ThreadNotFoundError, match="no memory thread 'ghost'") as caught:
            await call
        assert caught.value.thread_id == "ghost"
        assert isinstance(caught.value, UserError | KeyError)


async def test_bad_input_is_refused(storage: Storage) -> None:
    memory = Memory(storage)
    await memory.create_thread(resource_id="u", thread_id="t")
    with pytest.raises(InvalidInputError, match="already exists"):
        await memory.create_thread(resource_id="u", thread_id="t")
    with pytest.raises(InvalidInputError, match="resource_id"):
        await memory.create_thread(resource_id="")
    with pytest.raises(InvalidInputError, match="role"):
        await memory.save_messages("t", [{"role": "robot", "content": "x"}])
    with pytest.raises(InvalidInputError, match="content"):
        await memory.save_messages("t", [{"role": "user", "content": 3}])
    with pytest.raises(InvalidInputError, match="string or a"):
        await memory.save_messages("t", [42])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="last_messages"):
        Memory(storage, last_messages=-1)
    assert await memory.messages("t") == []


async def test_open_thread_creates_and_checks_the_owner(storage: Storage) -> None:
    memory = Memory(storage)
    created = await memory.open_thread(MemoryRef("t", "u", "Title", {"k": 1}))
    assert (created.resource_id, created.title, created.metadata) == ("u", "Title", {"k": 1})
    assert await memory.open_thread(MemoryRef("t", "u")) == created
    with pytest.raises(ThreadOwnershipError, match="belongs to another resource") as refused:
        await memory.open_thread(MemoryRef("t", "v"))
    assert "'u'" not in str(refused.value)  # the owner is never named
    with pytest.raises(ThreadOwnershipError):
        await memory.open_thread(MemoryRef("t"))  # no resource: only threads without owner
    solo = await memory.open_thread(MemoryRef("solo"))
    assert solo.resource_id == "solo"  # shown as its own id, owned by nobody
    assert await memory.open_thread(MemoryRef("solo")) == solo
    with pytest.raises(ThreadOwnershipError):
        await memory.open_thread(MemoryRef("solo", "solo"))


async def test_load_leaves_out_tool_results_cut_from_their_call(storage: Storage) -> None:
    memory = Memory(storage, last_messages=2)
    await memory.create_thread(resource_id="u", thread_id="t")
    result = {"type": "tool-result", "toolCallId": "c", "toolName": "f", "output": {}}
    await memory.save_messages(
        "t",
        [
            {"role": "assistant", "content": [{"type": "tool-call", "toolCallId": "c"}]},
            {"role": "tool", "content": [result]},
            {"role": "assistant", "content": "done"},
        ],
    )
    thread, recent = await memory.load(MemoryRef("t", "u"))
    assert thread.id == "t"
    assert [m.role for m in recent] == ["assistant"]


async def test_threads_outlive_the_memory_object_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    first = SqliteStorage(path)
    memory = Memory(first)
    await memory.create_thread(resource_id="u", thread_id="t", title="Kept")
    await memory.save_messages("t", ["one", "two"])
    await first.close()

    second = SqliteStorage(path)
    again = Memory(second)
    assert (await again.require_thread("t")).title == "Kept"
    await again.save_messages("t", ["three"])
    assert [m.text for m in await again.messages("t")] == ["one", "two", "three"]
    await second.close()


def test_memory_ref_reads_every_form() -> None:
    assert memory_ref({"thread": "t", "resource": "u"}) == MemoryRef("t", "u")
    assert memory_ref({"thread": {"id": "t", "title": "T", "metadata": {"a": 1}}}) == MemoryRef(
        "t", None, "T", {"a": 1}
    )
    assert memory_ref({"threadId": "t", "resourceId": "u"}) == MemoryRef("t", "u")
    ref = MemoryRef("t")
    assert memory_ref(ref) is ref
    for bad in ("t", {"resource": "u"}, {"thread": ""}, {"thread": "t", "resource": 3}):
        with pytest.raises(InvalidInputError):
            memory_ref(bad)


def test_memory_defaults_to_in_memory_storage() -> None:
    memory = Memory()
    assert isinstance(memory.storage, InMemoryStorage)
    assert memory.last_messages == 20
    assert "last_messages=20" in repr(memory)


async def test_prepared_messages_keep_their_place_when_written_later(storage: Storage) -> None:
    memory = Memory(storage)
    thread = await memory.create_thread(resource_id="u", thread_id="t")
    early = memory.prepare_messages(thread, ["first"])
    await memory.save_messages("t", ["second"])
    assert early[0].data == early[0].message.model_dump(mode="json", by_alias=True)
    await memory.write_messages("t", early)
    assert [m.text for m in await memory.messages("t")] == ["first", "second"]
    await memory.write_messages("t", [])
    await memory.delete_thread("t")
    with pytest.raises(ThreadNotFoundError):
        await memory.write_messages("t", memory.prepare_messages(thread, ["late"]))


async def test_a_thread_stored_by_an_earlier_version_keeps_its_owner(storage: Storage) -> None:
    legacy = {"id": "t-old", "resourceId": "alice", "title": "", "metadata": {}}
    await storage.put("threads", "t-old", {**legacy, "createdAt": 1, "updatedAt": 1})
    await storage.put("thread_resources", "alice/t-old", "t-old")
    memory = Memory(storage)
    assert (await memory.open_thread(MemoryRef("t-old", "alice"))).id == "t-old"
    with pytest.raises(ThreadOwnershipError):
        await memory.open_thread(MemoryRef("t-old", "bob"))
    with pytest.raises(ThreadOwnershipError):
        await memory.open_thread(MemoryRef("t-old"))
    assert [t.id for t in await memory.list_threads(resource_id="alice")] == ["t-old"]


async def test_of_concurrent_openers_of_a_new_thread_one_resource_owns_it(
    storage: Storage,
) -> None:
    memory = Memory(storage)

    async def attempt(index: int) -> str | None:
        try:
            await memory.open_thread(MemoryRef("contested", f"user-{index % 3}"))
        except ThreadOwnershipError:
            return None
        return f"user-{index % 3}"

    winners = {w for w in await asyncio.gather(*(attempt(i) for i in range(12))) if w}
    assert len(winners) == 1
    assert [t.id for t in await memory.list_threads(resource_id=winners.pop())] == ["contested"]
