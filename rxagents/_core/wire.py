"""The wire base: models named snake_case in Python and camelCase on the wire, built fast.

:class:`WireModel` is the base of every chunk, payload and model part. :func:`trusted_builder`
builds the models the library itself produces without re-validating them: validation happens at
the edges (wire parsing, scripted parts, tool arguments); chunks built from already-valid data
skip it. A validated construction costs about twice as much, and the agent builds one chunk per
streamed token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticUndefined

__all__ = ("SharedFieldsSet", "WireModel", "trusted_builder", "wire_name", "with_extra")

_M = TypeVar("_M", bound=BaseModel)

_new = object.__new__
# the slot descriptors' setters, called directly: a third cheaper than object.__setattr__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


class SharedFieldsSet(set[str]):
    """A ``model_fields_set`` shared by many frozen instances: read-only, copied as a ``set``.

    Frozen models never change their fields set in place; ``model_copy`` changes the copy it
    takes with :func:`copy.copy`, which gives a plain ``set`` here. One shared set instead of
    one per instance halves the objects the garbage collector tracks per chunk. It is a ``set``
    (pydantic-core's ``exclude_unset`` dumps need one) whose mutating methods raise.
    """

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]  # read-only, so hashable
        return hash(frozenset(self))

    def __or__(self, other: AbstractSet[str]) -> SharedFieldsSet:  # type: ignore[override]
        return SharedFieldsSet(set.union(self, other))

    def __copy__(self) -> set[str]:
        return set(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> set[str]:
        return set(self)

    def _read_only(self, *args: object) -> NoReturn:
        raise TypeError("a shared fields set is read-only; copy it first")

    add = discard = remove = update = _read_only
    difference_update = intersection_update = symmetric_difference_update = _read_only
    pop = clear = _read_only
    __ior__ = __iand__ = __isub__ = __ixor__ = _read_only


class _NoExtra(dict[str, Any]):
    """The empty ``__pydantic_extra__`` every trusted-built instance shares: read-only.

    One dict fewer per chunk (an allocation the garbage collector counts); it equals ``{}``,
    and copies (``model_copy``) get a plain empty dict they may fill.
    """

    __slots__ = ()

    def __copy__(self) -> dict[str, Any]:
        return {}

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {}

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[()]]:
        return dict, ()

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("a shared empty extra is read-only; copy it first")

    __setitem__ = __delitem__ = __ior__ = setdefault = update = _read_only
    pop = popitem = clear = _read_only


_NO_EXTRA = _NoExtra()


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


def trusted_builder(
    cls: type[_M],
    *params: str,
    extras: Sequence[str] = (),
    fields_set: Iterable[str] | None = None,
) -> Callable[..., _M]:
    """Return ``build(*values)`` making a ``cls`` instance from trusted data, without validation.

    ``params`` names the fields passed positionally, in that order; every other field takes its
    default (fields with a default factory must be passed). ``extras`` names extra keys (``cls``
    must allow them), passed positionally after the fields and kept in that order, as
    validation keeps the keys it does not know. The instance is indistinguishable from a
    validated one: same ``__dict__`` order, extras, equality, dumps and ``model_fields_set``
    (``params`` and ``extras``, or ``fields_set`` when given).
    """
    fields = cls.model_fields
    unknown = set(params) - set(fields)
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
    if extras and (set(extras) & set(fields) or cls.model_config.get("extra") != "allow"):
        raise ValueError(f"{cls.__name__} takes no extra keys {list(extras)}")
    namespace: dict[str, Any] = {
        "_new": _new,
        "_set_dict": _set_dict,
        "_set_fields_set": _set_fields_set,
        "_set_extra": _set_extra,
        "_set_private": _set_private,
        # validation leaves ``__pydantic_extra__`` empty, or ``None`` when the class drops extras
        "_no_extra": _NO_EXTRA if cls.model_config.get("extra") == "allow" else None,
        "_cls": cls,
        # one shared, read-only set per builder: a set per instance would double the objects
        # the garbage collector tracks
        "_fields_set": SharedFieldsSet((*params, *extras) if fields_set is None else fields_set),
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
    extra_params = [f"_extra{index}" for index in range(len(extras))]
    extra_items = [f"{key!r}: _extra{index}" for index, key in enumerate(extras)]
    extra = f"{{{', '.join(extra_items)}}}" if extras else "_no_extra"
    source = (
        f"def build({', '.join((*params, *extra_params))}):\n"
        "    obj = _new(_cls)\n"
        f"    _set_dict(obj, {{{', '.join(items)}}})\n"
        "    _set_fields_set(obj, _fields_set)\n"
        f"    _set_extra(obj, {extra})\n"
        "    _set_private(obj, None)\n"
        "    return obj\n"
    )
    exec(source, namespace)  # generated from field names only; no user input
    build: Callable[..., _M] = namespace["build"]
    return build


def with_extra(model: _M, key: str, value: Any) -> _M:
    """Return ``model.model_copy(update={key: value})`` for an extra ``key``, more cheaply.

    The copy has the same fields, the extras plus ``key`` (last, or in its place when
    ``model`` had it), and ``key`` in its fields set, exactly as ``model_copy`` makes it. A
    field name, or a model with private attributes, goes through ``model_copy`` itself.
    """
    if key in type(model).model_fields or model.__pydantic_private__ is not None:
        return model.model_copy(update={key: value})
    copied = _new(type(model))
    _set_dict(copied, dict(model.__dict__))
    _set_fields_set(copied, {*model.__pydantic_fields_set__, key})
    _set_extra(copied, {**(model.__pydantic_extra__ or {}), key: value})
    _set_private(copied, None)
    return copied
