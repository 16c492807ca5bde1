"""Read request bodies as ``@mastra/client-js`` and ``useChat`` send them.

Unknown keys are ignored; the known ones are validated before any stream starts, and a bad one
is refused with a 400 whose ``issues`` name the field (never its value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from pydantic.alias_generators import to_camel

from rxagents.adapters.ai_sdk._messages import ui_message_to_prompt
from rxagents.adapters.server._http import ApiError, validation_issues
from rxagents.errors import InvalidInputError

__all__ = (
    "AgentBody",
    "Body",
    "ChatBody",
    "agent_options",
    "parse_body",
    "prompt_messages",
    "ui_prompt_messages",
)

_PositiveInt = Annotated[StrictInt, Field(gt=0)]
_BodyT = TypeVar("_BodyT", bound="Body")


class Body(BaseModel):
    """A request body: camelCase keys, unknown keys ignored."""

    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class _ThreadRef(Body):
    id: str = Field(min_length=1)


class MemoryRef(Body):
    """``memory``: the conversation thread and its owner."""

    thread: Annotated[str, Field(min_length=1)] | _ThreadRef | None = None
    resource: str | None = None

    @property
    def thread_id(self) -> str | None:
        """The thread's id, whichever form it came in."""
        if isinstance(self.thread, _ThreadRef):
            return self.thread.id
        return self.thread


class _ToolChoiceTool(Body):
    type: Literal["tool"]
    tool_name: str = Field(min_length=1)


class ModelSettings(Body):
    """Model settings, at the top level or under ``modelSettings``."""

    temperature: float | None = None
    max_output_tokens: _PositiveInt | None = None
    max_tokens: _PositiveInt | None = None
    top_p: float | None = None
    top_k: _PositiveInt | None = None
    seed: StrictInt | None = None
    stop_sequences: list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


class AgentBody(ModelSettings):
    """The body of ``/stream``, ``/network`` and ``/chat`` (messages are read separately)."""

    memory: MemoryRef | None = None
    thread_id: str | None = None
    resource_id: str | None = None
    max_steps: _PositiveInt | None = None
    run_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    instructions: str | None = None
    tool_choice: Literal["auto", "none", "required"] | _ToolChoiceTool | None = None
    model_settings: ModelSettings | None = None
    require_tool_approval: bool | None = None


class ChatBody(AgentBody):
    """What ``useChat``'s default transport posts: ``{id, messages, trigger, messageId?}``."""

    id: str | None = None
    trigger: str | None = None
    message_id: str | None = None
    tool_call_id: str | None = None
    """With ``runId`` and ``resumeData``: the paused call the request answers."""


# The sampling settings passed through as they are (the token limit has two spellings).
_SETTINGS = tuple(
    name for name in ModelSettings.model_fields if name not in ("max_output_tokens", "max_tokens")
)


def parse_body(model: type[_BodyT], body: object) -> _BodyT:
    """Validate a JSON body against ``model``.

    Raises:
        ApiError: 400 when the body is not an object or a known field is invalid.
    """
    if not isinstance(body, Mapping):
        raise ApiError(400, f"the request body must be a JSON object, got {_json_type(body)}")
    try:
        return model.model_validate(body)
    except ValidationError as err:
        raise ApiError(400, "invalid request body", issues=validation_issues(err)) from None


def agent_options(body: AgentBody, agent: object, *, with_memory: bool) -> dict[str, Any]:
    """Map a body's options onto ``agent.observe`` keyword arguments.

    ``memory`` is passed only when ``with_memory`` (the agent has memory) and a thread is named.
    """
    options: dict[str, Any] = {}
    for source in (body.model_settings, body):
        if source is None:
            continue
        for name in _SETTINGS:
            value = getattr(source, name)
            if value is not None:
                options[name] = value
        tokens = source.max_output_tokens or source.max_tokens
        if tokens is not None:
            options["max_output_tokens"] = tokens
    if body.max_steps is not None:
        options["max_steps"] = body.max_steps
    if body.run_id is not None:
        options["run_id"] = body.run_id
    if body.instructions is not None:
        options["instructions"] = body.instructions
    if body.require_tool_approval:
        options["require_tool_approval"] = True
    if body.tool_choice is not None:
        choice = body.tool_choice
        options["tool_choice"] = (
            choice if isinstance(choice, str) else {"type": "tool", "toolName": choice.tool_name}
        )
    if with_memory:
        thread = body.memory.thread_id if body.memory is not None else None
        thread = thread or body.thread_id
        resource = (body.memory.resource if body.memory is not None else None) or body.resource_id
        if thread:
            options["memory"] = {"thread": thread}
            if resource:
                options["memory"]["resource"] = resource
    return options


def prompt_messages(value: object) -> str | list[Any]:
    """Read ``messages`` as client-js sends it: a string, or strings, messages, UI messages.

    Raises:
        ApiError: 400 when messages are missing, empty or of an unusable shape.
    """
    if value is None:
        raise ApiError(400, "messages is required", issues=[_issue("messages", "required")])
    if isinstance(value, str):
        if not value.strip():
            raise ApiError(400, "messages must not be empty")
        return value
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ApiError(
            400,
            "messages must be a string or an array of strings or messages, "
            f"got {_json_type(value)}",
        )
    if not value:
        raise ApiError(400, "messages must not be empty")
    result: list[Any] = []
    for index, item in enumerate(value):
        where = f"messages[{index}]"
        if isinstance(item, str):
            result.append(item)
        elif isinstance(item, Mapping) and "parts" in item and "content" not in item:
            result.extend(_ui_message(item, where))
        elif isinstance(item, Mapping):
            result.append(_model_message(item))
        else:
            raise ApiError(
                400,
                f"{where} must be a string or a {{role, content}} object, got {_json_type(item)}",
            )
    return result


def ui_prompt_messages(value: object) -> list[Any]:
    """Read the UI messages ``useChat`` posts into prompt messages.

    Raises:
        ApiError: 400 when ``messages`` is missing or not a list of UI messages.
    """
    if not isinstance(value, list) or not value:
        raise ApiError(
            400,
            "messages must be a non-empty array of UI messages ({id, role, parts})",
            issues=[_issue("messages", "expected a non-empty array")],
        )
    result: list[Any] = []
    for index, item in enumerate(value):
        result.extend(_ui_message(item, f"messages[{index}]"))
    if not result:
        raise ApiError(400, "messages has no content the agent can read")
    return result


def _ui_message(item: object, where: str) -> list[dict[str, Any]]:
    try:
        return ui_message_to_prompt(item, where)
    except InvalidInputError as err:
        raise ApiError(400, str(err)) from None


def _model_message(item: Mapping[str, Any]) -> dict[str, Any]:
    """Accept the AI SDK v4 part forms too: ``args`` for ``input``, ``result`` for ``output``."""
    message = dict(item)
    content = message.get("content")
    if isinstance(content, list):
        parts: list[Any] = []
        for part in content:
            if (
                isinstance(part, Mapping)
                and part.get("type") == "tool-call"
                and "input" not in part
            ):
                part = {**part, "input": part.get("args", {})}
            elif (
                isinstance(part, Mapping)
                and part.get("type") == "tool-result"
                and "output" not in part
            ):
                kind = "error-json" if part.get("isError") else "json"
                part = {**part, "output": {"type": kind, "value": part.get("result")}}
            parts.append(part)
        message["content"] = parts
    return message


def _issue(path: str, message: str) -> dict[str, Any]:
    return {"path": [path], "message": message}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, Mapping) else type(value).__name__
