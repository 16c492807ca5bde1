"""Shared pieces of the strategies: aliases, names and texts, JSON values, usage, errors."""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy
from pydantic import MISSING

from rxagents.errors import InvalidInputError
from rxagents.events import Chunk, ErrorInfo
from rxagents.testing._wellformed import Rule
from rxagents.usage import Usage

__all__ = (
    "DEFAULT_TOOLS",
    "DEFAULT_TOOL_ARGS",
    "NAMES",
    "SMALL_INTS",
    "STAMPS",
    "TEXTS",
    "Breakage",
    "ModelPartDict",
    "Script",
    "ToolSpec",
    "check_steps",
    "error_infos",
    "ids",
    "interleave",
    "json_objects",
    "json_values",
    "tool_args",
    "usages",
)

_T = TypeVar("_T")

ModelPartDict: TypeAlias = dict[str, Any]
"""One model part in the AI SDK v5 provider wire form, e.g. ``{"type": "text-delta", ...}``."""
Script: TypeAlias = list[list[ModelPartDict]]
"""Scripted model responses: one list of parts per model call (``ScriptedModel`` input)."""
ToolSpec: TypeAlias = "Sequence[str] | Mapping[str, SearchStrategy[Mapping[str, Any]]]"
"""Tool names, or tool names mapped to a strategy for their arguments."""
Breakage: TypeAlias = "tuple[list[Chunk], Rule]"
"""A broken stream and the rule :func:`~rxagents.testing.check_well_formed` reports first."""

DEFAULT_TOOLS: tuple[str, ...] = ("get_weather", "search_docs")
"""Tool names the stream strategies use unless told otherwise."""

# Names and texts draw from explicit alphabets, one byte string per text mapped onto the
# alphabet, rather than ``st.text``: any ``st.text`` makes hypothesis build its unicode tables on
# the first draw in a folder without a ``.hypothesis`` cache (about a second; several for full
# unicode), which fails the "input generation is slow" health check of a user's first test; and
# one choice per text (not one per character) keeps the streams small while hypothesis bounds the
# size of its first examples. The text alphabet keeps the characters that matter to the streams'
# encodings: ASCII with quotes, backslash and punctuation; whitespace and control characters that
# JSON escapes and that split lines; 2-, 3- and 4-byte UTF-8 (accents, CJK, emoji: surrogate
# pairs in JSON); JavaScript's line separators, a byte order mark, a zero-width joiner.
_NAME_CHARS = string.ascii_lowercase + string.digits + "_"
_TEXT_CHARS = (
    string.ascii_letters
    + string.digits
    + string.punctuation
    + " \t\n\r\x00\x1b\x7f\x85\xa0"
    + "éßÆ°€—中文ﬁ"
    + "\u2028\u2029\ufeff\u200d"
    + "🙂𝄞"
)


def _strings(alphabet: str, *, min_size: int = 0, max_size: int) -> SearchStrategy[str]:
    def spell(raw: bytes) -> str:
        return "".join(alphabet[byte % len(alphabet)] for byte in raw)

    return st.binary(min_size=min_size, max_size=max_size).map(spell)


NAMES = _strings(_NAME_CHARS, min_size=1, max_size=10)
TEXTS = _strings(_TEXT_CHARS, max_size=12)
SMALL_INTS = st.integers(min_value=0, max_value=10_000)
STAMPS = st.integers(min_value=1_600_000_000_000, max_value=1_900_000_000_000)


_OPTIONAL_COUNTERS = tuple(
    name for name, info in Usage.model_fields.items() if info.default is MISSING
)


def ids(prefix: str) -> SearchStrategy[str]:
    """Return a strategy for ids: ``prefix`` and a short name."""
    return NAMES.map(lambda suffix: f"{prefix}{suffix}")


@functools.cache
def json_values(*, max_leaves: int = 6) -> SearchStrategy[Any]:
    """Return a strategy for JSON data (null, booleans, ints, finite floats, strings, nests).

    Every value survives ``json.dumps``/``json.loads`` unchanged.
    """
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**53), max_value=2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | TEXTS
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(TEXTS, children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


@functools.cache
def json_objects() -> SearchStrategy[dict[str, Any]]:
    """Return a strategy for small JSON objects with name keys (tool arguments, raw usage)."""
    return st.dictionaries(NAMES, json_values(max_leaves=3), max_size=3)


@st.composite
def _usages(draw: DrawFn, max_tokens: int, optional_counters: bool, raw: bool) -> Usage:
    input_tokens = draw(st.integers(0, max_tokens))
    output_tokens = draw(st.integers(0, max_tokens))
    fields: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    if optional_counters:
        for name in _OPTIONAL_COUNTERS:
            if draw(st.booleans()):
                fields[name] = draw(st.integers(0, max_tokens))
    if raw and draw(st.booleans()):
        fields["raw"] = draw(json_objects())
    return Usage(**fields)


@functools.cache
def usages(
    *, max_tokens: int = 100_000, optional_counters: bool = True, raw: bool = False
) -> SearchStrategy[Usage]:
    """Return a strategy for :class:`~rxagents.usage.Usage` values.

    ``total_tokens`` is input plus output. Optional counters (``reasoningTokens`` …) are present
    or absent at random when ``optional_counters``; with ``raw`` some values carry a provider
    ``raw`` object (kept on the wire, never summed).
    """
    return _usages(max_tokens, optional_counters, raw)


@functools.cache
def error_infos() -> SearchStrategy[ErrorInfo]:
    """Return a strategy for errors, also parsed from their foreign forms (strings, wrappers)."""
    plain = st.builds(ErrorInfo, name=NAMES, message=TEXTS)
    foreign = (
        TEXTS
        | st.fixed_dictionaries(
            {"__error__": st.fixed_dictionaries({"name": NAMES, "message": TEXTS})}
        )
        | st.fixed_dictionaries({"name": NAMES, "message": TEXTS, "stack": TEXTS})
    )
    return plain | foreign.map(ErrorInfo.model_validate)


def tool_args(tools: ToolSpec) -> dict[str, SearchStrategy[Mapping[str, Any]]]:
    """Map each tool name to a strategy for its arguments (JSON objects unless given)."""
    if isinstance(tools, Mapping):
        return dict(tools)
    if isinstance(tools, str):
        raise InvalidInputError("tools must be a sequence of names, not one string")
    return {name: json_objects() for name in tools}


DEFAULT_TOOL_ARGS = tool_args(DEFAULT_TOOLS)


def check_steps(min_steps: int, max_steps: int) -> None:
    """Refuse a step range that is empty or starts below one."""
    if not 1 <= min_steps <= max_steps:
        raise InvalidInputError(f"need 1 <= min_steps <= max_steps, got {min_steps}, {max_steps}")


def interleave(draw: DrawFn, sequences: Sequence[Sequence[_T]]) -> list[_T]:
    """Merge sequences in a drawn order that keeps each sequence's own order."""
    queues = [list(seq) for seq in sequences if seq]
    merged: list[_T] = []
    while queues:
        pick = draw(st.integers(0, len(queues) - 1))
        merged.append(queues[pick].pop(0))
        if not queues[pick]:
            queues.pop(pick)
    return merged
