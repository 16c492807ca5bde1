"""What memory stores: threads, their messages, and the ``memory=`` run option."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from rxagents.errors import InvalidInputError, ThreadNotFoundError
from rxagents.events import WireModel
from rxagents.models import Message

__all__ = ("MemoryMessage", "MemoryRef", "Role", "Thread", "ThreadNotFoundError", "memory_ref")

Role = Literal["system", "user", "assistant", "tool"]
"""Who wrote a message."""


class Thread(WireModel):
    """A conversation thread: its id, its owner, a title and free metadata.

    Stored as JSON with camelCase keys (``resourceId``, ``createdAt``); timestamps are epoch
    milliseconds.
    """

    id: str
    """The thread's id."""
    resource_id: str
    """Who the thread belongs to (a user, an account …)."""
    title: str = ""
    """A display title."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free JSON data."""
    created_at: int
    """When the thread was created, epoch milliseconds."""
    updated_at: int
    """When a message was last saved (or the thread last changed), epoch milliseconds."""


class MemoryMessage(WireModel):
    """One saved message of a thread, in the prompt-message shape plus where and when."""

    id: str
    """The message's id."""
    thread_id: str
    """The thread it belongs to."""
    resource_id: str
    """The thread's owner."""
    role: Role
    """Who wrote it."""
    content: Any
    """A string, or a list of typed parts (``{"type": "text", "text": ...}``, tool calls …)."""
    created_at: int
    """When it was saved, epoch milliseconds."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free JSON data (a network keeps its decisions here)."""

    def to_message(self) -> Message:
        """Return the ``{role, content}`` prompt message (what a model is given)."""
        return {"role": self.role, "content": self.content}

    @property
    def text(self) -> str:
        """The message's text: its text parts joined (or the string content)."""
        content = self.content
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(
                str(part.get("text", ""))
                for part in content
                if isinstance(part, Mapping) and part.get("type") == "text"
            )
        return ""


@dataclass(frozen=True)
class MemoryRef:
    """The ``memory=`` option of a run: which thread, whose, and how to create it if new."""

    thread_id: str
    """The thread's id."""
    resource_id: str | None = None
    """Its owner (the end user); when absent, the run reaches only a thread without owner."""
    title: str = ""
    """The title of a thread created by the run."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """The metadata of a thread created by the run."""


def memory_ref(value: object) -> MemoryRef:
    """Read the ``memory=`` option: ``{"thread": id | {"id", "title"?, "metadata"?}, "resource"}``.

    ``threadId``/``resourceId`` (Mastra's older names) are accepted too.

    Raises:
        InvalidInputError: The option is not a dict naming a thread.
    """
    if isinstance(value, MemoryRef):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            "memory must be a dict like {'thread': 'thread-id', 'resource': 'user-id'}, "
            f"got {type(value).__name__}"
        )
    thread = value.get("thread", value.get("threadId", value.get("thread_id")))
    resource = value.get("resource", value.get("resourceId", value.get("resource_id")))
    title: object = ""
    metadata: object = {}
    if isinstance(thread, Mapping):
        title = thread.get("title") or ""
        metadata = thread.get("metadata") or {}
        thread = thread.get("id")
    if not isinstance(thread, str) or not thread:
        raise InvalidInputError("memory needs a thread: {'thread': 'thread-id', ...}")
    if resource is not None and (not isinstance(resource, str) or not resource):
        raise InvalidInputError("memory 'resource' must be a non-empty string")
    if not isinstance(title, str) or not isinstance(metadata, Mapping):
        raise InvalidInputError("memory thread 'title' must be a string, 'metadata' a dict")
    return MemoryRef(thread, resource, title, dict(metadata))
