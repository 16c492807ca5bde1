"""Map agent, workflow and network chunks onto AI SDK v5 UI message chunks.

One :class:`UIStreamMapper` per subscription turns each of our chunks into zero or more UI
message chunks (plain dicts, the wire shape of the ``ai`` package's ``uiMessageChunkSchema``).
It keeps what the strict checker and ``useChat`` need: one ``start`` first; content only inside
``start-step … finish-step``; every ``text-start``/``reasoning-start`` closed by its ``*-end``
before ``finish-step``, ``error``, ``abort`` or ``finish``; tool input before tool output; one
``finish`` last and nothing after it.

Nested content (an agent used as a workflow step) may overlap when steps run in parallel, so
steps are reference-counted: the UI step opens with the first nested step and finishes with the
last. Nested text, reasoning and tool ids are qualified with the nested run id, since two agents
may use the same model ids. Workflow and network state travels as a ``data-workflow`` /
``data-network`` part re-sent with the same ``id`` (the run id) whenever it changes; the client
replaces the part's data each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, TypeAlias

from pydantic import MISSING, BaseModel

from rxagents.events import ChunkBase, ErrorInfo
from rxagents.usage import Usage

__all__ = ("V5_FINISH_REASONS", "AiSdkSource", "UIMessageChunk", "UIStreamMapper")

UIMessageChunk: TypeAlias = dict[str, Any]
"""One AI SDK v5 UI message chunk, as the JSON object sent on the wire."""

AiSdkSource = Literal["agent", "workflow", "network"]
"""Which kind of run a stream comes from."""

V5_FINISH_REASONS: Final = frozenset(
    {"stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"}
)
"""The ``finishReason`` values the AI SDK v5 client accepts."""

_WORKFLOW_REASONS: Final = {"success": "stop", "failed": "error"}


def _error_text(error: object) -> str:
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


def _json(value: Any) -> Any:
    """Return ``value`` as plain JSON data (models dumped with their wire names)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


def _usage(value: Any) -> Any:
    return value.model_dump(by_alias=True) if isinstance(value, Usage) else None


def _present(value: Any) -> bool:
    """Whether an optional payload field was given (absent fields hold pydantic's MISSING)."""
    return value is not None and value is not MISSING


class UIStreamMapper:
    """Turn one run's chunks into UI message chunks; one instance per subscription.

    Call :meth:`feed` with each chunk and :meth:`complete` or :meth:`fail` at the end; each
    returns the UI chunks to send, in order.
    """

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
        self._workflow: dict[str, Any] | None = None
        self._workflow_id = ""
        self._network: dict[str, Any] | None = None
        self._network_id = ""
        self._network_text: str | None = None
        self._network_texts = 0
        self._has_network_text = False
        self._network_usage = Usage.zero
        self._handlers: dict[str, Callable[[Any], None]] = {
            "start": self._on_start,
            "step-start": self._on_step_start,
            "step-finish": self._on_step_finish,
            "text-start": self._on_text_start,
            "text-delta": self._on_text_delta,
            "text-end": self._on_text_end,
            "reasoning-start": self._on_reasoning_start,
            "reasoning-delta": self._on_reasoning_delta,
            "reasoning-end": self._on_reasoning_end,
            "tool-call-input-streaming-start": self._on_tool_input_start,
            "tool-call-delta": self._on_tool_input_delta,
            "tool-call": self._on_tool_call,
            "tool-result": self._on_tool_result,
            "tool-error": self._on_tool_error,
            "source": self._on_source,
            "file": self._on_file,
            "error": self._on_error,
            "abort": self._on_abort,
            "finish": self._on_finish,
            "workflow-start": self._on_workflow_start,
            "workflow-step-start": self._on_workflow_step,
            "workflow-step-result": self._on_workflow_step,
            "workflow-step-suspended": self._on_workflow_step,
            "workflow-step-output": self._on_workflow_step_output,
            "workflow-finish": self._on_workflow_finish,
            "routing-agent-start": self._on_routing_start,
            "routing-agent-end": self._on_routing_end,
            "routing-agent-text-start": self._on_network_text_start,
            "routing-agent-text-delta": self._on_network_text_delta,
            "agent-execution-start": self._on_execution_start,
            "workflow-execution-start": self._on_execution_start,
            "agent-execution-end": self._on_execution_end,
            "workflow-execution-end": self._on_execution_end,
            "tool-execution-start": self._on_tool_execution_start,
            "tool-execution-end": self._on_tool_execution_end,
            "network-execution-event-step-finish": self._on_network_step_finish,
            "network-execution-event-finish": self._on_network_finish,
        }

    # --- driving ------------------------------------------------------------------------

    def feed(self, chunk: ChunkBase) -> list[UIMessageChunk]:
        """Map one chunk; return the UI chunks it produces (often one, sometimes none)."""
        if self._finished:
            return []
        out: list[UIMessageChunk] = []
        self._out = out
        kind = chunk.type
        if self._network_text is not None and not kind.startswith("routing-agent-text-"):
            self._end_network_text()
        handler = self._handlers.get(kind)
        if handler is not None:
            handler(chunk)
        return out

    def complete(self) -> list[UIMessageChunk]:
        """End the stream: close what is open, then ``finish`` unless it was already sent."""
        out: list[UIMessageChunk] = []
        self._out = out
        if not self._finished:
            self._finish(None)
        return out

    def fail(self, error: BaseException) -> list[UIMessageChunk]:
        """End the stream after a failure: close what is open, ``error``, then ``finish``."""
        out: list[UIMessageChunk] = []
        self._out = out
        if not self._finished:
            self._ensure_start()
            self._close_step_fully()
            out.append({"type": "error", "errorText": _error_text(error)})
            self._finish("error")
        return out

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
        self._end_network_text()
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
        if _present(metadata):
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
        if _present(metadata):
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
                "input": _json(args) if _present(args) else None,
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

    # --- agent chunks -------------------------------------------------------------------

    def _on_start(self, chunk: Any) -> None:
        message_id = chunk.payload.message_id
        self._ensure_start(message_id if isinstance(message_id, str) else None)

    def _on_step_start(self, chunk: Any) -> None:
        self._open_step()

    def _on_step_finish(self, chunk: Any) -> None:
        self._close_step()

    def _on_text_start(self, chunk: Any) -> None:
        payload = chunk.payload
        self._text_start(payload.id, payload.provider_metadata)

    def _on_text_delta(self, chunk: Any) -> None:
        payload = chunk.payload
        block = payload.id
        if block not in self._text:
            self._text_start(block)
        self._out.append({"type": "text-delta", "id": block, "delta": payload.text})

    def _on_text_end(self, chunk: Any) -> None:
        self._text_end(chunk.payload.id)

    def _on_reasoning_start(self, chunk: Any) -> None:
        payload = chunk.payload
        self._reasoning_start(payload.id, payload.provider_metadata)

    def _on_reasoning_delta(self, chunk: Any) -> None:
        payload = chunk.payload
        self._reasoning_delta(payload.id, payload.text)

    def _on_reasoning_end(self, chunk: Any) -> None:
        self._reasoning_end(chunk.payload.id)

    def _on_tool_input_start(self, chunk: Any) -> None:
        payload = chunk.payload
        self._tool_input_start(payload.tool_call_id, payload.tool_name)

    def _on_tool_input_delta(self, chunk: Any) -> None:
        payload = chunk.payload
        name = payload.tool_name if isinstance(payload.tool_name, str) else None
        self._tool_input_delta(payload.tool_call_id, name, payload.args_text_delta)

    def _on_tool_call(self, chunk: Any) -> None:
        payload = chunk.payload
        self._tool_input_available(payload.tool_call_id, payload.tool_name, payload.args)

    def _on_tool_result(self, chunk: Any) -> None:
        payload = chunk.payload
        call_id = payload.tool_call_id
        part = {"type": "tool-output-available", "toolCallId": call_id, "output": payload.result}
        self._tool_output(call_id, payload.tool_name, payload.args, part)

    def _on_tool_error(self, chunk: Any) -> None:
        payload = chunk.payload
        call_id = payload.tool_call_id
        part = {
            "type": "tool-output-error",
            "toolCallId": call_id,
            "errorText": _error_text(payload.error),
        }
        self._tool_output(call_id, payload.tool_name, payload.args, part)

    def _on_source(self, chunk: Any) -> None:
        data = chunk.payload.model_dump(by_alias=True)
        source_id = str(data.get("id", ""))
        if data.get("sourceType") == "document" or "url" not in data:
            part: UIMessageChunk = {
                "type": "source-document",
                "sourceId": source_id,
                "mediaType": str(data.get("mimeType") or data.get("mediaType") or ""),
                "title": str(data.get("title") or ""),
            }
            if data.get("filename"):
                part["filename"] = str(data["filename"])
        else:
            part = {"type": "source-url", "sourceId": source_id, "url": str(data["url"])}
            if data.get("title"):
                part["title"] = str(data["title"])
        self._ensure_step()
        self._out.append(part)

    def _on_file(self, chunk: Any) -> None:
        data = chunk.payload.model_dump(by_alias=True)
        media_type = str(data.get("mimeType") or data.get("mediaType") or "")
        raw = data.get("base64") or data.get("data") or ""
        url = raw if str(raw).startswith(("data:", "http:", "https:")) else None
        if url is None:
            url = f"data:{media_type};base64,{raw}"
        self._ensure_step()
        self._out.append({"type": "file", "url": str(url), "mediaType": media_type})

    def _on_error(self, chunk: Any) -> None:
        self._ensure_start()
        self._close_parts()
        self._out.append({"type": "error", "errorText": _error_text(chunk.payload.error)})

    def _on_abort(self, chunk: Any) -> None:
        self._ensure_start()
        self._close_step_fully()
        self._out.append({"type": "abort"})
        self._finished = True

    def _on_finish(self, chunk: Any) -> None:
        reason = chunk.payload.step_result.reason
        self._finish(reason if isinstance(reason, str) else None)

    # --- nested chunks --------------------------------------------------------------------

    def _nested_agent_chunk(self, chunk: Any) -> None:
        """Show an agent's content inside another run (a workflow step), ids qualified."""
        kind = chunk.type
        scope = chunk.run_id
        payload = chunk.payload
        if kind == "step-start":
            self._open_step()
        elif kind == "step-finish":
            self._close_step()
        elif kind == "text-start":
            self._text_start(f"{scope}:{payload.id}")
        elif kind == "text-delta":
            self._text_delta(f"{scope}:{payload.id}", payload.text)
        elif kind == "text-end":
            self._text_end(f"{scope}:{payload.id}")
        elif kind == "reasoning-start":
            self._reasoning_start(f"{scope}:{payload.id}")
        elif kind == "reasoning-delta":
            self._reasoning_delta(f"{scope}:{payload.id}", payload.text)
        elif kind == "reasoning-end":
            self._reasoning_end(f"{scope}:{payload.id}")
        elif kind == "tool-call-input-streaming-start":
            self._tool_input_start(f"{scope}:{payload.tool_call_id}", payload.tool_name)
        elif kind == "tool-call-delta":
            name = payload.tool_name if isinstance(payload.tool_name, str) else None
            self._tool_input_delta(f"{scope}:{payload.tool_call_id}", name, payload.args_text_delta)
        elif kind == "tool-call":
            self._tool_input_available(
                f"{scope}:{payload.tool_call_id}", payload.tool_name, payload.args
            )
        elif kind in ("tool-result", "tool-error"):
            call_id = f"{scope}:{payload.tool_call_id}"
            if kind == "tool-result":
                part = {"type": "tool-output-available", "toolCallId": call_id}
                part["output"] = payload.result
            else:
                part = {"type": "tool-output-error", "toolCallId": call_id}
                part["errorText"] = _error_text(payload.error)
            self._tool_output(call_id, payload.tool_name, payload.args, part)
        elif kind in ("finish", "abort", "error"):
            self._close_nested(scope)

    def _close_nested(self, scope: str) -> None:
        prefix = f"{scope}:"
        for block in [b for b in self._text if b.startswith(prefix)]:
            self._text_end(block)
        for block in [b for b in self._reasoning if b.startswith(prefix)]:
            self._reasoning_end(block)

    # --- workflows ------------------------------------------------------------------------

    def _workflow_part(self, run_id: str) -> None:
        state = self._workflow
        if state is None:
            return
        data = dict(state)
        data["steps"] = {key: dict(step) for key, step in state["steps"].items()}
        self._out.append({"type": "data-workflow", "id": run_id, "data": data})

    def _on_workflow_start(self, chunk: Any) -> None:
        self._ensure_start()
        name = chunk.payload.workflow_id
        if self._workflow is None:
            self._workflow_id = chunk.run_id
            self._workflow = {"name": name, "status": "running", "steps": {}, "output": None}
        else:
            self._workflow["status"] = "running"
        self._workflow_part(chunk.run_id)

    def _on_workflow_step(self, chunk: Any) -> None:
        state = self._workflow
        if state is None:
            self._on_workflow_start(_FakeStart(chunk.run_id))
            state = self._workflow
            assert state is not None
        payload = chunk.payload
        steps: dict[str, Any] = state["steps"]
        step = steps.get(payload.id)
        if step is None or chunk.type == "workflow-step-start":
            step = steps[payload.id] = {
                "name": payload.id,
                "status": "running",
                "input": _json(payload.payload),
                "output": None,
                "suspendPayload": None,
                "resumePayload": (
                    _json(payload.resume_payload) if _present(payload.resume_payload) else None
                ),
            }
        step["status"] = payload.status
        if chunk.type == "workflow-step-result":
            if _present(payload.output):
                step["output"] = _json(payload.output)
            if _present(payload.error):
                step["error"] = _error_text(payload.error)
        elif chunk.type == "workflow-step-suspended":
            step["suspendPayload"] = _json(payload.suspend_payload)
            state["status"] = "suspended"
        self._workflow_part(chunk.run_id)

    def _on_workflow_step_output(self, chunk: Any) -> None:
        output = chunk.payload.output
        if isinstance(output, ChunkBase):
            if output.from_ == "AGENT":
                self._nested_agent_chunk(output)
        elif isinstance(output, dict):
            kind = output.get("type")
            if isinstance(kind, str) and kind.startswith("data-") and "data" in output:
                part: UIMessageChunk = {"type": kind, "data": output["data"]}
                if isinstance(output.get("id"), str):
                    part["id"] = output["id"]
                self._ensure_start()
                self._out.append(part)

    def _on_workflow_finish(self, chunk: Any) -> None:
        payload = chunk.payload
        self._ensure_start()
        self._close_step_fully()
        state = self._workflow
        if state is None:
            self._on_workflow_start(_FakeStart(chunk.run_id))
            state = self._workflow
            assert state is not None
        status = payload.workflow_status
        state["status"] = status
        state["output"] = {"usage": _usage(payload.output.usage)}
        if _present(payload.final_workflow_result):
            state["result"] = _json(payload.final_workflow_result)
        self._workflow_part(chunk.run_id)
        self._finish(_WORKFLOW_REASONS.get(status, "other"))

    # --- networks -------------------------------------------------------------------------

    def _network_part(self) -> None:
        state = self._network
        if state is None:
            return
        data = dict(state)
        data["steps"] = [dict(step) for step in state["steps"]]
        self._out.append({"type": "data-network", "id": self._network_id, "data": data})

    def _network_state(self, chunk: Any, name: str = "") -> dict[str, Any]:
        if self._network is None:
            self._ensure_start()
            self._network_id = chunk.run_id
            self._network = {
                "name": name,
                "status": "running",
                "steps": [],
                "usage": None,
                "output": None,
            }
        return self._network

    def _network_step(self, step_id: object) -> dict[str, Any] | None:
        if self._network is None:
            return None
        for step in reversed(self._network["steps"]):
            if step["id"] == step_id:
                return step  # type: ignore[no-any-return]  # JSON data
        return None

    def _add_network_step(self, chunk: Any, step: dict[str, Any]) -> None:
        state = self._network_state(chunk)
        base = {"status": "running", "output": None, "task": None}
        state["steps"].append({**base, **step})
        self._network_part()

    def _count_usage(self, usage: Any) -> None:
        if self._network is not None and isinstance(usage, Usage):
            self._network_usage = self._network_usage + usage
            self._network["usage"] = self._network_usage.model_dump(by_alias=True)

    def _on_routing_start(self, chunk: Any) -> None:
        payload = chunk.payload
        network_id = payload.network_id if isinstance(payload.network_id, str) else ""
        state = self._network_state(chunk, network_id)
        if not state["name"] and network_id:
            state["name"] = network_id
        data = payload.input_data if isinstance(payload.input_data, dict) else {}
        step_id = (
            payload.run_id if isinstance(payload.run_id, str) else f"routing-{len(state['steps'])}"
        )
        self._add_network_step(
            chunk,
            {
                "id": step_id,
                "name": payload.agent_id if isinstance(payload.agent_id, str) else "routing-agent",
                "iteration": data.get("iteration", 0),
                "input": {"task": data.get("task")},
            },
        )

    def _on_routing_end(self, chunk: Any) -> None:
        payload = chunk.payload
        self._network_state(chunk)
        step = self._network_step(payload.run_id)
        if step is not None:
            step["status"] = "success"
            step["task"] = {
                "id": payload.primitive_id,
                "type": payload.primitive_type,
                "prompt": payload.prompt,
                "reason": payload.selection_reason,
            }
        self._count_usage(payload.usage)
        self._network_part()

    def _on_execution_start(self, chunk: Any) -> None:
        payload = chunk.payload
        args = payload.args if isinstance(payload.args, dict) else {}
        name = payload.agent_id if chunk.type == "agent-execution-start" else payload.workflow_id
        self._add_network_step(
            chunk,
            {
                "id": payload.run_id,
                "name": name,
                "iteration": args.get("iteration", 0),
                "input": {"prompt": args.get("prompt", "")},
            },
        )

    def _on_execution_end(self, chunk: Any) -> None:
        payload = chunk.payload
        self._network_state(chunk)
        step = self._network_step(payload.run_id)
        if step is not None:
            step["status"] = "success"
            step["output"] = _json(payload.result)
        if self._network is not None and _present(payload.result):
            self._network["output"] = _json(payload.result)
        self._network_part()

    def _on_tool_execution_start(self, chunk: Any) -> None:
        args = chunk.payload.args if isinstance(chunk.payload.args, dict) else {}
        self._add_network_step(
            chunk,
            {
                "id": str(args.get("toolCallId", "")),
                "name": str(args.get("toolName", "")),
                "iteration": args.get("iteration", 0),
                "input": args.get("args"),
            },
        )

    def _on_tool_execution_end(self, chunk: Any) -> None:
        payload = chunk.payload
        self._network_state(chunk)
        step = self._network_step(payload.tool_call_id)
        if step is not None:
            step["status"] = "success"
            step["output"] = _json(payload.result)
        if self._network is not None:
            self._network["output"] = _json(payload.result)
        self._network_part()

    def _on_network_text_start(self, chunk: Any) -> None:
        self._network_state(chunk)
        self._end_network_text()
        self._network_texts += 1
        block = f"{self._network_id}-text-{self._network_texts}"
        self._open_step()
        self._text_start(block)
        self._network_text = block
        self._has_network_text = True

    def _on_network_text_delta(self, chunk: Any) -> None:
        if self._network_text is None:
            self._on_network_text_start(chunk)
        assert self._network_text is not None
        self._text_delta(self._network_text, chunk.payload.text)

    def _end_network_text(self) -> None:
        block, self._network_text = self._network_text, None
        if block is not None:
            self._text_end(block)
            self._close_step()

    def _on_network_step_finish(self, chunk: Any) -> None:
        self._network_state(chunk)
        if self._network is not None:
            self._network["output"] = _json(chunk.payload.result)
        self._network_part()

    def _on_network_finish(self, chunk: Any) -> None:
        payload = chunk.payload
        state = self._network_state(chunk)
        result = _json(payload.result)
        if not self._has_network_text and isinstance(result, str) and result:
            self._on_network_text_start(chunk)
            assert self._network_text is not None
            self._text_delta(self._network_text, result)
            self._end_network_text()
        state["status"] = "finished"
        state["output"] = result
        if _present(payload.usage):
            state["usage"] = _usage(payload.usage)
        self._network_part()
        self._finish("stop")


class _FakeStart:
    """Stands in for a missing ``workflow-start`` (a stream joined after it)."""

    type = "workflow-start"

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.payload = _FakeStartPayload()


class _FakeStartPayload:
    workflow_id = ""
