"""Workflow and network state as ``data-workflow`` / ``data-network`` parts.

The state travels as one data part per run, re-sent with the same ``id`` (the run id) whenever
it changes; the client replaces the part's data each time. A network's answer (its
``routing-agent-text-*`` chunks, or its result when nothing streamed) is text in its own step,
each text block closed before anything else happens, which Mastra's own conversion does not do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Final

from rxagents.adapters.ai_sdk._writer import (
    UIWriter,
    data_part,
    error_text,
    is_given,
    json_data,
    usage_data,
)
from rxagents.events import ChunkBase, DataChunk
from rxagents.usage import Usage

__all__ = ("RunStateParts",)

_WORKFLOW_REASONS: Final = {"success": "stop", "failed": "error"}
_OPENING: Final = ("workflow-step-start", "workflow-step-waiting")  # a sleep opens by waiting


class RunStateParts(UIWriter, ABC):
    """Workflow and network chunks onto data parts (and a network's answer onto text)."""

    def __init__(self, *, send_start: bool = True, send_finish: bool = True) -> None:
        super().__init__(send_start=send_start, send_finish=send_finish)
        self._workflow: dict[str, Any] | None = None
        self._network: dict[str, Any] | None = None
        self._network_id = ""
        self._network_text: str | None = None
        self._network_texts = 0
        self._has_network_text = False
        self._network_usage = Usage.zero

    def _before_finish(self) -> None:
        self._end_network_text()

    @abstractmethod
    def _nested_agent_chunk(self, chunk: Any) -> None:
        """Show an agent's content inside another run (see the mapper)."""
        ...

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
            self._workflow = {"name": name, "status": "running", "steps": {}, "output": None}
        else:
            self._workflow["status"] = "running"
        self._workflow_part(chunk.run_id)

    def _on_workflow_step(self, chunk: Any) -> None:
        """Track a step's start (or a sleep's waiting), result or suspension.

        A foreach's or a sleep's ending is thin (no input): it updates the step opened before.
        """
        state = self._workflow
        if state is None:
            self._on_workflow_start(_FakeStart(chunk.run_id))
            state = self._workflow
            assert state is not None
        payload = chunk.payload
        steps: dict[str, Any] = state["steps"]
        step = steps.get(payload.id)
        if step is None or chunk.type in _OPENING:
            step = steps[payload.id] = {
                "name": payload.id,
                "status": "running",
                "input": json_data(payload.payload) if is_given(payload.payload) else None,
                "output": None,
                "suspendPayload": None,
                "resumePayload": (
                    json_data(payload.resume_payload) if is_given(payload.resume_payload) else None
                ),
            }
        step["status"] = payload.status
        if chunk.type == "workflow-step-result":
            if is_given(payload.output):
                step["output"] = json_data(payload.output)
            if is_given(payload.error):
                step["error"] = error_text(payload.error)
        elif chunk.type == "workflow-step-suspended":
            step["suspendPayload"] = json_data(payload.suspend_payload)
            state["status"] = "suspended"
        self._workflow_part(chunk.run_id)

    def _on_workflow_step_output(self, chunk: Any) -> None:
        output = chunk.payload.output
        if isinstance(output, ChunkBase) and not isinstance(output, DataChunk):
            if output.from_ == "AGENT" or output.type == "tool-output":
                self._nested_agent_chunk(output)
            return
        part = data_part(output, keep_transient=False)
        if part is not None:
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
        state["output"] = {"usage": usage_data(payload.output.usage)}
        if is_given(payload.final_workflow_result):
            state["result"] = json_data(payload.final_workflow_result)
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

    def _countusage_data(self, usage: Any) -> None:
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
        self._countusage_data(payload.usage)
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
            step["output"] = json_data(payload.result)
        if self._network is not None and is_given(payload.result):
            self._network["output"] = json_data(payload.result)
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
            step["output"] = json_data(payload.result)
        if self._network is not None:
            self._network["output"] = json_data(payload.result)
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
            self._network["output"] = json_data(chunk.payload.result)
        self._network_part()

    def _on_network_finish(self, chunk: Any) -> None:
        payload = chunk.payload
        state = self._network_state(chunk)
        result = json_data(payload.result)
        if not self._has_network_text and isinstance(result, str) and result:
            self._on_network_text_start(chunk)
            assert self._network_text is not None
            self._text_delta(self._network_text, result)
            self._end_network_text()
        state["status"] = "finished"
        state["output"] = result
        if is_given(payload.usage):
            state["usage"] = usage_data(payload.usage)
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
