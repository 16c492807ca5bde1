"""Tools that stream, in the UI message stream: data chunks, ``tool-output``, nested runs.

What a running tool writes reaches the UI as AI SDK data parts:

- a data chunk (``ctx.writer.custom``) becomes ``{type, data, id?, transient?}``; other keys
  are dropped (the client's schema knows no others). A chunk without ``data``, or whose type
  does not start with ``data-``, is dropped: the client refuses both (Mastra's conversion
  throws on the first and so ends the whole stream; one odd progress chunk should not);
- a ``tool-output`` whose output is a ``data-*`` value becomes ``{type, data, id?}`` (as in
  Mastra, without ``transient``); any other output is dropped by default (as in Mastra), and so
  is a nested run's text piped as plain strings (``pipe_text``), which cannot be told from
  other written strings.

With ``sub_agents=True``, a nested run whose chunks arrive whole (a sub-agent, or a stream a
tool piped with ``ctx.writer.pipe``) is shown too, in parts of bounded size, so that the bytes
sent grow linearly with the nested output (Mastra's ``data-tool-agent`` parts re-send the whole
nested run so far each time, which grows quadratically):

==================================== =======================================================
nested chunk                         data part (``data`` always holds ``toolCallId``, the
                                     outer call, and ``runId``, the nested run)
==================================== =======================================================
``text-delta`` / ``reasoning-delta`` ``data-tool-agent-delta``, transient (``onData`` only):
                                     ``{type: "text"|"reasoning", id, delta}``
``text-end`` / ``reasoning-end``     ``data-tool-agent-text``, id ``<runId>:<type>:<id>``:
                                     ``{agentId, type, id, text}``, the block's whole text once
``tool-call``, ``tool-result``,      ``data-tool-agent-tool``, id ``<runId>:<toolCallId>``, sent
``tool-error``                       at the call and again at its outcome (the client replaces
                                     it): ``{agentId, call: {toolCallId, toolName, input,
                                     state, output | errorText}}``
``tool-output`` (deeper nesting)     the same rules, the outer call's ``toolCallId`` kept
==================================== =======================================================

A block still open when the nested run, the outer call or the message ends (also by an abort
or a pause) is sent as it stands.
"""

from __future__ import annotations

from typing import Any, Final

from rxagents.adapters.ai_sdk._runs import RunStateParts
from rxagents.adapters.ai_sdk._writer import UIMessageChunk, data_part, error_text, json_data
from rxagents.events import ChunkBase, DataChunk

__all__ = ("ToolOutputParts",)

DELTA: Final = "data-tool-agent-delta"
TEXT: Final = "data-tool-agent-text"
TOOL: Final = "data-tool-agent-tool"

_BLOCKS: Final = {
    "text-start": "text",
    "text-delta": "text",
    "text-end": "text",
    "reasoning-start": "reasoning",
    "reasoning-delta": "reasoning",
    "reasoning-end": "reasoning",
}


class _NestedRun:
    """A nested run being shown: its outer call, agent, open text blocks and tool calls."""

    __slots__ = ("agent_id", "blocks", "call_id", "calls", "run_id")

    def __init__(self, call_id: str, run_id: str) -> None:
        self.call_id = call_id
        self.run_id = run_id
        self.agent_id: str | None = None
        self.blocks: dict[tuple[str, str], list[str]] = {}
        self.calls: dict[str, dict[str, Any]] = {}


class ToolOutputParts(RunStateParts):
    """Data chunks and ``tool-output`` chunks onto data parts (see the module docstring)."""

    def __init__(
        self, *, send_start: bool = True, send_finish: bool = True, sub_agents: bool = False
    ) -> None:
        super().__init__(send_start=send_start, send_finish=send_finish)
        self._sub_agents = sub_agents
        self._nested: dict[str, _NestedRun] = {}

    def _close_step_fully(self) -> None:
        # the message ends (finish, error, abort, a pause): keep what nested runs said so far
        for run in list(self._nested.values()):
            self._end_nested(run)
        super()._close_step_fully()

    def _tool_output(self, call_id: str, name: str, args: Any, part: UIMessageChunk) -> None:
        if self._nested:
            for run in [r for r in self._nested.values() if r.call_id == call_id]:
                self._end_nested(run)
        super()._tool_output(call_id, name, args, part)

    # --- chunks -------------------------------------------------------------------------

    def _on_data_chunk(self, chunk: DataChunk) -> None:
        self._data(data_part(chunk, keep_transient=True))

    def _on_tool_output(self, chunk: Any) -> None:
        payload = chunk.payload
        self._written(payload.tool_call_id, payload.output)

    def _written(self, call_id: str, output: Any) -> None:
        """Show what a tool wrote: a ``data-*`` value, or a nested run's chunk."""
        if isinstance(output, ChunkBase) and not isinstance(output, DataChunk):
            if self._sub_agents:
                self._nested_run_chunk(call_id, output)
            return
        self._data(data_part(output, keep_transient=False))

    def _data(self, part: UIMessageChunk | None) -> None:
        if part is not None:
            self._ensure_start()
            self._out.append(part)

    # --- nested runs --------------------------------------------------------------------

    def _nested_run_chunk(self, call_id: str, chunk: ChunkBase) -> None:
        kind = chunk.type
        if kind == "tool-output":
            self._written(call_id, chunk.payload.output)
            return
        run = self._nested.get(chunk.run_id)
        if run is None:
            if kind in ("finish", "abort", "error"):
                return
            run = self._nested[chunk.run_id] = _NestedRun(call_id, chunk.run_id)
        payload = chunk.payload
        block = _BLOCKS.get(kind)
        if block is not None:
            key = (block, payload.id)
            if kind.endswith("-start"):
                run.blocks.setdefault(key, [])
            elif kind.endswith("-delta"):
                run.blocks.setdefault(key, []).append(payload.text)
                delta = {"type": block, "id": payload.id, "delta": payload.text}
                self._data(
                    {"type": DELTA, "data": self._about(run, delta, agent=False), "transient": True}
                )
            else:
                self._end_block(run, key)
        elif kind == "start":
            agent_id = getattr(payload, "id", None)
            run.agent_id = agent_id if isinstance(agent_id, str) else None
        elif kind == "tool-call":
            call = {
                "toolCallId": payload.tool_call_id,
                "toolName": payload.tool_name,
                "input": json_data(payload.args),
                "state": "input-available",
            }
            run.calls[payload.tool_call_id] = call
            self._tool_part(run, call)
        elif kind in ("tool-result", "tool-error"):
            call = run.calls.pop(payload.tool_call_id, {}) or {
                "toolCallId": payload.tool_call_id,
                "toolName": payload.tool_name,
                "input": json_data(payload.args),
            }
            if kind == "tool-result":
                call.update(state="output-available", output=json_data(payload.result))
            else:
                call.update(state="output-error", errorText=error_text(payload.error))
            self._tool_part(run, call)
        elif kind in ("finish", "abort", "error"):
            self._end_nested(run)

    def _about(self, run: _NestedRun, data: dict[str, Any], *, agent: bool = True) -> Any:
        about: dict[str, Any] = {"toolCallId": run.call_id, "runId": run.run_id}
        if agent and run.agent_id is not None:
            about["agentId"] = run.agent_id
        about.update(data)
        return about

    def _end_block(self, run: _NestedRun, key: tuple[str, str]) -> None:
        pieces = run.blocks.pop(key, None)
        if pieces is None:
            return
        block, block_id = key
        text = {"type": block, "id": block_id, "text": "".join(pieces)}
        self._data(
            {"type": TEXT, "id": f"{run.run_id}:{block}:{block_id}", "data": self._about(run, text)}
        )

    def _tool_part(self, run: _NestedRun, call: dict[str, Any]) -> None:
        self._data(
            {
                "type": TOOL,
                "id": f"{run.run_id}:{call['toolCallId']}",
                "data": self._about(run, {"call": dict(call)}),
            }
        )

    def _end_nested(self, run: _NestedRun) -> None:
        for key in list(run.blocks):
            self._end_block(run, key)
        self._nested.pop(run.run_id, None)
