"""``unwrap_tool_output``: the chunks of nested runs, out of their ``tool-output`` wrappers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from reactivex import Observable, abc

from rxagents.errors import InvalidInputError
from rxagents.events import Chunk, ChunkBase, DataChunk, ToolOutput

__all__ = ("unwrap_tool_output",)

_ENVELOPE = ("runId", "from", "payload")


def _inner_chunk(output: Any) -> Any:
    """Return ``output`` as a chunk, or ``None`` when it is a plain value.

    A typed chunk is returned as is. A ``data-*`` dict without an envelope is what a nested
    run's data chunk becomes on the wire (and what ``writer.write`` of such a dict gives): it is
    returned as a :class:`DataChunk`, as the AI SDK conversion treats it.
    """
    if isinstance(output, ChunkBase):
        return output
    if (
        isinstance(output, dict)
        and isinstance(kind := output.get("type"), str)
        and kind.startswith("data-")
        and not any(key in output for key in _ENVELOPE)
    ):
        try:
            return DataChunk.model_validate(output)
        except ValidationError:
            return None
    return None


def _check_filter(name: str, value: object) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise InvalidInputError(f"unwrap_tool_output() {name} must be a non-empty str or None")


def unwrap_tool_output(
    tool_name: str | None = None,
    tool_call_id: str | None = None,
    *,
    recursive: bool = False,
) -> Callable[[Observable[Chunk]], Observable[Chunk]]:
    """Emit the nested chunks carried by ``tool-output`` chunks; drop every other chunk.

    A tool that pipes a nested agent (``ctx.writer.pipe``) and a supervisor's delegation to a
    sub-agent (``agent-<key>``) send the nested run's chunks whole, each inside a ``tool-output``
    of the calling run; this gives the nested run's stream back (each chunk keeps its own
    ``runId``). Outputs that are plain values (progress a tool wrote, a string from
    ``pipe_text``) are dropped; an envelope-less ``{"type": "data-…", …}`` output comes out as a
    :class:`~rxagents.events.DataChunk`. ``tool_name`` and ``tool_call_id`` keep only the outputs
    of that tool or call (at the first level). Several calls running at once give their nested
    chunks interleaved, in stream order: ``ops.group_by(lambda c: c.run_id)`` separates them.

    With ``recursive``, a nested chunk that is itself a ``tool-output`` carrying a chunk (a
    sub-agent's own sub-agent) is replaced by what it carries, at any depth: the result holds
    the chunks of every nested run, and none of their ``tool-output`` wrappers around chunks (a
    nested run's ``tool-output`` carrying a plain value is one of its own chunks, and is kept).
    Errors and completion pass through; the source is subscribed once.

    ::

        source:  --[tool-call]--[tool-output{start}]--[tool-output{"50%"}]--[tool-output{finish}]--|
                  unwrap_tool_output()
        result:  ---------------[start]---------------------------------------[finish]-------------|

    Args:
        tool_name: Only outputs of this tool (``"agent-research"``); every tool when omitted.
        tool_call_id: Only outputs of this call; every call when omitted.
        recursive: Also unwrap ``tool-output`` chunks found inside nested runs, at any depth.

    Returns:
        An operator for ``Observable.pipe`` turning a run's stream into its nested runs' chunks.

    Raises:
        InvalidInputError: ``tool_name`` or ``tool_call_id`` is empty or not a string.

    Example:
        >>> import reactivex
        >>> from rxagents.events import ToolOutput, ToolOutputPayload, TextDelta, TextDeltaPayload
        >>> inner = TextDelta(run_id="sub-1", payload=TextDeltaPayload(id="t", text="Hi"))
        >>> def output(value):
        ...     payload = ToolOutputPayload(output=value, tool_call_id="c1",
        ...                                 tool_name="agent-research")
        ...     return ToolOutput(run_id="run-1", payload=payload)
        >>> out = []
        >>> _ = reactivex.of(output({"pct": 50}), output(inner)).pipe(
        ...     unwrap_tool_output("agent-research")
        ... ).subscribe(out.append)
        >>> out == [inner]
        True
    """
    name = _check_filter("tool_name", tool_name)
    call_id = _check_filter("tool_call_id", tool_call_id)

    def operator(source: Observable[Chunk]) -> Observable[Chunk]:
        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            on_next_ = observer.on_next

            def on_next(chunk: Chunk) -> None:
                if not isinstance(chunk, ToolOutput):
                    return
                payload = chunk.payload
                if (name is not None and payload.tool_name != name) or (
                    call_id is not None and payload.tool_call_id != call_id
                ):
                    return
                inner = _inner_chunk(payload.output)
                if recursive:
                    while isinstance(inner, ToolOutput):
                        deeper = _inner_chunk(inner.payload.output)
                        if deeper is None:
                            break
                        inner = deeper
                if inner is not None:
                    on_next_(inner)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return operator
