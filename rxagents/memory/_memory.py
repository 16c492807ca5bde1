"""``Memory``: conversation threads and their messages, kept in a :class:`Storage`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, final

from rxagents._core.clock import now_ms
from rxagents.errors import InvalidInputError, ThreadOwnershipError
from rxagents.memory._models import MemoryMessage, MemoryRef, Thread, ThreadNotFoundError
from rxagents.storage import Entry, InMemoryStorage, Storage

__all__ = (
    "MESSAGES_NAMESPACE",
    "RESOURCES_NAMESPACE",
    "THREADS_NAMESPACE",
    "Memory",
    "PendingMessage",
)


THREADS_NAMESPACE = "threads"
"""Storage namespace of threads, keyed by thread id."""
MESSAGES_NAMESPACE = "messages"
"""Storage namespace of messages, keyed ``<thread>/<time>-<writer>`` (key order: time order)."""
RESOURCES_NAMESPACE = "thread_resources"
"""Storage namespace of the resource → thread index of threads stored by earlier versions
(keyed ``<resource>/<thread>``; read, no longer written: a thread's owner is its entry's)."""

_ATTEMPTS = 8
"""Compare-and-set retries of one thread change before giving up (contention is rare)."""

_ROLES = frozenset({"system", "user", "assistant", "tool"})


def _quote(text: str) -> str:
    """Escape ``/`` so that ``<quoted>/`` is an exact key prefix."""
    return text.replace("%", "%25").replace("/", "%2F")


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A message built by :meth:`Memory.prepare_messages`, not written yet."""

    key: str
    """Its storage key (its place in the thread)."""
    message: MemoryMessage
    """The message."""
    data: dict[str, Any]
    """Its stored JSON form."""


@final
class Memory:
    """Conversation threads and their messages, saved and read back in order.

    Threads belong to a resource (the end user, an account); each holds messages in the
    prompt-message shape (``{role, content}``). Ownership is settled when a thread is created,
    atomically in storage (of concurrent creators of one thread id exactly one wins): a run
    naming a resource reaches only that resource's threads, a run naming none only threads
    without an owner; anything else raises :class:`~rxagents.errors.ThreadOwnershipError`,
    whose message never names the owner. Agents given ``memory=Memory(...)`` load a thread's recent
    messages before a run and save the run's new messages after it; networks keep their task,
    decisions and results in a thread.

    Everything lives in ``storage`` under three namespaces (:data:`THREADS_NAMESPACE`,
    :data:`MESSAGES_NAMESPACE`, :data:`RESOURCES_NAMESPACE`), so an
    :class:`~rxagents.storage.SqliteStorage` makes threads outlive the process and shareable
    between processes. Message order is the order of saving: keys carry a timestamp that only
    grows within one ``Memory`` object (across processes, clock order).

    Example:
        >>> memory = Memory()  # in memory; Memory(SqliteStorage("chat.db")) to keep it
        >>> thread = await memory.create_thread(resource_id="user-1")  # doctest: +SKIP
        >>> await memory.save_messages(thread.id, ["Hello"])  # doctest: +SKIP
        >>> [m.text for m in await memory.recent(thread.id, 10)]  # doctest: +SKIP
        ['Hello']
    """

    def __init__(self, storage: Storage | None = None, *, last_messages: int = 20) -> None:
        """Keep threads in ``storage``.

        Args:
            storage: Where threads and messages go (default: a new
                :class:`~rxagents.storage.InMemoryStorage`, this process only).
            last_messages: How many recent messages a run loads (:meth:`recent`'s default).

        Raises:
            InvalidInputError: ``last_messages`` is not a non-negative int.
        """
        count: object = last_messages
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InvalidInputError("last_messages must be an int >= 0")
        self.storage: Storage = storage if storage is not None else InMemoryStorage()
        """Where threads and messages are kept."""
        self.last_messages = last_messages
        """How many recent messages a run loads."""
        self._writer = uuid.uuid4().hex[:8]
        self._last_ns = 0

    def __repr__(self) -> str:
        return f"Memory({self.storage!r}, last_messages={self.last_messages})"

    # --- threads ------------------------------------------------------------------------------

    async def create_thread(
        self,
        *,
        resource_id: str,
        thread_id: str | None = None,
        title: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Thread:
        """Create a thread owned by ``resource_id`` and return it.

        Args:
            resource_id: The thread's owner.
            thread_id: Its id (default: a new UUID).
            title: A display title.
            metadata: Free JSON data.

        Raises:
            ThreadOwnershipError: A thread with this id belongs to another resource (or none).
            InvalidInputError: This resource has a thread with this id, or an id is empty.
        """
        _check_id("resource_id", resource_id)
        thread_id = thread_id if thread_id is not None else str(uuid.uuid4())
        _check_id("thread_id", thread_id)
        thread = await self._create(thread_id, resource_id, title, metadata)
        if thread is not None:
            return thread
        entry = await self.storage.get_entry(THREADS_NAMESPACE, thread_id)
        if entry is not None and _owner(entry) != resource_id:
            raise ThreadOwnershipError(thread_id)
        raise InvalidInputError(f"memory thread {thread_id!r} already exists")

    async def get_thread(self, thread_id: str) -> Thread | None:
        """Return the thread, or ``None`` when there is none with this id."""
        data = await self.storage.get(THREADS_NAMESPACE, thread_id)
        return None if data is None else Thread.model_validate(data)

    async def require_thread(self, thread_id: str) -> Thread:
        """Return the thread.

        Raises:
            ThreadNotFoundError: There is none with this id.
        """
        thread = await self.get_thread(thread_id)
        if thread is None:
            raise ThreadNotFoundError(thread_id)
        return thread

    async def open_thread(self, ref: MemoryRef) -> Thread:
        """Return the thread a run names, creating it (owned by ``ref.resource_id``) if new.

        Creation is atomic: when several runs open one new thread id at once, one creates it
        and the others find it (and are refused if they name another resource).

        Raises:
            ThreadOwnershipError: The thread belongs to another resource, or the run names no
                resource and the thread has an owner (or the reverse).
        """
        owner = ref.resource_id
        for _ in range(_ATTEMPTS):
            created = await self._create(ref.thread_id, owner, ref.title, ref.metadata)
            if created is not None:
                return created
            entry = await self.storage.get_entry(THREADS_NAMESPACE, ref.thread_id)
            if entry is None:
                continue  # deleted meanwhile: create it again
            if _owner(entry) != owner:
                raise ThreadOwnershipError(ref.thread_id)
            return Thread.model_validate(entry.value)
        raise ThreadNotFoundError(ref.thread_id)  # created and deleted over and over

    async def update_thread(
        self,
        thread_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Thread:
        """Change a thread's title and/or metadata (metadata is replaced); return the thread.

        ``updated_at`` is set to now, also when nothing else changes.

        Raises:
            ThreadNotFoundError: There is no such thread.
        """
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        if metadata is not None:
            changes["metadata"] = dict(metadata)
        return await self._change(thread_id, changes)

    async def list_threads(self, *, resource_id: str | None = None) -> list[Thread]:
        """Return the threads (of one resource, when given; every thread otherwise), oldest first.

        This is the application's view (no resource: all threads); runs reach threads through
        :meth:`open_thread`, which enforces ownership.
        """
        if resource_id is None:
            entries = await self.storage.list_entries(THREADS_NAMESPACE)
        else:
            entries = await self.storage.list_entries(THREADS_NAMESPACE, owner=resource_id)
            legacy = await self.storage.list(RESOURCES_NAMESPACE, f"{_quote(resource_id)}/")
            for _, thread_id in legacy:
                entry = await self.storage.get_entry(THREADS_NAMESPACE, thread_id)
                if entry is not None and entry.owner is None and _owner(entry) == resource_id:
                    entries.append(entry)
        threads = [Thread.model_validate(entry.value) for entry in entries]
        return sorted(threads, key=lambda t: (t.created_at, t.id))

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete a thread and its messages; return whether it existed."""
        thread = await self.get_thread(thread_id)
        if thread is None:
            return False
        existed = await self.storage.delete(THREADS_NAMESPACE, thread_id)
        for key, _ in await self.storage.list(MESSAGES_NAMESPACE, f"{_quote(thread_id)}/"):
            await self.storage.delete(MESSAGES_NAMESPACE, key)
        await self.storage.delete(
            RESOURCES_NAMESPACE, f"{_quote(thread.resource_id)}/{_quote(thread_id)}"
        )
        return existed

    # --- messages -----------------------------------------------------------------------------

    async def save_messages(
        self,
        thread_id: str,
        messages: Sequence[str | Mapping[str, Any]],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[MemoryMessage]:
        """Append messages to a thread, in order; return them as saved.

        Args:
            thread_id: The thread.
            messages: Strings (user messages) or ``{role, content}`` dicts; a ``metadata`` key
                in a dict is kept as the message's metadata.
            metadata: Metadata for every message that has none of its own.

        Raises:
            ThreadNotFoundError: There is no such thread.
            InvalidInputError: A message has no valid role or content.
            TypeError: A message is not JSON-serialisable.
        """
        thread = await self.require_thread(thread_id)
        pending = self.prepare_messages(thread, messages, metadata=metadata)
        await self.write_messages(thread.id, pending)
        return [item.message for item in pending]

    def prepare_messages(
        self,
        thread: Thread,
        messages: Sequence[str | Mapping[str, Any]],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[PendingMessage]:
        """Build messages of ``thread`` and fix their order now, to write them later.

        For runs that use their messages at once and write them in the background:
        :meth:`write_messages` stores them where this call placed them in the thread, even
        when other messages were saved in between.

        Raises:
            InvalidInputError: A message has no valid role or content.
        """
        prefix = _quote(thread.id)
        pending = []
        for item in messages:
            message = self._message(thread, item, metadata)
            key = f"{prefix}/{self._stamp(message.created_at)}"
            pending.append(
                PendingMessage(key, message, message.model_dump(mode="json", by_alias=True))
            )
        return pending

    async def write_messages(
        self, thread_id: str, pending: Sequence[PendingMessage], *, touch: bool = True
    ) -> None:
        """Store prepared messages and, with ``touch``, set the thread's ``updated_at``.

        A run writing many batches can touch the thread once, at its end
        (:meth:`update_thread` with no changes).

        Raises:
            ThreadNotFoundError: The thread was deleted meanwhile (the messages are written).
            TypeError: A message is not JSON-serialisable.
        """
        if not pending:
            return
        for item in pending:
            await self.storage.put(MESSAGES_NAMESPACE, item.key, item.data)
        if not touch:
            return
        await self._change(thread_id, {})

    async def messages(self, thread_id: str) -> list[MemoryMessage]:
        """Return every message of a thread, oldest first.

        Raises:
            ThreadNotFoundError: There is no such thread.
        """
        await self.require_thread(thread_id)
        entries = await self.storage.list(MESSAGES_NAMESPACE, f"{_quote(thread_id)}/")
        return [MemoryMessage.model_validate(data) for _, data in entries]

    async def recent(self, thread_id: str, n: int | None = None) -> list[MemoryMessage]:
        """Return the last ``n`` messages of a thread (default :attr:`last_messages`), oldest first.

        Raises:
            ThreadNotFoundError: There is no such thread.
        """
        count = self.last_messages if n is None else n
        await self.require_thread(thread_id)
        if count <= 0:
            return []
        entries = await self.storage.list(
            MESSAGES_NAMESPACE, f"{_quote(thread_id)}/", limit=count, reverse=True
        )
        return [MemoryMessage.model_validate(data) for _, data in reversed(entries)]

    async def load(self, ref: MemoryRef) -> tuple[Thread, list[MemoryMessage]]:
        """Open the thread a run names (creating it) and return it with its recent messages.

        The messages are the last :attr:`last_messages`, oldest first; tool results whose tool
        call fell outside that window are left out (providers refuse them).

        Raises:
            InvalidInputError: The thread belongs to another resource.
        """
        thread = await self.open_thread(ref)
        recent = await self.recent(thread.id)
        start = 0
        while start < len(recent) and recent[start].role == "tool":
            start += 1
        return thread, recent[start:]

    # --- internals ----------------------------------------------------------------------------

    async def _create(
        self,
        thread_id: str,
        owner: str | None,
        title: str,
        metadata: Mapping[str, Any] | None,
    ) -> Thread | None:
        """Create the thread if its id is free (atomically); ``None`` when it exists."""
        now = now_ms()
        thread = Thread(
            id=thread_id,
            resource_id=owner if owner is not None else thread_id,
            title=title,
            metadata=dict(metadata or {}),
            created_at=now,
            updated_at=now,
        )
        data = thread.model_dump(mode="json", by_alias=True)
        entry = await self.storage.create(THREADS_NAMESPACE, thread_id, data, owner=owner)
        return None if entry is None else thread

    async def _change(self, thread_id: str, changes: dict[str, Any]) -> Thread:
        """Apply ``changes`` (and a new ``updated_at``) by compare-and-set; never recreate."""
        for _ in range(_ATTEMPTS):
            entry = await self.storage.get_entry(THREADS_NAMESPACE, thread_id)
            if entry is None:
                raise ThreadNotFoundError(thread_id)
            thread = Thread.model_validate(entry.value)
            thread = thread.model_copy(update={**changes, "updated_at": now_ms()})
            data = thread.model_dump(mode="json", by_alias=True)
            written = await self.storage.update(
                THREADS_NAMESPACE, thread_id, data, version=entry.version, status=entry.status
            )
            if written is not None:
                return thread
        raise InvalidInputError(
            f"memory thread {thread_id!r} changed too often meanwhile; try again"
        )

    def _stamp(self, created_ms: int) -> str:
        """Return a key suffix that sorts after every earlier one of this object."""
        ns = max(time.time_ns(), created_ms * 1_000_000, self._last_ns + 1)
        self._last_ns = ns
        return f"{ns:020d}-{self._writer}"

    def _message(
        self, thread: Thread, item: object, metadata: Mapping[str, Any] | None
    ) -> MemoryMessage:
        if isinstance(item, str):
            role: object = "user"
            content: object = [{"type": "text", "text": item}]
            own: object = None
        elif isinstance(item, Mapping):
            role = item.get("role")
            content = item.get("content")
            own = item.get("metadata")
        else:
            raise InvalidInputError(
                f"a message must be a string or a {{role, content}} dict, not {type(item).__name__}"
            )
        if role not in _ROLES:
            raise InvalidInputError(f"message role must be one of {sorted(_ROLES)}, not {role!r}")
        if isinstance(content, str) and role != "system":
            content = [{"type": "text", "text": content}]
        if not isinstance(content, str | list):
            raise InvalidInputError("message content must be a string or a list of parts")
        chosen = own if isinstance(own, Mapping) else metadata
        return MemoryMessage(
            id=str(uuid.uuid4()),
            thread_id=thread.id,
            resource_id=thread.resource_id,
            role=role,  # type: ignore[arg-type]  # checked against _ROLES above
            content=content,
            created_at=now_ms(),
            metadata=dict(chosen or {}),
        )


def _owner(entry: Entry) -> str | None:
    """Return the thread's owner.

    That is its entry's owner or, for threads stored by earlier versions, its resource unless
    that is the thread's own id (what a run without a resource used to store).
    """
    if entry.owner is not None:
        return entry.owner
    resource = entry.value.get("resourceId") if isinstance(entry.value, dict) else None
    return resource if isinstance(resource, str) and resource != entry.key else None


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{name} must be a non-empty string")
