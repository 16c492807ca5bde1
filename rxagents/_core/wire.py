"""The wire base: models named snake_case in Python and camelCase on the wire, built fast.

:class:`WireModel` is the base of every chunk, payload and model part. :func:`trusted_builder`
builds the models the library itself produces without re-validating them: validation happens at
the edges (wire parsing, scripted parts, tool arguments); chunks built from already-valid data
skip it. A validated construction costs about twice as much, and the agent builds one chunk per
streamed token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticUndefined

__all__ = ("WireModel", "trusted_builder", "wire_name")

_M = TypeVar("_M", bound=BaseModel)


def wire_name(name: str) -> str:
    """Turn a Python field name into its wire name: ``run_id`` → ``runId``, ``from_`` → ``from``."""
    return to_camel(name.rstrip("_"))


class WireModel(BaseModel):
    """A frozen model whose fields are snake_case in Python and camelCase on the wire.

    Unknown keys are kept (``extra="allow"``) so that data from other implementations survives a
    round trip. Optional fields default to :data:`pydantic.MISSING` and are left out of dumps
    when absent.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="allow",
        alias_generator=wire_name,
        validate_by_name=True,
        validate_by_alias=True,
    )


def trusted_builder(cls: type[_M], *params: str) -> Callable[..., _M]:
    """Return ``build(*values)`` making a ``cls`` instance from trusted data, without validation.

    ``params`` names the fields passed positionally, in that order; every other field takes its
    default (fields with a default factory must be passed). The instance is indistinguishable
    from a validated one: same ``__dict__`` order, equality, dumps and ``model_fields_set``.
    """
    fields = cls.model_fields
    unknown = set(params) - set(fields)
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_set": object.__setattr__,
        "_cls": cls,
        # one shared, immutable set per builder: pydantic never mutates it on frozen models,
        # and a set per instance would double the objects the garbage collector tracks
        "_fields_set": frozenset(params),
    }
    items = []
    for name, field in fields.items():
        if name in params:
            items.append(f"{name!r}: {name}")
            continue
        if field.default is PydanticUndefined:
            raise ValueError(f"{cls.__name__}.{name} has no default; pass it")
        namespace[f"_d_{name}"] = field.default
        items.append(f"{name!r}: _d_{name}")
    source = (
        f"def build({', '.join(params)}):\n"
        "    obj = _new(_cls)\n"
        f"    _set(obj, '__dict__', {{{', '.join(items)}}})\n"
        "    _set(obj, '__pydantic_fields_set__', _fields_set)\n"
        "    _set(obj, '__pydantic_extra__', {})\n"
        "    _set(obj, '__pydantic_private__', None)\n"
        "    return obj\n"
    )
    exec(source, namespace)  # generated from field names only; no user input
    build: Callable[..., _M] = namespace["build"]
    return build
