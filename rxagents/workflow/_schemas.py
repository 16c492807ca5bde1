"""Check at ``commit()`` that each step's output can feed the next step's input.

Outputs are described by shapes: a pydantic model, a dict keyed by step id (parallel blocks
and branches), a list (foreach), or unknown (no schema, ``map``). A model input is fed when
every required field is present in the producer's output under its name or alias and, where
both sides name plain classes, the types agree (``int`` feeds ``float``). Unknown shapes,
generics and unions are accepted: the run validates them anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

__all__ = ("ANY", "KeyedShape", "ListShape", "ModelShape", "Shape", "feed_problem", "shape_of")


class Shape:
    """What a step's output looks like, as far as commit-time checks go."""


@dataclass(frozen=True)
class _Any(Shape):
    pass


ANY = _Any()
"""An output of unknown shape."""


@dataclass(frozen=True)
class ModelShape(Shape):
    """An instance of ``schema``, dumped to JSON."""

    schema: type[BaseModel]


@dataclass(frozen=True)
class KeyedShape(Shape):
    """A dict keyed by step id: a parallel block (every key) or a branch (some keys)."""

    items: dict[str, Shape]
    every_key: bool


@dataclass(frozen=True)
class ListShape(Shape):
    """A list of outputs (foreach)."""

    item: Shape


def shape_of(schema: type[BaseModel] | None) -> Shape:
    """Return the shape of values validated by ``schema`` (unknown for ``None``)."""
    return ANY if schema is None else ModelShape(schema)


def describe(shape: Shape) -> str:
    """Name a shape for an error message."""
    if isinstance(shape, ModelShape):
        return shape.schema.__name__
    if isinstance(shape, KeyedShape):
        kind = "parallel block" if shape.every_key else "branch"
        return f"a {kind} output keyed by {sorted(shape.items)}"
    if isinstance(shape, ListShape):
        return "a list"
    return "any value"


def feed_problem(shape: Shape, into: type[BaseModel] | None) -> str | None:
    """Return why ``shape`` cannot feed an input validated by ``into``, or ``None`` if it can."""
    if into is None or shape is ANY:
        return None
    if isinstance(shape, ModelShape) and issubclass(shape.schema, into):
        return None
    if isinstance(shape, ListShape):
        return f"a list cannot feed {into.__name__}, which is an object"
    available = _fields(shape)
    for name, field in into.model_fields.items():
        if not field.is_required():
            continue
        names = {name, field.alias, field.validation_alias}
        source = next((available[n] for n in names if isinstance(n, str) and n in available), None)
        if source is None:
            return f"{into.__name__} needs field {name!r}, which {describe(shape)} lacks"
        problem = _type_problem(source, field.annotation)
        if problem is not None:
            return f"field {name!r}: {problem}"
    return None


def _fields(shape: Shape) -> dict[str, Any]:
    """Map every name an output carries to its annotation (models) or shape (keyed dicts)."""
    if isinstance(shape, ModelShape):
        fields: dict[str, Any] = {}
        for name, field in shape.schema.model_fields.items():
            fields[name] = field.annotation
            for alias in (field.alias, field.serialization_alias):
                if isinstance(alias, str):
                    fields[alias] = field.annotation
        return fields
    assert isinstance(shape, KeyedShape)
    return dict(shape.items)


def _type_problem(source: Any, wanted: Any) -> str | None:
    if isinstance(source, Shape):  # a keyed output's item: another step's output
        if isinstance(wanted, type) and issubclass(wanted, BaseModel):
            return feed_problem(source, wanted)
        return None
    if source is Any or wanted is Any or source == wanted:
        return None
    if not (isinstance(source, type) and isinstance(wanted, type)):
        return None  # generics, unions, literals: left to run-time validation
    if issubclass(wanted, BaseModel) and issubclass(source, BaseModel):
        return feed_problem(ModelShape(source), wanted)
    if issubclass(source, wanted) or (source is int and wanted is float):
        return None
    return f"{source.__name__} does not fit {wanted.__name__}"
