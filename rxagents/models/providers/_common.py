"""Helpers shared by the provider modules: settings, prompt pieces, JSON and usage."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.models._protocol import ModelCall

__all__ = (
    "SettingWarning",
    "check_base_url",
    "env_value",
    "file_url",
    "json_text",
    "merge_headers",
    "provider_body_options",
    "tool_input",
    "tool_output_text",
    "unsupported",
)

SettingWarning = dict[str, Any]
"""A ``stream-start`` warning: ``{"type": "unsupported-setting", "setting", "details"}``."""


def env_value(name: str) -> str | None:
    """Return an environment variable, ``None`` when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def check_base_url(url: str, owner: str) -> str:
    """Return ``url`` without a trailing slash.

    Raises:
        ConfigurationError: It is not an http(s) URL.
    """
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{owner}: base_url must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


def merge_headers(*sources: Mapping[str, str] | None) -> dict[str, str]:
    """Merge header maps, later ones winning (names compared case-insensitively)."""
    merged: dict[str, tuple[str, str]] = {}
    for source in sources:
        for name, value in (source or {}).items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


def provider_body_options(call: ModelCall, *names: str) -> dict[str, Any]:
    """Return ``call.provider_options[name]`` for each name, merged (extra request fields)."""
    options = call.provider_options or {}
    merged: dict[str, Any] = {}
    for name in names:
        value = options.get(name)
        if isinstance(value, Mapping):
            merged.update(value)
    return merged


def json_text(value: Any) -> str:
    """Serialise a JSON value compactly (non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def tool_input(part: Mapping[str, Any]) -> Any:
    """Return a ``tool-call`` prompt part's input as a JSON value (v5 ``input`` or v4 ``args``)."""
    value = part.get("input", part.get("args", {}))
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except ValueError:
            return value
    return value


def tool_output_text(part: Mapping[str, Any]) -> tuple[str, bool]:
    """Return a ``tool-result`` prompt part's output as text, and whether it is an error."""
    output = part.get("output")
    if not isinstance(output, Mapping):
        # AI SDK v4 shape: {"result": ..., "isError"?: bool}
        result = part.get("result")
        text = result if isinstance(result, str) else json_text(result)
        return text, bool(part.get("isError"))
    kind = output.get("type")
    value = output.get("value")
    is_error = kind in ("error-text", "error-json")
    if kind in ("text", "error-text") and isinstance(value, str):
        return value, is_error
    return json_text(value), is_error


def file_url(part: Mapping[str, Any]) -> tuple[str, str]:
    """Return a file or image prompt part as ``(media_type, url or data URL)``.

    Raises:
        InvalidInputError: The part carries no usable data.
    """
    media_type = str(part.get("mediaType") or part.get("mimeType") or "image/png")
    data = part.get("data", part.get("image", part.get("url")))
    if isinstance(data, bytes | bytearray):
        encoded = base64.b64encode(bytes(data)).decode()
        return media_type, f"data:{media_type};base64,{encoded}"
    if isinstance(data, str) and data:
        if data.startswith(("http://", "https://", "data:")):
            return media_type, data
        return media_type, f"data:{media_type};base64,{data}"
    raise InvalidInputError("a file part needs data: bytes, base64 text or a URL")


def unsupported(setting: str, details: str) -> SettingWarning:
    """Return an ``unsupported-setting`` warning."""
    return {"type": "unsupported-setting", "setting": setting, "details": details}
