"""The shapes a network works with: the router's decision, the completion verdict, the result."""

from __future__ import annotations

import json
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from rxagents.events import WireModel
from rxagents.usage import Usage

__all__ = (
    "CHECK_FORMAT",
    "ROUTING_FORMAT",
    "CompletionVerdict",
    "NetworkResult",
    "NetworkStatus",
    "RoutingDecision",
)

NetworkStatus: TypeAlias = Literal["success", "max-steps", "canceled"]
"""How a network run ended: the task was completed, ``max_steps`` stopped it, or it was
cancelled (a failed run raises instead)."""

_MODEL_CONFIG = ConfigDict(
    frozen=True, alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
)


class RoutingDecision(BaseModel):
    """What the router answers each iteration (structured output, Mastra's schema)."""

    model_config = _MODEL_CONFIG

    primitive_id: str = Field(description="The id of the primitive to be called")
    primitive_type: Literal["agent", "workflow", "tool", "none"] = Field(
        description="The type of the primitive to be called"
    )
    prompt: str = Field(description="The json string or text value to be sent to the primitive")
    selection_reason: str = Field(description="The reason you picked the primitive")

    @field_validator("prompt", mode="before")
    @classmethod
    def _json_prompt(cls, value: Any) -> Any:
        """Accept a JSON object given where a JSON string was asked for (models do that)."""
        if isinstance(value, dict | list):
            return json.dumps(value)
        return value


class CompletionVerdict(BaseModel):
    """What the completion check answers after each iteration (Mastra's default schema)."""

    model_config = _MODEL_CONFIG

    is_complete: bool = Field(description="Whether the task is complete")
    completion_reason: str = Field(description="Explanation of why the task is or is not complete")
    final_result: str | None = Field(
        default=None,
        description="The final result text to return to the user. "
        "omit if primitive result is sufficient",
    )


ROUTING_FORMAT: dict[str, Any] = {
    "type": "json",
    "schema": RoutingDecision.model_json_schema(by_alias=True),
}
"""The ``response_format`` of a routing call: tell routing from checks by its properties."""
CHECK_FORMAT: dict[str, Any] = {
    "type": "json",
    "schema": CompletionVerdict.model_json_schema(by_alias=True),
}
"""The ``response_format`` of a completion check."""


class NetworkResult(WireModel):
    """How a network run ended: the payload of ``network-execution-event-finish``, typed.

    ``model_dump(by_alias=True)`` gives the wire payload's keys (camelCase) plus ``runId``.
    """

    run_id: str
    """The network run."""
    task: str
    """The task."""
    result: Any = None
    """The final result: the completion check's ``finalResult`` when it gave one, else the
    last primitive's result (an agent's text, a workflow's output, a tool's return value)."""
    is_complete: bool
    """Whether a completion check passed (``False`` when ``max_steps`` stopped the run)."""
    completion_reason: str
    """Why the run ended (``"Max iterations reached: N"`` at ``max_steps``)."""
    iteration: int
    """The last iteration, from 0."""
    primitive_id: str
    """The last primitive the router chose."""
    primitive_type: str
    """Its kind: ``agent``, ``workflow``, ``tool`` or ``none``."""
    is_one_off: bool = False
    """Whether the run made its own thread (no ``memory=`` option was given)."""
    thread_id: str
    """The memory thread."""
    thread_resource_id: str
    """The thread's owner."""
    validation_passed: bool
    """Whether the last completion check passed."""
    usage: Usage
    """Every model call of the run: routing, primitives and completion checks."""
