"""Map agent, workflow and network chunks onto AI SDK v5 UI message chunks.

One :class:`UIStreamMapper` per subscription turns each of our chunks into zero or more UI
message chunks (plain dicts, the wire shape of the ``ai`` package's ``uiMessageChunkSchema``);
:class:`~rxagents.adapters.ai_sdk._writer.UIWriter` keeps the message well formed.

Nested content (an agent used as a workflow step) may overlap when steps run in parallel; its
text, reasoning and tool ids are qualified with the nested run id, since two agents may use the
same model ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rxagents.adapters.ai_sdk._tool_output import ToolOutputParts
from rxagents.adapters.ai_sdk._writer import (
    V5_FINISH_REASONS,
    AiSdkSource,
    UIMessageChunk,
    error_text,
    is_given,
    json_data,
)
from rxagents.events import ChunkBase, DataChunk

__all__ = ("V5_FINISH_REASONS", "AiSdkSource", "UIMessageChunk", "UIStreamMapper")


class UIStreamMapper(ToolOutputParts):
    """Turn one run's chunks into UI message chunks; one instance per subscription.

    Call :meth:`feed` with each chunk and :meth:`complete` or :meth:`fail` at the end; each
    returns the UI chunks to send, in order. ``sub_agents`` shows nested runs (see
    :mod:`~rxagents.adapters.ai_sdk._tool_output`).
    """

    def __init__(
        self, *, send_start: bool = True, send_finish: bool = True, sub_agents: bool = False
    ) -> None:
        super().__init__(send_start=send_start, send_finish=send_finish, sub_agents=sub_agents)
        self._paused = False
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
            "tool-call-approval": self._on_tool_call_paused,
            "tool-call-suspended": self._on_tool_call_paused,
            "tool-output-denied": self._on_tool_output_denied,
            "tool-output": self._on_tool_output,
            "source": self._on_source,
            "file": self._on_file,
            "error": self._on_error,
            "abort": self._on_abort,
            "finish": self._on_finish,
            "workflow-start": self._on_workflow_start,
            "workflow-step-start": self._on_workflow_step,
            "workflow-step-result": self._on_workflow_step,
            "workflow-step-suspended": self._on_workflow_step,
            "workflow-step-waiting": self._on_workflow_step,
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
        elif type(chunk) is DataChunk:
            self._on_data_chunk(chunk)
        return out

    def complete(self) -> list[UIMessageChunk]:
        """End the stream: close what is open, then ``finish`` unless it was already sent.

        A paused run (its stream ended with ``tool-call-approval`` / ``tool-call-suspended``)
        ends as in Mastra, without ``finish``; its open parts and step are closed.
        """
        out: list[UIMessageChunk] = []
        self._out = out
        if self._paused and not self._finished:
            self._close_step_fully()
            self._finished = True
        elif not self._finished:
            self._finish(None)
        return out

    def fail(self, error: BaseException) -> list[UIMessageChunk]:
        """End the stream after a failure: close what is open, ``error``, then ``finish``."""
        out: list[UIMessageChunk] = []
        self._out = out
        if not self._finished:
            self._ensure_start()
            self._close_step_fully()
            out.append({"type": "error", "errorText": error_text(error)})
            self._finish("error")
        return out

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
            "errorText": error_text(payload.error),
        }
        self._tool_output(call_id, payload.tool_name, payload.args, part)

    def _on_tool_call_paused(self, chunk: Any) -> None:
        """A call waits for approval or resume data: a ``data-tool-call-*`` part (Mastra's)."""
        payload = chunk.payload
        call_id = payload.tool_call_id
        kind = f"data-{chunk.type}"
        data: dict[str, Any] = {
            "state": kind,
            "runId": chunk.run_id,
            "toolCallId": call_id,
            "toolName": payload.tool_name,
        }
        if chunk.type == "tool-call-approval":
            data["args"] = json_data(payload.args) if is_given(payload.args) else None
        else:
            data["suspendPayload"] = json_data(payload.suspend_payload)
        if is_given(payload.resume_schema):
            data["resumeSchema"] = payload.resume_schema
        self._ensure_step()
        self._out.append({"type": kind, "data": data, "id": call_id})
        self._paused = True

    def _on_tool_output_denied(self, chunk: Any) -> None:
        """A declined call: AI SDK v5 has no ``tool-output-denied`` (v6 has), so an error."""
        payload = chunk.payload
        call_id = payload.tool_call_id
        part = {
            "type": "tool-output-error",
            "toolCallId": call_id,
            "errorText": payload.approval.reason,
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
        self._out.append({"type": "error", "errorText": error_text(chunk.payload.error)})

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
                part["errorText"] = error_text(payload.error)
            self._tool_output(call_id, payload.tool_name, payload.args, part)
        elif kind == "tool-output":
            self._written(f"{scope}:{payload.tool_call_id}", payload.output)
        elif kind in ("finish", "abort", "error"):
            self._close_nested(scope)

    def _close_nested(self, scope: str) -> None:
        prefix = f"{scope}:"
        for block in [b for b in self._text if b.startswith(prefix)]:
            self._text_end(block)
        for block in [b for b in self._reasoning if b.startswith(prefix)]:
            self._reasoning_end(block)
