"""Turn what users pass as ``messages`` into prompt messages (the AI SDK v5 shape)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from rxagents.errors import InvalidInputError, InvalidInputTypeError
from rxagents.models import Message

__all__ = ("MessagesInput", "normalize_messages", "text_of")

MessagesInput = str | Sequence[str | Mapping[str, Any] | BaseModel]
"""A string, a list of strings, or a list of ``{role, content}`` dicts or message models."""

_ROLES = frozenset({"system", "user", "assistant", "tool"})


def normalize_messages(messages: object) -> list[Message]:
    """Validate and convert user input into prompt messages.

    Raises:
        TypeError: ``messages`` is not a string or a list.
        InvalidInputError: A message has an unknown role or unusable content.
    """
    if isinstance(messages, str):
        return [_user(messages)]
    if isinstance(messages, Mapping | BaseModel):
        return [_one(messages, 0)]
    if not isinstance(messages, Sequence) or isinstance(messages, bytes | bytearray):
        raise InvalidInputTypeError(
            "messages must be a string, a list of strings, or a list of {role, content} dicts; "
            f"got {type(messages).__name__}"
        )
    return [_one(item, index) for index, item in enumerate(messages)]


_PART_TYPES: dict[str, frozenset[str]] = {
    "system": frozenset({"text"}),
    "user": frozenset({"text", "image", "file"}),
    "assistant": frozenset({"text", "file", "reasoning", "tool-call", "tool-result"}),
    "tool": frozenset({"tool-result"}),
}
"""The content parts each role's model message may hold (the AI SDK v5 prompt shape)."""


def _user(text: str) -> Message:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def _one(item: object, index: int) -> Message:
    if isinstance(item, str):
        return _user(item)
    if isinstance(item, BaseModel):
        item = item.model_dump(by_alias=True, exclude_none=True)
    if not isinstance(item, Mapping):
        raise InvalidInputTypeError(
            f"messages[{index}] must be a string or a {{role, content}} dict, "
            f"got {type(item).__name__}"
        )
    role = item.get("role")
    if role not in _ROLES:
        raise InvalidInputError(
            f"messages[{index}] has role {role!r}; expected one of {sorted(_ROLES)}"
        )
    content = item.get("content")
    if content is None and "parts" in item:  # an AI SDK UI message
        content = [dict(part) for part in item["parts"] if isinstance(part, Mapping)]
    if isinstance(content, str):
        if role == "system":
            return {"role": "system", "content": content}
        return {"role": role, "content": [{"type": "text", "text": content}]}
    if isinstance(content, Sequence) and all(
        isinstance(part, Mapping) and isinstance(part.get("type"), str) for part in content
    ):
        parts = [dict(part) for part in content]
        if "parts" not in item:  # a model message: each role takes its own kinds of part
            allowed = _PART_TYPES[role]
            for position, part in enumerate(parts):
                if part["type"] not in allowed:
                    raise InvalidInputError(
                        f"messages[{index}].content[{position}] has type {part['type']!r}; "
                        f"a {role} message takes {', '.join(sorted(allowed))} parts"
                    )
        if role == "system":
            return {"role": "system", "content": "".join(p.get("text", "") for p in parts)}
        return {"role": role, "content": parts}
    raise InvalidInputError(
        f"messages[{index}].content must be a string or a list of typed parts "
        f"({{'type': 'text', 'text': ...}}), got {type(content).__name__}"
    )


def text_of(message: Message) -> str:
    """Return the text of a prompt message (its text parts joined)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if part.get("type") == "text")
    return ""
