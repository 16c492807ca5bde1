"""A compact form for the chunks a run streams most, kept by replay buffers.

A streamed ``text-delta`` is three objects the garbage collector tracks (the chunk, the field
dict holding its payload, the payload). Kept by the thousand in a run's replay buffer, they make
every full collection longer, and the cost per token grows with the length of the stream.

:func:`compact_chunk` turns the hottest kinds — ``text-delta``, ``reasoning-delta``,
``tool-call-delta``, and such a chunk wrapped whole by ``prefix_events`` — into a tuple of
strings, which the collector stops tracking after its first pass; :func:`expand_chunk` rebuilds
the chunk: same class, field values (the very same string objects), ``from``, fields set, no
extra keys, so it is equal to the original and dumps identically. Every other chunk, and any
chunk carrying extra keys, is returned unchanged (``compact_chunk(c) is c``). These classes have
the envelope's four fields in that order and no private attributes (``tests/events`` pins it).

A compact form is ``(shape, run_id, *payload values)``, or ``(shape, type, run_id, *inner
form)`` for a wrapped chunk (flat, so that one pass of the collector untracks it); ``shape``
indexes a table of what the tuple does not carry (the classes, ``from``, the fields sets),
filled as new shapes are seen (a handful per process).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, final

from pydantic_core import to_json

from rxagents._core.wire import SharedFieldsSet, trusted_builder
from rxagents.events._base import ChunkBase, Payload
from rxagents.events.agent import (
    ReasoningDelta,
    ReasoningDeltaPayload,
    TextDelta,
    TextDeltaPayload,
    ToolCallDelta,
    ToolCallDeltaPayload,
)
from rxagents.events.network import WrappedChunk

__all__ = (
    "CompactChunk",
    "compact_chunk",
    "compact_json",
    "compact_text",
    "expand_chunk",
    "text_delta_shape",
)

CompactChunk = tuple[Any, ...]
"""A chunk's compact form: a flat tuple of ``int`` shapes and strings."""

_ENVELOPE: Final = ("type", "run_id", "from_", "payload")

_DELTAS: Final[dict[type[ChunkBase], tuple[type[Payload], tuple[str, ...]]]] = {
    TextDelta: (TextDeltaPayload, ("id", "text")),
    ReasoningDelta: (ReasoningDeltaPayload, ("id", "text")),
    ToolCallDelta: (ToolCallDeltaPayload, ("tool_call_id", "tool_name", "args_text_delta")),
}


@final
class _Shape:
    """What a compact form leaves out (classes, ``from``, fields sets), as a rebuilding function.

    ``expand(form)`` rebuilds the chunk; ``kind`` is the chunk type (``None`` when wrapped).
    ``template`` (made on first use, for unwrapped shapes) is the chunk's wire JSON cut at its
    values; ``head`` caches the JSON up to the last value for the last form's other values.
    """

    __slots__ = ("expand", "head", "kind", "template")

    def __init__(
        self,
        chunk_cls: type[ChunkBase],
        from_: str,
        chunk_fields: Iterable[str],
        payload_cls: type[Payload] | None,
        payload_fields: Iterable[str],
        names: tuple[str, ...],
    ) -> None:
        self.kind: str | None = None
        self.expand: Callable[[CompactChunk], Any]
        self.template: tuple[bytes, ...] | None = None
        self.head: tuple[tuple[Any, ...], bytes] | None = None
        if payload_cls is None:  # wrapped: (shape, type, run_id, *inner form)
            wrap = trusted_builder(
                chunk_cls, "type", "run_id", "from_", "payload", fields_set=chunk_fields
            )

            def expand_wrapped(form: CompactChunk) -> Any:
                inner = form[3:]
                return wrap(form[1], form[2], from_, _SHAPES[inner[0]].expand(inner))

            self.expand = expand_wrapped
            return
        self.kind = chunk_cls.model_fields["type"].default
        chunk = trusted_builder(chunk_cls, "run_id", "from_", "payload", fields_set=chunk_fields)
        payload = trusted_builder(payload_cls, *names, fields_set=payload_fields)
        if len(names) == 2:

            def expand_pair(form: CompactChunk) -> Any:
                return chunk(form[1], from_, payload(form[2], form[3]))

            self.expand = expand_pair
        else:

            def expand_any(form: CompactChunk) -> Any:
                return chunk(form[1], from_, payload(*form[2:]))

            self.expand = expand_any


_SHAPES: list[_Shape] = []
_SHAPE_INDEX: dict[tuple[Any, ...], int] = {}
_LAST: dict[type[ChunkBase], tuple[object, object, str, int]] = {}
"""Per class, the last shape seen with shared fields sets: one identity test on the hot path."""


def _shape_of(
    cls: type[ChunkBase],
    from_: str,
    chunk_fields: Any,
    payload_cls: type[Payload] | None,
    payload_fields: Any,
    names: tuple[str, ...],
) -> int:
    last = _LAST.get(cls)
    if (
        last is not None
        and last[0] is chunk_fields
        and last[1] is payload_fields
        and last[2] == from_
    ):
        return last[3]
    key = (cls, from_, frozenset(chunk_fields), frozenset(payload_fields))
    index = _SHAPE_INDEX.get(key)
    if index is None:
        index = _SHAPE_INDEX[key] = len(_SHAPES)
        _SHAPES.append(_Shape(cls, from_, chunk_fields, payload_cls, payload_fields, names))
    if type(chunk_fields) is SharedFieldsSet and type(payload_fields) in (SharedFieldsSet, tuple):
        _LAST[cls] = (chunk_fields, payload_fields, from_, index)
    return index


def compact_chunk(chunk: Any) -> Any:
    """Return the compact form of ``chunk``, or ``chunk`` itself when it has none.

    Example:
        >>> delta = TextDelta(run_id="r1", payload=TextDeltaPayload(id="t1", text="Hi"))
        >>> form = compact_chunk(delta)
        >>> type(form).__name__, expand_chunk(form) == delta
        ('tuple', True)
    """
    cls = type(chunk)
    spec = _DELTAS.get(cls)
    if spec is None:
        return _compact_wrapped(chunk) if cls is WrappedChunk else chunk
    payload_cls, names = spec
    fields = chunk.__dict__
    payload = fields.get("payload")
    if (
        type(payload) is not payload_cls
        or chunk.__pydantic_extra__
        or payload.__pydantic_extra__
        or len(fields) != 4
    ):
        return chunk
    values = payload.__dict__
    if len(values) != len(names):
        return chunk
    from_ = fields["from_"]
    chunk_fields = chunk.__pydantic_fields_set__
    payload_fields = payload.__pydantic_fields_set__
    last = _LAST.get(cls)
    if (
        last is not None
        and last[0] is chunk_fields
        and last[1] is payload_fields
        and last[2] == from_
    ):
        shape = last[3]
    else:
        shape = _shape_of(cls, from_, chunk_fields, payload_cls, payload_fields, names)
    if len(names) == 2:
        return (shape, fields["run_id"], values[names[0]], values[names[1]])
    return (shape, fields["run_id"], *(values[name] for name in names))


_NO_FIELDS: Final = ()


def _compact_wrapped(chunk: WrappedChunk) -> Any:
    fields = chunk.__dict__
    inner = compact_chunk(fields.get("payload"))
    if type(inner) is not tuple or chunk.__pydantic_extra__ or len(fields) != 4:
        return chunk
    shape = _shape_of(
        WrappedChunk, fields["from_"], chunk.__pydantic_fields_set__, None, _NO_FIELDS, ()
    )
    return (shape, fields["type"], fields["run_id"], *inner)


def expand_chunk(form: CompactChunk) -> Any:
    """Rebuild the chunk a :func:`compact_chunk` tuple was made from."""
    return _SHAPES[form[0]].expand(form)


def compact_json(form: CompactChunk) -> bytes:
    """Return the wire JSON of the chunk a compact form stands for, without rebuilding it.

    Byte for byte what pydantic dumps for :func:`expand_chunk` of ``form`` (camelCase keys):
    each value is encoded by pydantic-core itself, between the fixed parts of the shape's
    JSON. Consecutive forms of one run and block share their head (everything before the
    last value), encoded once.
    """
    shape = _SHAPES[form[0]]
    template = shape.template
    if template is None:
        template = shape.template = _json_template(shape, len(form) - 1)
    if not template:  # wrapped, or a shape whose JSON does not cut at its values
        chunk = shape.expand(form)
        return bytes(type(chunk).__pydantic_serializer__.to_json(chunk, by_alias=True))
    values = form[1:-1]
    head = shape.head
    if head is None or head[0] != values:
        parts = [template[0]]
        for value, fixed in zip(values, template[1:-1], strict=True):
            parts.append(to_json(value))
            parts.append(fixed)
        head = shape.head = (values, b"".join(parts))
    return head[1] + to_json(form[-1]) + template[-1]


def _json_template(shape: _Shape, count: int) -> tuple[bytes, ...]:
    """Cut the wire JSON of a chunk of ``shape`` at its ``count`` values (in form order).

    A sample chunk holding a distinct marker string per value is dumped by pydantic; the bytes
    between the markers' JSON are the fixed parts. Empty for a wrapped shape, or when the
    values do not come out in form order (run id, then the payload's fields).
    """
    if shape.kind is None:
        return ()
    markers = [f"\ue000{index}\ue000" for index in range(count)]
    sample = shape.expand((0, *markers))
    data = bytes(type(sample).__pydantic_serializer__.to_json(sample, by_alias=True))
    parts: list[bytes] = []
    start = 0
    for marker in markers:
        encoded = to_json(marker)
        at = data.find(encoded, start)
        if at < 0:
            return ()
        parts.append(data[start:at])
        start = at + len(encoded)
    parts.append(data[start:])
    return tuple(parts)


def compact_text(form: CompactChunk) -> tuple[str, str] | None:
    """Return ``(type, text)`` of a compact ``text-delta`` or ``reasoning-delta``, else ``None``.

    Lets a reader of a replay buffer collect text without rebuilding the chunks.
    """
    kind = _SHAPES[form[0]].kind
    if kind == "text-delta" or kind == "reasoning-delta":
        return kind, form[3]
    return None


def text_delta_shape() -> int:
    """Return the shape of a ``text-delta`` built from ``run_id`` and a ``{id, text}`` payload.

    ``(text_delta_shape(), run_id, id, text)`` is then the compact form of
    ``TextDelta(run_id=run_id, payload=TextDeltaPayload(id=id, text=text))``: a run that
    streams text can send it as it is, without building the chunk.
    """
    return _shape_of(
        TextDelta,
        "AGENT",
        _TEXT_DELTA_FIELDS,
        TextDeltaPayload,
        _TEXT_PAYLOAD_FIELDS,
        ("id", "text"),
    )


_TEXT_DELTA_FIELDS: Final = SharedFieldsSet(("run_id", "payload"))
_TEXT_PAYLOAD_FIELDS: Final = SharedFieldsSet(("id", "text"))
