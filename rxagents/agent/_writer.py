"""The tool writer: what a running tool sends to the stream before its result.

``await ctx.writer.write(value)`` emits a ``tool-output`` chunk of the calling run, between the
call's ``tool-call`` and its ``tool-result``; ``await ctx.writer.custom({"type": "data-…", …})``
emits that chunk verbatim (a :class:`~rxagents.events.DataChunk`). The writer is also an Rx
observer (a nested run's Observable can be subscribed into it), and :meth:`ToolWriter.pipe` /
:meth:`ToolWriter.pipe_text` forward a nested agent's stream in one line.

Writes are emitted at once, in the order they were made, also from a sync tool's worker thread
(they hop to the run's event loop; the call's result comes after them). Once the call has ended
(returned, failed, or was cancelled) the writer is closed: a write raises
:class:`~rxagents.errors.WriterClosedError` and nothing is emitted out of place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Generator, Mapping
from typing import Any, final

from pydantic import BaseModel, ValidationError
from reactivex import abc

from rxagents._core.wire import trusted_builder
from rxagents.errors import InvalidInputError, WriterClosedError
from rxagents.events import (
    CHUNK_CLASSES,
    ChunkBase,
    DataChunk,
    TextDelta,
    ToolOutput,
    ToolOutputPayload,
)
from rxagents.operators import usage_of
from rxagents.usage import Usage

__all__ = ("ToolWriter",)

_log = logging.getLogger("rxagents.agent")

_tool_output = trusted_builder(ToolOutput, "run_id", "payload")
_tool_output_payload = trusted_builder(ToolOutputPayload, "output", "tool_call_id", "tool_name")

Emit = Callable[[ChunkBase], None]
"""Where a writer's chunks go: the run's emit, called on the run's event loop."""


class _Written:
    """What ``write`` returns: already done (the chunk was emitted), but awaitable."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # a generator that ends at once


_WRITTEN = _Written()


@final
class ToolWriter(abc.ObserverBase[Any]):
    """Writes a running tool's progress into its run's stream (``ctx.writer``).

    Example:
        >>> from rxagents.agent import ToolContext, tool
        >>> @tool(description="Count slowly, reporting progress.")
        ... async def count(n: int, ctx: ToolContext) -> int:
        ...     for i in range(n):
        ...         await ctx.writer.write({"done": i + 1, "of": n})
        ...     await ctx.writer.custom({"type": "data-progress", "data": {"pct": 100}})
        ...     return n

    A tool called directly (``await tool.run(args)``, outside an agent) gets a detached writer
    that keeps what it was given in :attr:`written`, so tools can be tested alone.
    """

    __slots__ = (
        "_closed",
        "_emit",
        "_loop",
        "_nested",
        "run_id",
        "tool_call_id",
        "tool_name",
        "written",
    )

    def __init__(
        self,
        run_id: str,
        tool_call_id: str,
        tool_name: str,
        emit: Emit | None = None,
    ) -> None:
        self.run_id = run_id
        """The run the chunks belong to."""
        self.tool_call_id = tool_call_id
        """The call that writes."""
        self.tool_name = tool_name
        """The tool's name."""
        self.written: list[ChunkBase] = []
        """The chunks a detached writer was given (always empty inside a run)."""
        self._emit = emit
        self._loop: asyncio.AbstractEventLoop | None = None
        if emit is not None:
            self._loop = asyncio.get_running_loop()
        self._closed = False
        self._nested = Usage.zero

    @property
    def closed(self) -> bool:
        """Whether the call ended: writing now raises :class:`WriterClosedError`."""
        return self._closed

    @property
    def hidden_usage(self) -> Usage:
        """Usage of nested model calls the stream shows nowhere else (``pipe_text``)."""
        return self._nested

    # --- writing --------------------------------------------------------------------------

    def write(self, value: Any) -> Awaitable[None]:
        """Emit ``value`` as a ``tool-output`` chunk (``payload.output``); await the result.

        ``value`` is any JSON-compatible value, a pydantic model (dumped) or a chunk of a nested
        run (kept whole, with its own envelope). The chunk is emitted before this returns; the
        result may be awaited (``await ctx.writer.write(x)``) or not (a sync tool).

        Raises:
            WriterClosedError: The call has ended.
            InvalidInputError: ``value`` is not JSON-compatible.
        """
        self._write(value)
        return _WRITTEN

    def custom(self, chunk: Mapping[str, Any] | DataChunk) -> Awaitable[None]:
        """Emit ``chunk`` verbatim, without the envelope: ``{"type": "data-…", "data": …}``.

        Keys are kept as given (``id``, ``transient`` and any other). The type should start with
        ``data-`` (the AI SDK's data parts); any type outside the chunk vocabulary is accepted.

        Raises:
            WriterClosedError: The call has ended.
            InvalidInputError: No string ``type``, a type of the chunk vocabulary, an envelope
                key (``runId``, ``from``, ``payload``), or values that are not JSON-compatible.
        """
        if isinstance(chunk, DataChunk):
            data = chunk.model_dump(by_alias=True)
        elif isinstance(chunk, Mapping):
            data = dict(chunk)
        else:
            raise InvalidInputError(
                f"writer.custom() takes a mapping with a 'type', not {type(chunk).__name__}"
            )
        kind = data.get("type")
        if not isinstance(kind, str) or not kind:
            raise InvalidInputError("writer.custom() needs a chunk with a string 'type'")
        if kind in CHUNK_CLASSES:
            raise InvalidInputError(
                f"writer.custom() cannot emit a {kind!r} chunk: that type belongs to the chunk "
                "vocabulary; use a 'data-' type, or writer.write() for a value"
            )
        envelope = sorted({"runId", "from", "payload"} & data.keys())
        if envelope:
            raise InvalidInputError(
                f"a custom chunk has no envelope; remove {', '.join(map(repr, envelope))}"
            )
        try:
            built = DataChunk.model_validate({**_json_value(data), "run_id": self.run_id})
        except ValidationError as err:
            raise InvalidInputError(f"invalid custom chunk: {err.errors()[0]['msg']}") from err
        self._send(built)
        return _WRITTEN

    async def pipe(self, stream: AsyncIterable[ChunkBase]) -> None:
        """Forward every chunk of a nested run (an :class:`AgentStream` …) as ``tool-output``.

        Each chunk arrives whole, with the nested run's own ``runId``; its usage is counted in
        the calling run's usage through the nested ``step-finish`` chunks. When the tool is
        cancelled, the nested run is cancelled too.
        """
        try:
            async for chunk in stream:
                self._write(chunk)
        except BaseException:
            _cancel(stream)
            raise

    async def pipe_text(self, stream: AsyncIterable[ChunkBase]) -> None:
        """Forward only the text of a nested run: one ``tool-output`` per text delta (a string).

        The nested run's usage is added to the calling run's usage and carried on this call's
        ``tool-result`` (``payload.usage``), since no nested ``step-finish`` reaches the stream.
        When the tool is cancelled, the nested run is cancelled too.
        """
        try:
            async for chunk in stream:
                if type(chunk) is TextDelta:
                    self._write(chunk.payload.text)
                    continue
                usage = usage_of(chunk)
                if usage is not None:
                    self._nested = self._nested + usage
        except BaseException:
            _cancel(stream)
            raise

    # --- the Rx observer side -------------------------------------------------------------

    def on_next(self, value: Any) -> None:
        """Write ``value`` (a nested run's chunk, or any JSON value) as ``tool-output``."""
        self._write(value)

    def on_error(self, error: Exception) -> None:
        """A nested source failed: nothing to write (the tool decides what happens)."""

    def on_completed(self) -> None:
        """A nested source completed: nothing to write."""

    # --- the loop's side ------------------------------------------------------------------

    def _write(self, value: Any) -> None:
        if not isinstance(value, ChunkBase):
            value = _json_value(value)
        payload = _tool_output_payload(value, self.tool_call_id, self.tool_name)
        self._send(_tool_output(self.run_id, payload))

    def close(self) -> None:
        """End the call's window: later writes raise :class:`WriterClosedError`."""
        self._closed = True

    def _send(self, chunk: ChunkBase) -> None:
        if self._closed:
            raise WriterClosedError(
                f"tool {self.tool_name!r} (call {self.tool_call_id}) wrote after its call ended; "
                "write only while the tool runs"
            )
        emit = self._emit
        if emit is None:
            self.written.append(chunk)
            return
        loop = self._loop
        assert loop is not None
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            emit(chunk)
        else:  # a sync tool's worker thread: emitted on the loop, before the call's result
            loop.call_soon_threadsafe(self._send_from_thread, chunk)

    def _send_from_thread(self, chunk: ChunkBase) -> None:
        if self._closed:  # the call ended while the write crossed threads
            _log.warning("tool %r wrote after its call ended: dropped", self.tool_name)
            return
        emit = self._emit
        assert emit is not None
        emit(chunk)


def _json_value(value: Any) -> Any:
    """``value`` as JSON data: models dumped; anything JSON cannot carry is refused."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInputError(f"cannot write {value!r}: JSON has no NaN or Infinity")
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"cannot write a mapping with a {type(key).__name__} key")
            out[key] = _json_value(item)
        return out
    raise InvalidInputError(f"cannot write a {type(value).__name__}: it is not JSON-compatible")


def _cancel(stream: object) -> None:
    cancel = getattr(stream, "cancel", None)
    if callable(cancel):
        cancel()
