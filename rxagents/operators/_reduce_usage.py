"""``reduce_usage`` and ``usage_of``: sum each model call's usage exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import MISSING
from reactivex import Observable, abc

from rxagents.events import (
    Chunk,
    ChunkBase,
    NetworkValidationEnd,
    RoutingAgentEnd,
    StepFinish,
    ToolError,
    ToolOutput,
    ToolResult,
    WorkflowStepOutput,
    WrappedChunk,
)
from rxagents.usage import Usage

__all__ = ("reduce_usage", "usage_of")

_Extract = Callable[[Any], "Usage | None"]


def _step_finish(chunk: StepFinish) -> Usage:
    return chunk.payload.output.usage


def _optional(chunk: RoutingAgentEnd | NetworkValidationEnd) -> Usage | None:
    usage = chunk.payload.usage
    return None if usage is MISSING else usage


def _wrapped(chunk: WrappedChunk) -> Usage | None:
    return usage_of(chunk.payload)


def _step_output(chunk: WorkflowStepOutput | ToolOutput) -> Usage | None:
    output = chunk.payload.output
    return usage_of(output) if isinstance(output, ChunkBase) else None


def _tool_end(chunk: ToolResult | ToolError) -> Usage | None:
    usage = chunk.payload.usage
    return None if usage is MISSING else usage


_PER_CALL: tuple[tuple[type[ChunkBase], _Extract], ...] = (
    (StepFinish, _step_finish),
    (RoutingAgentEnd, _optional),
    (NetworkValidationEnd, _optional),
    (WrappedChunk, _wrapped),
    (WorkflowStepOutput, _step_output),
    (ToolOutput, _step_output),
    (ToolResult, _tool_end),
    (ToolError, _tool_end),
)

# Keyed by exact class: one dict lookup per chunk. Other classes (subclasses, non-chunks) are
# resolved once with isinstance and remembered; None means "carries no per-call usage".
_BY_CLASS: dict[type, _Extract | None] = dict(_PER_CALL)
_UNKNOWN: Any = object()


def _resolve(cls: type) -> _Extract | None:
    extract = next((fn for base, fn in _PER_CALL if issubclass(cls, base)), None)
    _BY_CLASS[cls] = extract
    return extract


def usage_of(chunk: ChunkBase) -> Usage | None:
    """Return the usage of the model call that ``chunk`` reports, or ``None``.

    Usage is reported where a model call ends: ``step-finish`` (``payload.output.usage``),
    ``routing-agent-end`` and ``network-validation-end`` (``payload.usage``, when present). The
    same chunks are found inside wrapped chunks (``agent-execution-event-step-finish``, at any
    depth), inside ``workflow-step-output`` (whose ``output`` may itself be wrapped) and inside
    ``tool-output`` (a nested agent's or a sub-agent's chunks, at any depth). A ``tool-result``
    or ``tool-error`` carries ``payload.usage`` only for nested calls the stream shows nowhere
    else (a nested agent piped as text), and that counts too. Aggregate
    totals (``finish``, ``workflow-finish``, ``agent-execution-end``, ``workflow-execution-end``,
    ``network-execution-event-finish``) give ``None``, so summing ``usage_of`` over a stream
    counts every model call exactly once. Anything that is not a chunk gives ``None``.

    This is the function :func:`reduce_usage` folds with; the runtimes count a run's usage with
    it too, so ``await stream.usage`` equals ``reduce_usage()`` over the run's stream.

    Example:
        >>> from rxagents.events import StepFinish
        >>> step = StepFinish.model_validate({
        ...     "runId": "r", "payload": {"stepResult": {"reason": "stop"},
        ...     "output": {"usage": {"inputTokens": 15, "outputTokens": 5}}}})
        >>> usage_of(step)
        Usage(input_tokens=15, output_tokens=5, total_tokens=20)
    """
    cls = type(chunk)
    while cls is WrappedChunk:  # the common nesting, unwrapped without a call per level
        chunk = chunk.payload
        cls = type(chunk)
    extract = _BY_CLASS.get(cls, _UNKNOWN)
    if extract is _UNKNOWN:
        extract = _resolve(cls)
    return None if extract is None else extract(chunk)


def reduce_usage() -> Callable[[Observable[Chunk]], Observable[Usage]]:
    """Sum the usage of every model call in the stream; emit the total once, on completion.

    Each model call counts exactly once wherever it is nested (see :func:`usage_of`); aggregate
    totals are never added again. An empty stream gives :data:`Usage.zero`. An error from the
    source is forwarded and nothing is emitted.

    ::

        source:  --[step-finish 15/5]--[text-delta]--[step-finish 30/8]--[finish 45/13]--|
                  reduce_usage()
        result:  ----------------------------------------------------------[45/13]|

    Returns:
        An operator for ``Observable.pipe`` turning a chunk stream into one :class:`Usage`.

    Example:
        >>> import reactivex
        >>> from rxagents.events import StepFinish
        >>> def step(i, o):
        ...     return StepFinish.model_validate({
        ...         "runId": "r", "payload": {"stepResult": {"reason": "stop"},
        ...         "output": {"usage": {"inputTokens": i, "outputTokens": o}}}})
        >>> out = []
        >>> _ = reactivex.of(step(15, 5), step(30, 8)).pipe(reduce_usage()).subscribe(out.append)
        >>> out
        [Usage(input_tokens=45, output_tokens=13, total_tokens=58)]
    """

    def operator(source: Observable[Chunk]) -> Observable[Usage]:
        def subscribe(
            observer: abc.ObserverBase[Usage], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            total = Usage.zero

            def on_next(chunk: Chunk) -> None:
                nonlocal total
                try:
                    usage = usage_of(chunk)
                    if usage is not None:
                        total = total + usage
                except Exception as error:
                    observer.on_error(error)

            def on_completed() -> None:
                observer.on_next(total)
                observer.on_completed()

            return source.subscribe(on_next, observer.on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator
