"""Convert between prompt messages and AI SDK v5 ``UIMessage``s (what ``useChat`` holds).

Prompt messages are the AI SDK v5 model message shape the agent loop uses (``{role, content}``
with ``text``, ``reasoning``, ``file``, ``tool-call`` and ``tool-result`` parts). A UI message is
``{id, role, parts}``; an assistant's tool calls are ``tool-<name>`` parts whose ``state`` says
how far they got, and each model call starts with a ``step-start`` part.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

from rxagents.errors import InvalidInputError

__all__ = ("UIMessage", "from_ui_messages", "to_ui_messages", "ui_message_to_prompt")

UIMessage: TypeAlias = dict[str, Any]
"""An AI SDK v5 ``UIMessage``: ``{"id", "role", "parts", "metadata"?}``."""

_UI_ROLES = frozenset({"system", "user", "assistant"})


def _new_id() -> str:
    return uuid.uuid4().hex


# --- prompt messages -> UI messages ---------------------------------------------------------


def to_ui_messages(
    messages: Sequence[Mapping[str, Any]], *, generate_id: Callable[[], str] | None = None
) -> list[UIMessage]:
    """Convert prompt messages into UI messages; see ``to_ai_sdk_v5_messages``."""
    make_id = generate_id or _new_id
    result: list[UIMessage] = []
    assistant: UIMessage | None = None
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise InvalidInputError(
                f"messages[{index}] must be a {{role, content}} dict, got {type(message).__name__}"
            )
        role = message.get("role")
        parts = _content_parts(message.get("content"), index)
        if role == "tool":
            if assistant is None:
                assistant = _ui_message(message, "assistant", make_id)
                result.append(assistant)
            _apply_tool_results(assistant, parts)
            continue
        if role == "assistant":
            if assistant is None:
                assistant = _ui_message(message, "assistant", make_id)
                result.append(assistant)
            assistant["parts"].append({"type": "step-start"})
            assistant["parts"].extend(_assistant_parts(parts))
            continue
        if role not in ("system", "user"):
            raise InvalidInputError(
                f"messages[{index}] has role {role!r}; expected system, user, assistant or tool"
            )
        assistant = None
        ui = _ui_message(message, role, make_id)
        ui["parts"].extend(_user_parts(parts))
        result.append(ui)
    return result


def _ui_message(message: Mapping[str, Any], role: str, make_id: Callable[[], str]) -> UIMessage:
    message_id = message.get("id")
    ui: UIMessage = {
        "id": message_id if isinstance(message_id, str) and message_id else make_id(),
        "role": role,
        "parts": [],
    }
    if "metadata" in message:
        ui["metadata"] = message["metadata"]
    return ui


def _content_parts(content: object, index: int) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, Mapping) and isinstance(content.get("parts"), list):
        return [p for p in content["parts"] if isinstance(p, Mapping)]  # a stored UI form
    if isinstance(content, list | tuple):
        return [p for p in content if isinstance(p, Mapping)]
    if content is None:
        return []
    raise InvalidInputError(
        f"messages[{index}].content must be a string or a list of parts, "
        f"got {type(content).__name__}"
    )


def _user_parts(parts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            result.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind in ("file", "image"):
            result.append(_file_part(part))
        elif isinstance(kind, str) and kind.startswith("data-"):
            result.append(dict(part))
    return result


def _file_part(part: Mapping[str, Any]) -> dict[str, Any]:
    media_type = str(part.get("mediaType") or part.get("mimeType") or "")
    if part.get("type") == "image" and not media_type:
        media_type = "image/*"
    data = part.get("url") or part.get("data") or part.get("image") or ""
    url = str(data)
    if not url.startswith(("data:", "http:", "https:")):
        url = f"data:{media_type};base64,{url}"
    result: dict[str, Any] = {"type": "file", "mediaType": media_type, "url": url}
    if part.get("filename"):
        result["filename"] = str(part["filename"])
    return result


def _assistant_parts(parts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            result.append({"type": "text", "text": str(part.get("text", "")), "state": "done"})
        elif kind == "reasoning":
            result.append({"type": "reasoning", "text": str(part.get("text", "")), "state": "done"})
        elif kind == "tool-call":
            name = str(part.get("toolName", ""))
            result.append(
                {
                    "type": f"tool-{name}",
                    "toolCallId": str(part.get("toolCallId", "")),
                    "state": "input-available",
                    "input": part.get("input", part.get("args")),
                }
            )
        elif kind == "tool-result":
            result.append(_tool_result_part(part))
        elif kind in ("file", "image"):
            result.append(_file_part(part))
        elif kind == "step-start" or (isinstance(kind, str) and kind.startswith("tool-")):
            result.append(dict(part))  # already a UI part (a stored UI message)
    return result


def _tool_result_part(part: Mapping[str, Any]) -> dict[str, Any]:
    name = str(part.get("toolName", ""))
    ui: dict[str, Any] = {"type": f"tool-{name}", "toolCallId": str(part.get("toolCallId", ""))}
    _set_output(ui, part)
    return ui


def _set_output(ui: dict[str, Any], part: Mapping[str, Any]) -> None:
    output = part.get("output")
    if isinstance(output, Mapping) and isinstance(output.get("type"), str):
        kind, value = output["type"], output.get("value")
    elif "result" in part:  # the v4 form
        kind = "error-json" if part.get("isError") else "json"
        value = part["result"]
    else:
        kind, value = "json", output
    if kind.startswith("error"):
        ui["state"] = "output-error"
        ui["errorText"] = value if isinstance(value, str) else str(value)
        ui.pop("output", None)
    else:
        ui["state"] = "output-available"
        ui["output"] = value
    ui.setdefault("input", part.get("input", part.get("args")))


def _apply_tool_results(assistant: UIMessage, parts: Sequence[Mapping[str, Any]]) -> None:
    by_id = {
        p.get("toolCallId"): p
        for p in assistant["parts"]
        if isinstance(p.get("type"), str) and p["type"].startswith("tool-")
    }
    for part in parts:
        if part.get("type") != "tool-result":
            continue
        target = by_id.get(part.get("toolCallId"))
        if target is None:
            assistant["parts"].append(_tool_result_part(part))
        else:
            _set_output(target, part)


# --- UI messages -> prompt messages ---------------------------------------------------------


def from_ui_messages(ui_messages: object) -> list[dict[str, Any]]:
    """Convert UI messages into prompt messages; see ``from_ai_sdk_v5_messages``."""
    if not isinstance(ui_messages, list | tuple):
        raise InvalidInputError(
            f"messages must be a list of UI messages, got {type(ui_messages).__name__}"
        )
    result: list[dict[str, Any]] = []
    for index, message in enumerate(ui_messages):
        result.extend(ui_message_to_prompt(message, f"messages[{index}]"))
    return result


def ui_message_to_prompt(message: object, where: str) -> list[dict[str, Any]]:
    """Convert one UI message (found at ``where``, for errors) into prompt messages."""
    if not isinstance(message, Mapping):
        raise InvalidInputError(f"{where} must be an object, got {type(message).__name__}")
    role = message.get("role")
    if role not in _UI_ROLES:
        raise InvalidInputError(f"{where}.role must be one of {sorted(_UI_ROLES)}, got {role!r}")
    parts = message.get("parts")
    if not isinstance(parts, list | tuple):
        raise InvalidInputError(f"{where}.parts must be a list of parts")
    for number, part in enumerate(parts):
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise InvalidInputError(f"{where}.parts[{number}] must be an object with a type")
        if part["type"] in ("text", "reasoning") and not isinstance(part.get("text"), str):
            raise InvalidInputError(f"{where}.parts[{number}].text must be a string")
    if role == "system":
        text = "".join(p["text"] for p in parts if p["type"] == "text")
        return [{"role": "system", "content": text}]
    if role == "user":
        content = _prompt_user_content(parts)
        return [{"role": "user", "content": content}] if content else []
    return _prompt_assistant_messages(parts)


def _prompt_user_content(parts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    for part in parts:
        kind = part["type"]
        if kind == "text":
            content.append({"type": "text", "text": part["text"]})
        elif kind == "file":
            file: dict[str, Any] = {
                "type": "file",
                "mediaType": str(part.get("mediaType", "")),
                "data": str(part.get("url", "")),
            }
            if part.get("filename"):
                file["filename"] = str(part["filename"])
            content.append(file)
    return content


def _tool_name(part: Mapping[str, Any]) -> str | None:
    kind = part["type"]
    if kind == "dynamic-tool":
        name = part.get("toolName")
        return name if isinstance(name, str) else None
    if kind.startswith("tool-"):
        return str(kind[len("tool-") :])
    return None


def _prompt_assistant_messages(parts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    blocks: list[list[Mapping[str, Any]]] = [[]]
    for part in parts:
        if part["type"] == "step-start":
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(part)
    for block in blocks:
        content: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        for part in block:
            kind = part["type"]
            if kind == "text":
                content.append({"type": "text", "text": part["text"]})
            elif kind == "reasoning":
                content.append({"type": "reasoning", "text": part["text"]})
            else:
                name = _tool_name(part)
                state = part.get("state")
                if name is None or state == "input-streaming":
                    continue
                call_id = str(part.get("toolCallId", ""))
                content.append(
                    {
                        "type": "tool-call",
                        "toolCallId": call_id,
                        "toolName": name,
                        "input": part.get("input"),
                    }
                )
                if state == "output-available":
                    output = {"type": "json", "value": part.get("output")}
                elif state == "output-error":
                    output = {"type": "error-text", "value": str(part.get("errorText", ""))}
                else:
                    continue
                results.append(
                    {
                        "type": "tool-result",
                        "toolCallId": call_id,
                        "toolName": name,
                        "output": output,
                    }
                )
        if content:
            messages.append({"role": "assistant", "content": content})
        if results:
            messages.append({"role": "tool", "content": results})
    return messages
