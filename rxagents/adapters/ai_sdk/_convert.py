"""Runs to UI message chunks and back: the public conversions and their framing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import pydantic_core
from reactivex import Observable, abc

from rxagents._core.run_stream import RunStream
from rxagents.adapters.ai_sdk._messages import UIMessage, from_ui_messages, to_ui_messages
from rxagents.adapters.ai_sdk._stream import (
    AiSdkSource,
    UIMessageChunk,
    UIStreamMapper,
)
from rxagents.errors import InvalidInputError
from rxagents.events import ChunkBase, parse_chunk

__all__ = (
    "DONE",
    "UI_MESSAGE_STREAM_HEADERS",
    "encode_ui_message_chunk",
    "encode_ui_message_stream",
    "from_ai_sdk_v5_messages",
    "to_ai_sdk_v5_messages",
    "to_ai_sdk_v5_stream",
)

DONE: Final = b"data: [DONE]\n\n"
"""The event that ends a UI message stream."""

UI_MESSAGE_STREAM_HEADERS: Final[Mapping[str, str]] = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}
"""The response headers the AI SDK client expects on a UI message stream."""

_SOURCES: Final = frozenset({"agent", "workflow", "network"})


def to_ai_sdk_v5_stream(
    stream: RunStream[Any] | Observable[Any],
    from_: AiSdkSource = "agent",
    *,
    send_start: bool = True,
    send_finish: bool = True,
    sub_agents: bool = False,
) -> Observable[UIMessageChunk]:
    """Turn a run into AI SDK v5 UI message chunks (dicts with the wire's camelCase keys).

    Each subscription maps the run's chunks as they arrive (a stream object is read through its
    shared ``observable``, so it is not run again). Workflow state is sent as a
    ``data-workflow`` part and network state as a ``data-network`` part, each re-sent with the
    run id as its ``id`` whenever it changes; an agent used as a workflow step shows its text and
    tools in the message (ids qualified by its run id). A network's answer is the text streamed
    by ``routing-agent-text-*``, or its final result when nothing was streamed.

    What tools write while they run: a data chunk (``ctx.writer.custom``) becomes a data part
    ``{type, data, id?, transient?}``; a ``tool-output`` whose output is a ``data-*`` value
    becomes ``{type, data, id?}``; other tool output is dropped unless ``sub_agents`` is set
    (as in Mastra). A data chunk without ``data`` or whose type does not start with ``data-``
    is dropped (the client refuses both).

    A failure of the source becomes in-band: the open parts are closed, then ``error`` and
    ``finish``, and the Observable completes. Disposing the subscription disposes the source.

    Args:
        stream: An agent, workflow or network stream, or an Observable of typed chunks (wire
            dicts are parsed).
        from_: The kind of run: ``"agent"``, ``"workflow"`` or ``"network"``.
        send_start: Send the ``start`` chunk (turn off to append to a message already started).
        send_finish: Send the ``finish`` chunk (turn off to continue the message afterwards).
        sub_agents: Also show nested runs (sub-agents, streams a tool piped whole) as
            ``data-tool-agent-*`` parts whose total size grows linearly with the nested
            output: transient text deltas, each text block once when it ends, each tool call
            at its start and outcome. Off, they are dropped, as in Mastra.

    Raises:
        InvalidInputError: ``from_`` is not one of the three kinds, or ``stream`` is neither a
            stream object nor an Observable.
    """
    if from_ not in _SOURCES:
        raise InvalidInputError(
            f"to_ai_sdk_v5_stream(): from_ must be 'agent', 'workflow' or 'network', got {from_!r}"
        )
    source: Observable[Any]
    if isinstance(stream, RunStream):
        source = stream.observable
    elif isinstance(stream, Observable):
        source = stream
    else:
        raise InvalidInputError(
            "to_ai_sdk_v5_stream() takes an agent, workflow or network stream or an "
            f"Observable of chunks, got {type(stream).__name__}"
        )

    def subscribe(
        observer: abc.ObserverBase[UIMessageChunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        mapper = UIStreamMapper(
            send_start=send_start, send_finish=send_finish, sub_agents=sub_agents
        )
        on_next = observer.on_next

        def push(parts: list[UIMessageChunk]) -> None:
            for part in parts:
                on_next(part)

        def next_chunk(chunk: Any) -> None:
            try:
                if not isinstance(chunk, ChunkBase):
                    chunk = parse_chunk(chunk)
                parts = mapper.feed(chunk)
            except Exception as err:
                push(mapper.fail(err))
                observer.on_completed()
                return
            for part in parts:
                on_next(part)

        def error(err: Exception) -> None:
            push(mapper.fail(err))
            observer.on_completed()

        def completed() -> None:
            push(mapper.complete())
            observer.on_completed()

        return source.subscribe(next_chunk, error, completed, scheduler=scheduler)

    return Observable(subscribe)


def encode_ui_message_chunk(chunk: Mapping[str, Any]) -> bytes:
    r"""Encode one UI message chunk as an SSE event: ``data: <json>\n\n``."""
    return b"data: " + pydantic_core.to_json(chunk) + b"\n\n"


def encode_ui_message_stream(source: Observable[UIMessageChunk]) -> Observable[bytes]:
    r"""Frame UI message chunks as server-sent events, ending with ``data: [DONE]\n\n``.

    Each chunk becomes one ``data: <json>\n\n`` event (LF line endings, one line of JSON); the
    final ``[DONE]`` event follows completion. Errors pass through unchanged.
    """

    def subscribe(
        observer: abc.ObserverBase[bytes], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        to_json = pydantic_core.to_json

        def next_chunk(chunk: UIMessageChunk) -> None:
            observer.on_next(b"data: " + to_json(chunk) + b"\n\n")

        def completed() -> None:
            observer.on_next(DONE)
            observer.on_completed()

        return source.subscribe(next_chunk, observer.on_error, completed, scheduler=scheduler)

    return Observable(subscribe)


def to_ai_sdk_v5_messages(
    messages: Sequence[Mapping[str, Any]], *, generate_id: Callable[[], str] | None = None
) -> list[UIMessage]:
    """Convert stored prompt messages into AI SDK v5 ``UIMessage``s.

    Consecutive assistant and tool messages become one assistant UI message: a ``step-start``
    part per model call, ``text`` and ``reasoning`` parts, and a ``tool-<name>`` part per tool
    call whose ``state`` is ``output-available`` (with ``input`` and ``output``),
    ``output-error`` (with ``errorText``) or ``input-available`` when no result was stored.

    Args:
        messages: ``{role, content}`` dicts (``content`` a string or a list of parts), as an
            agent's ``response_messages`` or a memory thread holds them; an ``id`` is kept.
        generate_id: Makes ids for messages without one (default: random hex).

    Raises:
        InvalidInputError: A message has an unknown role or unusable content.

    Example:
        >>> to_ai_sdk_v5_messages([{"id": "u1", "role": "user", "content": "Hi"}])
        [{'id': 'u1', 'role': 'user', 'parts': [{'type': 'text', 'text': 'Hi'}]}]
    """
    return to_ui_messages(messages, generate_id=generate_id)


def from_ai_sdk_v5_messages(ui_messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Read the ``UIMessage``s a ``useChat`` client posts into prompt messages.

    Assistant messages are split at their ``step-start`` parts into one assistant message per
    model call, followed by a tool message with the results of its finished tool calls (as the
    AI SDK's ``convertToModelMessages`` does). ``data-*`` parts, sources and tool calls still
    streaming their input are dropped.

    Raises:
        InvalidInputError: A message is not a UI message (the error names the bad field).

    Example:
        >>> from_ai_sdk_v5_messages(
        ...     [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]
        ... )
        [{'role': 'user', 'content': [{'type': 'text', 'text': 'hi'}]}]
    """
    return from_ui_messages(ui_messages)
