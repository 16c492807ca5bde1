"""Single chunks of every class, valid on the wire but in no particular stream."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy
from pydantic import MISSING, BaseModel

from rxagents.errors import InvalidInputError
from rxagents.events import (
    CHUNK_CLASSES,
    Chunk,
    ChunkBase,
    DataChunk,
    ErrorInfo,
    ObjectChunk,
    ObjectResult,
    ToolOutputPayload,
    WorkflowStepOutputPayload,
    WrappedChunk,
)
from rxagents.usage import Usage

from ._base import (
    NAMES,
    SMALL_INTS,
    TEXTS,
    error_infos,
    ids,
    json_values,
    usages,
)
from ._network import wrap
from ._workflow import custom_outputs

__all__ = ("chunks",)

_EXTRA_KEYS = ("custom", "xMeta", "providerOptions", "note", "type")


def _strip_missing(annotation: Any) -> tuple[Any, ...]:
    return tuple(arg for arg in get_args(annotation) if arg is not MISSING)


def _for_annotation(annotation: Any) -> SearchStrategy[Any]:
    """Derive a value strategy from a payload field's type."""
    origin = get_origin(annotation)
    if annotation is Any:
        return json_values()
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin in (Union, UnionType):
        return st.one_of([_for_annotation(arg) for arg in _strip_missing(annotation)])
    if origin is list:
        return st.lists(_for_annotation(get_args(annotation)[0]), max_size=2)
    if origin is dict:
        return st.dictionaries(NAMES, _for_annotation(get_args(annotation)[1]), max_size=2)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return SMALL_INTS
    if annotation is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if annotation is str:
        return TEXTS
    if annotation is Usage:
        return usages(raw=True)
    if annotation is ErrorInfo:
        return error_infos()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _models(annotation)
    raise TypeError(f"no strategy for payload field type {annotation!r}")  # pragma: no cover


_PAYLOADLESS = (ObjectChunk, ObjectResult)
_OVERRIDES: dict[tuple[type[BaseModel], str], Callable[[], SearchStrategy[Any]]] = {}


@st.composite
def _model_instances(draw: DrawFn, cls: type[BaseModel]) -> BaseModel:
    fields: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if not info.is_required() and not draw(st.booleans()):
            continue
        override = _OVERRIDES.get((cls, name))
        strategy = override() if override is not None else _for_annotation(info.annotation)
        fields[name] = draw(strategy)
    if cls in _PAYLOADLESS and "payload" not in fields:
        fields["object"] = draw(json_values(max_leaves=3))  # Mastra's form: a top-level key
    if not issubclass(cls, ChunkBase):
        taken = set(cls.model_fields) | {info.alias for info in cls.model_fields.values()}
        free = [key for key in _EXTRA_KEYS if key not in taken]
        for key in draw(st.lists(st.sampled_from(free), max_size=2, unique=True)):
            fields[key] = draw(json_values(max_leaves=3))
    return cls(**fields)


_MODEL_CACHE: dict[type[BaseModel], SearchStrategy[Any]] = {}


def _models(cls: type[BaseModel]) -> SearchStrategy[Any]:
    if cls not in _MODEL_CACHE:
        _MODEL_CACHE[cls] = st.deferred(lambda: _model_instances(cls))
    return _MODEL_CACHE[cls]


@functools.cache
def _fixed_chunks() -> SearchStrategy[Chunk]:
    return st.one_of([_models(cls) for _, cls in sorted(CHUNK_CLASSES.items())])


def _wrapped_chunks(inner: SearchStrategy[Chunk]) -> SearchStrategy[WrappedChunk]:
    prefixes = st.sampled_from(
        ("agent-execution-event-", "workflow-execution-event-", "my-prefix-")
    )
    return st.builds(
        lambda prefix, run_id, chunk: wrap(prefix, run_id, chunk), prefixes, ids("net-"), inner
    )


@functools.cache
def _step_output_values() -> SearchStrategy[Any]:
    inner = _fixed_chunks() | _wrapped_chunks(_fixed_chunks())
    return custom_outputs() | inner


_OVERRIDES[(WorkflowStepOutputPayload, "output")] = _step_output_values
_OVERRIDES[(ToolOutputPayload, "output")] = _step_output_values


@st.composite
def _data_chunks(draw: DrawFn) -> DataChunk:
    """Envelope-less chunks as ``ctx.writer.custom`` writes them (``data-*`` or any free type)."""
    kind = draw(st.sampled_from(("data-progress", "data-status")) | NAMES.map("data-{}".format))
    fields: dict[str, Any] = {"type": kind}
    for key, strategy in (
        ("data", json_values(max_leaves=3)),
        ("id", NAMES),
        ("transient", st.booleans()),
        ("extraKey", json_values(max_leaves=2)),
    ):
        if draw(st.booleans()):
            fields[key] = draw(strategy)
    return DataChunk.model_validate(fields)


def chunks(*, types: Iterable[str] | None = None, wrapped: bool = True) -> SearchStrategy[Chunk]:
    """Return a strategy for single chunks, valid for the wire but in no particular stream.

    Every chunk class, with optional payload fields present or absent, extra payload keys (kept
    on the wire), errors in their foreign forms (plain strings, ``{"__error__": {...}}``), usage
    with a ``raw`` object, wrapped chunks (also wrapping a wrapped chunk), ``workflow-step-output``
    and ``tool-output`` carrying plain JSON, a custom ``{"type": "my-progress", ...}`` object or a
    whole chunk, and (when ``types`` is omitted) envelope-less data chunks
    (:class:`~rxagents.events.DataChunk`, as read from the wire: no runId).

    Args:
        types: Only these wire types (keys of ``CHUNK_CLASSES``); all of them when omitted.
        wrapped: Also generate wrapped chunks (``agent-execution-event-*`` …) around any chunk.

    Raises:
        InvalidInputError: A type is not in the vocabulary, or nothing would be generated.
    """
    if types is None:
        fixed = _fixed_chunks()
        options = [fixed, _data_chunks()]
    else:
        chosen = sorted(set(types))
        unknown = [t for t in chosen if t not in CHUNK_CLASSES]
        if unknown:
            raise InvalidInputError(f"unknown chunk types {unknown}; see CHUNK_CLASSES")
        options = [_models(CHUNK_CLASSES[t]) for t in chosen]
        fixed = _fixed_chunks()
    if wrapped:
        options.append(_wrapped_chunks(fixed | _wrapped_chunks(fixed)))
    if not options:
        raise InvalidInputError("chunks() needs some types or wrapped=True")
    return st.one_of(options)
