"""What the router and the completion check are told, and what the thread keeps of a run."""

from __future__ import annotations

import json
from typing import Any

from rxagents.models import Message

__all__ = (
    "check_system_prompt",
    "check_user_message",
    "completion_feedback",
    "iteration_message",
    "result_message",
    "router_state_message",
    "router_system_prompt",
    "to_text",
)

_ROUTER = """You are the router of a network of agents, workflows and tools.
{instructions}
Each turn you pick the one primitive that best moves the task forward, and what to send it.

{primitives}

Rules:
- For an agent, "prompt" is the text the agent gets: say exactly what it should do.
- For a workflow or a tool, "prompt" is a JSON string that matches its input schema.
- Use what was already done (the conversation and the previous results) and do not repeat work.
- When the task is complete, or nothing can move it further, answer primitiveId "none" and
  primitiveType "none", with the reason in selectionReason.

Answer with one JSON object and nothing else:
{{"primitiveId": string, "primitiveType": "agent" | "workflow" | "tool" | "none",
"prompt": string, "selectionReason": string}}"""

_CHECK = """You check whether a task is complete; a network of agents, workflows and tools works
on it.
{instructions}
Judge only from the results shown. Answer with one JSON object and nothing else:
{{"isComplete": boolean, "completionReason": string, "finalResult"?: string}}
- isComplete: true only when the results fully answer the task.
- completionReason: why the task is or is not complete.
- finalResult: when complete, the final answer for the user, written from the results; omit it
  when the last result already is that answer."""


def router_system_prompt(instructions: str, primitives: str) -> str:
    """Return the router's system prompt: the network's instructions and its primitives."""
    return _ROUTER.format(instructions=instructions.strip(), primitives=primitives)


def check_system_prompt(instructions: str) -> str:
    """Return the completion check's system prompt."""
    return _CHECK.format(instructions=instructions.strip())


def router_state_message(
    task: str, iteration: int, max_steps: int, feedback: str | None
) -> Message:
    """Return the last message of a routing call: the task, where the run is, the feedback."""
    lines = [f"Task: {task}", f"Iteration {iteration + 1} of at most {max_steps + 1}."]
    if feedback:
        lines.append(f"Feedback on the previous iteration: {feedback}")
    lines.append("Choose the next primitive.")
    return {"role": "user", "content": [{"type": "text", "text": "\n".join(lines)}]}


def check_user_message(task: str, primitive: str, result: Any, error: str | None = None) -> Message:
    """Return the completion check's question about the latest result (or the failure)."""
    if error is not None:
        latest = f"The {primitive} failed: {error}"
    else:
        latest = f"Latest result, from {primitive}:\n{to_text(result)}"
    text = f"Task: {task}\n\n{latest}\n\nIs the task complete?"
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def completion_feedback(passed: bool, reason: str, duration: int, max_reached: bool) -> str:
    """Return the report of a completion check, in Mastra's words (``validationFeedback``)."""
    if passed:
        outcome = "\u2705 The task is complete."
    elif max_reached:
        outcome = "\u26a0\ufe0f Max iterations reached."
    else:
        outcome = "\U0001f504 Will continue working on the task."
    mark = "\u2705" if passed else "\u274c"
    lines = [
        "#### Completion Check Results",
        "",
        f"Overall: {mark} {'COMPLETE' if passed else 'NOT COMPLETE'}",
        f"Duration: {duration}ms",
        "",
        "###### Default LLM Completion (default-completion)",
        f"Score: {1 if passed else 0} {mark}",
    ]
    if reason:
        lines.append(f"Reason: {reason}")
    lines += ["", f"\n\n{outcome}"]
    return "\n".join(lines)


def iteration_message(record: dict[str, Any]) -> dict[str, Any]:
    """Return the assistant message a thread keeps of one iteration (decision and result).

    Its text is the record as JSON (as Mastra saves it, ``isNetwork: true``); the record is in
    ``metadata["network"]`` too.
    """
    text = json.dumps({"isNetwork": True, **record}, ensure_ascii=False, default=str)
    return {
        "role": "assistant",
        "content": [{"type": "text", "text": text}],
        "metadata": {"network": record},
    }


def result_message(result: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Return the assistant message a thread keeps of a run's final result."""
    return {
        "role": "assistant",
        "content": [{"type": "text", "text": to_text(result)}],
        "metadata": {"network": record},
    }


def to_text(value: Any) -> str:
    """Return a result as text for a prompt (JSON for anything but a string)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
