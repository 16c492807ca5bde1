"""Typed chunks with Mastra's wire shape, and :func:`parse_chunk` to read them back.

Every chunk is ``{"type", "runId", "from", "payload"}`` on the wire (camelCase) and a frozen
pydantic model in Python (snake_case: ``chunk.run_id``, ``chunk.from_``). ``Chunk`` is the
discriminated union of every chunk class; :data:`CHUNK_ADAPTER` validates it.

Example:
    >>> chunk = parse_chunk(
    ...     {"type": "text-delta", "runId": "r1", "from": "AGENT",
    ...      "payload": {"id": "t1", "text": "Hi"}}
    ... )
    >>> chunk.payload.text
    'Hi'
    >>> chunk.model_dump(by_alias=True)["runId"]
    'r1'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Union, cast, get_args

from pydantic import Discriminator, Tag, TypeAdapter, ValidationError

from rxagents.errors import ChunkParseError, UnknownChunkTypeError
from rxagents.events import agent as _agent
from rxagents.events import network as _network
from rxagents.events import workflow as _workflow
from rxagents.events._base import MISSING, ChunkBase, ErrorInfo, Payload, Source, WireModel
from rxagents.events._compact import (
    CompactChunk,
    compact_chunk,
    compact_json,
    compact_text,
    expand_chunk,
    text_delta_shape,
)
from rxagents.events.agent import *  # noqa: F403
from rxagents.events.agent import AgentChunk, DataChunk, ToolOutputPayload
from rxagents.events.network import *  # noqa: F403
from rxagents.events.network import NetworkChunk, WrappedChunk
from rxagents.events.workflow import *  # noqa: F403
from rxagents.events.workflow import WorkflowChunk, WorkflowStepOutputPayload

_CLASSES: tuple[type[ChunkBase], ...] = (
    *get_args(AgentChunk),
    *get_args(WorkflowChunk),
    *get_args(NetworkChunk),
)
CHUNK_CLASSES: dict[str, type[ChunkBase]] = {
    cls.model_fields["type"].default: cls
    for cls in _CLASSES
    if isinstance(cls.model_fields["type"].default, str)
}
"""Every fixed chunk type, mapped to its class (wrapped and custom data chunks excluded)."""

_WRAPPED = "*wrapped*"
_CUSTOM = "*custom*"


def chunk_tag(value: Any) -> str | None:
    """Return the union tag of raw or parsed chunk data: its type, or the wrapped marker.

    A chunk whose payload is itself a chunk, and whose type ends with the inner chunk's type, is
    a wrapped chunk (``agent-execution-event-text-delta`` around a ``text-delta``). A chunk of
    another type without an envelope (no ``runId``, no ``payload``) is a custom
    :class:`DataChunk` (what ``ctx.writer.custom`` emits).
    """
    if isinstance(value, dict):
        kind = value.get("type")
        if kind in CHUNK_CLASSES:
            return cast(str, kind)
        if isinstance(kind, str) and "payload" not in value and "runId" not in value:
            return _CUSTOM
        payload = value.get("payload")
        inner = payload.get("type") if isinstance(payload, dict) else getattr(payload, "type", None)
    else:
        kind = getattr(value, "type", None)
        if kind in CHUNK_CLASSES:
            return cast(str, kind)
        if isinstance(value, DataChunk):
            return _CUSTOM
        inner = getattr(getattr(value, "payload", None), "type", None)
    if (
        isinstance(kind, str)
        and isinstance(inner, str)
        and len(kind) > len(inner)
        and kind.endswith(inner)
    ):
        return _WRAPPED
    return None


if TYPE_CHECKING:
    Chunk = AgentChunk | WorkflowChunk | NetworkChunk | WrappedChunk | DataChunk
else:
    Chunk = Annotated[
        Union[
            (
                *(Annotated[cls, Tag(tag)] for tag, cls in CHUNK_CLASSES.items()),
                Annotated[WrappedChunk, Tag(_WRAPPED)],
                Annotated[DataChunk, Tag(_CUSTOM)],
            )
        ],
        Discriminator(
            chunk_tag,
            custom_error_type="unknown_chunk_type",
            custom_error_message="unknown chunk type",
        ),
    ]
"""Any chunk: agent, workflow, network, or wrapped."""

WrappedChunk.model_rebuild(_types_namespace={"Chunk": Chunk})

CHUNK_ADAPTER: TypeAdapter[Chunk] = TypeAdapter(Chunk)
"""The one validator for wire chunks (``validate_python``, ``validate_json``)."""


def parse_chunk(data: str | bytes | bytearray | Mapping[str, Any] | ChunkBase) -> Chunk:
    """Parse one chunk from wire JSON (text or bytes) or a dict with wire (camelCase) keys.

    Extra payload keys are kept and absent optional fields stay absent, so
    ``parse_chunk(x).model_dump(by_alias=True) == x`` for wire dicts.

    Raises:
        UnknownChunkTypeError: The chunk's ``type`` is not in the vocabulary.
        ChunkParseError: The data is not a valid chunk (the message says which field).
    """
    if isinstance(data, ChunkBase):
        return cast(Chunk, data)
    try:
        if isinstance(data, str | bytes | bytearray):
            return CHUNK_ADAPTER.validate_json(data)
        return CHUNK_ADAPTER.validate_python(data)
    except ValidationError as err:
        raise _parse_error(data, err) from err


def _parse_error(data: object, err: ValidationError) -> ChunkParseError:
    for detail in err.errors(include_url=False):
        if detail["type"] == "unknown_chunk_type":
            kind = _type_at(detail.get("input"))
            return UnknownChunkTypeError(kind)
    details = err.errors(include_url=False)
    kind = str(details[0]["loc"][0]) if details and details[0]["loc"] else "chunk"
    if kind == _WRAPPED:
        kind = "wrapped"
    problems = "; ".join(
        f"{'.'.join(str(part) for part in detail['loc'][1:]) or '<chunk>'}: {detail['msg']}"
        for detail in details
    )
    label = "chunk" if kind == "chunk" else f"{kind} chunk"
    return ChunkParseError(f"invalid {label}: {problems}")


def _type_at(value: object) -> object:
    if isinstance(value, dict):
        return value.get("type")
    return getattr(value, "type", value)


def _parse_step_output(value: Any) -> Any:
    """Parse a nested output value as a chunk when it is an enveloped one; keep it otherwise.

    Used for ``workflow-step-output`` and ``tool-output``. A value without an envelope (say
    ``{"type": "data-x", "data": 1}`` passed to ``writer.write``) stays the value written.
    """
    if isinstance(value, dict) and "type" in value and chunk_tag(value) not in (None, _CUSTOM):
        try:
            return CHUNK_ADAPTER.validate_python(value)
        except ValidationError:
            return value
    return value


WorkflowStepOutputPayload.parse_output = staticmethod(_parse_step_output)
ToolOutputPayload.parse_output = staticmethod(_parse_step_output)

__all__ = (
    "CHUNK_ADAPTER",
    "CHUNK_CLASSES",
    "MISSING",
    "Chunk",
    "ChunkBase",
    "CompactChunk",
    "ErrorInfo",
    "Payload",
    "Source",
    "WireModel",
    "WrappedChunk",
    "chunk_tag",
    "compact_chunk",
    "compact_json",
    "compact_text",
    "expand_chunk",
    "parse_chunk",
    "text_delta_shape",
    *_agent.__all__,
    *_network.__all__,
    *_workflow.__all__,
)
