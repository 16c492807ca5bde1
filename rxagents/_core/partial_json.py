"""A tolerant parser for JSON that is still streaming in (structured output)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ("parse_partial_json",)

_MISSING = object()


def parse_partial_json(text: str) -> Any:
    """Parse the longest valid reading of a JSON prefix; ``None`` when nothing is readable yet.

    Open strings, arrays and objects are closed; a dangling key or ``,``/``:`` is dropped; a
    partial literal (``tr``, ``nul``, ``-``) is dropped. Complete JSON parses as usual.

    Example:
        >>> parse_partial_json('{"city": "Par')
        {'city': 'Par'}
        >>> parse_partial_json('{"a": [1, 2')
        {'a': [1, 2]}
    """
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    completed = _complete(text)
    while completed:
        try:
            return json.loads(completed)
        except ValueError:
            completed = _trim(completed)
    return None


def _complete(text: str) -> str:
    """Close the open string and containers of a JSON prefix."""
    stack: list[str] = []
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append("]" if char == "[" else "}")
        elif char in "]}" and stack:
            stack.pop()
    result = text
    if in_string:
        if escaped:
            result = result[:-1]
        result += '"'
    result = _strip_dangling(result)
    return result + "".join(reversed(stack))


def _strip_dangling(text: str) -> str:
    stripped = text.rstrip()
    while stripped and stripped[-1] in ",:":
        stripped = stripped[:-1].rstrip()
        if text.rstrip().endswith(":"):
            # drop the key too: `{"a": ` -> `{`
            cut = _last_key_start(stripped)
            if cut is not None:
                stripped = stripped[:cut].rstrip().rstrip(",")
    return stripped


def _last_key_start(text: str) -> int | None:
    if not text.endswith('"'):
        return None
    index = len(text) - 2
    while index >= 0:
        if text[index] == '"' and (index == 0 or text[index - 1] != "\\"):
            return index
        index -= 1
    return None


def _trim(text: str) -> str:
    """Drop the last token of a completed candidate and re-close it (partial literals)."""
    core = text.rstrip("]}")
    closers = text[len(core) :]
    for cut in range(len(core) - 1, -1, -1):
        if core[cut] in ",[{:":
            head = core[: cut + 1] if core[cut] in "[{" else core[:cut]
            if core[cut] == ":":
                key = _last_key_start(head.rstrip())
                head = head[:key].rstrip().rstrip(",") if key is not None else head
            return _complete(head) if head else ""
    del closers
    return ""
