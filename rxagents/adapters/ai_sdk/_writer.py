"""The UI message being built: start, steps, open parts and tool states, and the finish.

:class:`UIWriter` holds what the strict checker and ``useChat`` need: one ``start`` first;
content only inside ``start-step … finish-step``; every ``text-start``/``reasoning-start``
closed by its ``*-end`` before ``finish-step``, ``error``, ``abort`` or ``finish``; tool input
before tool output; one ``finish`` last and nothing after it. Steps are reference-counted, so
overlapping nested steps (parallel workflow steps) share one UI step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

from pydantic import MISSING, BaseModel

from rxagents.events import DataChunk, ErrorInfo
from rxagents.usage import Usage

__all__ = (
    "V5_FINISH_REASONS",
    "AiSdkSource",
    "UIMessageChunk",
    "UIWriter",
    "data_part",
    "error_text",
    "is_given",
    "json_data",
    "usage_data",
)

UIMessageChunk: TypeAlias = dict[str, Any]
"""One AI SDK v5 UI message chunk, as the JSON object sent on the wire."""

AiSdkSource = Literal["agent", "workflow", "network"]
"""Which kind of run a stream comes from."""

V5_FINISH_REASONS: Final = frozenset(
    {"stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"}
)
"""The ``finishReason`` values the AI SDK v5 client accepts."""


def error_text(error: object) -> str:
    """Return the message of an error in any of the forms chunks carry."""
    if isinstance(error, ErrorInfo):
        return error.message or error.name
    if isinstance(error, BaseException):
        return str(error) or type(error).__name__
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
    return str(error)


def json_data(value: Any) -> Any:
    """Return ``value`` as plain JSON data (models dumped with their wire names)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


def usage_data(value: Any) -> Any:
    """Return a usage as its wire dict, or ``None``."""
    return value.model_dump(by_alias=True) if isinstance(value, Usage) else None


def data_part(value: Any, *, keep_transient: bool) -> UIMessageChunk | None:
    """Return the UI data part for a data chunk or a ``data-*`` value, or ``None``.

    ``None`` when ``value`` is neither, its type does not start with ``data-``, or it has no
    ``data``. The part keeps ``type``, ``data`` and a string ``id``, and ``transient`` when
    ``keep_transient`` is set.
    """
    if isinstance(value, DataChunk):
        kind: Any = value.type
        data: Any = value.data
        part_id: Any = value.id
        transient: Any = value.transient
    elif isinstance(value, Mapping):
        kind = value.get("type")
        data = value.get("data", MISSING)
        part_id = value.get("id")
        transient = value.get("transient")
    else:
        return None
    if not isinstance(kind, str) or not kind.startswith("data-") or data is MISSING:
        return None
    part: UIMessageChunk = {"type": kind, "data": json_data(data)}
    if isinstance(part_id, str):
        part["id"] = part_id
    if keep_transient and isinstance(transient, bool):
        part["transient"] = transient
    return part


def is_given(value: Any) -> bool:
    """Whether an optional payload field was given (absent fields hold pydantic's MISSING)."""
    return value is not None and value is not MISSING


class UIWriter:
    """The message being built; subclasses map chunks onto these methods into ``_out``."""

    def __init__(self, *, send_start: bool = True, send_finish: bool = True) -> None:
        self._send_start = send_start
        self._send_finish = send_finish
        self._out: list[UIMessageChunk] = []
        self._started = False
        self._finished = False
        self._steps = 0
        self._implicit_step = False
        self._text: dict[str, None] = {}
        self._reasoning: dict[str, None] = {}
        self._tools: dict[str, str] = {}
        self._tool_names: dict[str, str] = {}

    def _before_finish(self) -> None:
        """Close what a subclass keeps open (a network's answer) before the finish."""

    # --- the message being built ----------------------------------------------------------

    def _ensure_start(self, message_id: str | None = None) -> None:
        if self._started:
            return
        self._started = True
        if self._send_start:
            start: UIMessageChunk = {"type": "start"}
            if message_id:
                start["messageId"] = message_id
            self._out.append(start)

    def _open_step(self) -> None:
        self._ensure_start()
        if self._implicit_step:
            self._implicit_step = False
            return
        if self._steps == 0:
            self._out.append({"type": "start-step"})
        self._steps += 1

    def _ensure_step(self) -> None:
        if self._steps == 0:
            self._open_step()
            self._implicit_step = True

    def _close_step(self) -> None:
        if self._steps == 0:
            return
        self._steps -= 1
        self._implicit_step = False
        if self._steps == 0:
            self._close_parts()
            self._close_tool_inputs()
            self._out.append({"type": "finish-step"})

    def _close_step_fully(self) -> None:
        if self._steps:
            self._steps = 1
            self._close_step()
        else:
            self._close_parts()

    def _close_parts(self) -> None:
        out = self._out
        for block in self._text:
            out.append({"type": "text-end", "id": block})
        for block in self._reasoning:
            out.append({"type": "reasoning-end", "id": block})
        self._text.clear()
        self._reasoning.clear()

    def _close_tool_inputs(self) -> None:
        for call_id, phase in self._tools.items():
            if phase == "streaming":
                self._tools[call_id] = "input-error"
                self._out.append(
                    {
                        "type": "tool-input-error",
                        "toolCallId": call_id,
                        "toolName": self._tool_names.get(call_id, ""),
                        "input": None,
                        "errorText": "the tool input was not completed",
                    }
                )

    def _finish(self, reason: str | None) -> None:
        self._ensure_start()
        self._before_finish()
        self._close_step_fully()
        self._finished = True
        if self._send_finish:
            finish: UIMessageChunk = {"type": "finish"}
            if reason is not None:
                finish["finishReason"] = reason if reason in V5_FINISH_REASONS else "other"
            self._out.append(finish)

    # --- parts ----------------------------------------------------------------------------

    def _text_start(self, block: str, metadata: Any = None) -> None:
        if block in self._text:
            return
        self._ensure_step()
        self._text[block] = None
        part: UIMessageChunk = {"type": "text-start", "id": block}
        if is_given(metadata):
            part["providerMetadata"] = metadata
        self._out.append(part)

    def _text_delta(self, block: str, text: str) -> None:
        if block not in self._text:
            self._text_start(block)
        self._out.append({"type": "text-delta", "id": block, "delta": text})

    def _text_end(self, block: str) -> None:
        if block in self._text:
            del self._text[block]
            self._out.append({"type": "text-end", "id": block})

    def _reasoning_start(self, block: str, metadata: Any = None) -> None:
        if block in self._reasoning:
            return
        self._ensure_step()
        self._reasoning[block] = None
        part: UIMessageChunk = {"type": "reasoning-start", "id": block}
        if is_given(metadata):
            part["providerMetadata"] = metadata
        self._out.append(part)

    def _reasoning_delta(self, block: str, text: str) -> None:
        if block not in self._reasoning:
            self._reasoning_start(block)
        self._out.append({"type": "reasoning-delta", "id": block, "delta": text})

    def _reasoning_end(self, block: str) -> None:
        if block in self._reasoning:
            del self._reasoning[block]
            self._out.append({"type": "reasoning-end", "id": block})

    def _tool_input_start(self, call_id: str, name: str) -> None:
        if call_id in self._tools:
            return
        self._ensure_step()
        self._tools[call_id] = "streaming"
        self._tool_names[call_id] = name
        self._out.append({"type": "tool-input-start", "toolCallId": call_id, "toolName": name})

    def _tool_input_delta(self, call_id: str, name: str | None, delta: str) -> None:
        phase = self._tools.get(call_id)
        if phase is None and name:
            self._tool_input_start(call_id, name)
            phase = "streaming"
        if phase == "streaming":
            self._out.append(
                {"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": delta}
            )

    def _tool_input_available(self, call_id: str, name: str, args: Any) -> None:
        phase = self._tools.get(call_id)
        if phase is not None and phase != "streaming":
            return
        self._ensure_step()
        self._tools[call_id] = "available"
        self._tool_names[call_id] = name
        self._out.append(
            {
                "type": "tool-input-available",
                "toolCallId": call_id,
                "toolName": self._tool_names.get(call_id, name),
                "input": json_data(args) if is_given(args) else None,
            }
        )

    def _tool_output(self, call_id: str, name: str, args: Any, part: UIMessageChunk) -> None:
        phase = self._tools.get(call_id)
        if phase is None or phase == "streaming":
            self._tool_input_available(call_id, name, args)
        elif phase == "output":
            return
        self._tools[call_id] = "output"
        self._out.append(part)
