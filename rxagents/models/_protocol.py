"""The model-client protocols: what an agent needs from a language model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError
from reactivex import Observable

from rxagents.errors import InvalidInputError
from rxagents.models._parts import ModelPart, V1ModelPart

__all__ = (
    "MODEL_SETTINGS",
    "LanguageModel",
    "LanguageModelV1",
    "Message",
    "ModelCall",
    "ToolChoice",
    "ToolSpec",
    "check_settings",
)

Message = dict[str, Any]
"""A prompt message in the AI SDK v5 shape.

``{"role": "system", "content": str}``; ``{"role": "user", "content": [{"type": "text", "text"}]}``;
``{"role": "assistant", "content": [text parts, {"type": "reasoning", "text"},
{"type": "tool-call", "toolCallId", "toolName", "input": {...}}]}``;
``{"role": "tool", "content": [{"type": "tool-result", "toolCallId", "toolName",
"output": {"type": "json", "value": ...} | {"type": "error-text", "value": str}}]}``.
"""

ToolChoice = Literal["auto", "none", "required"] | dict[str, str]
"""``auto``, ``none``, ``required``, or ``{"type": "tool", "toolName": name}``."""


class ToolSpec(BaseModel):
    """A tool as the model sees it."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The name the model calls it by."""
    description: str = ""
    """What it does."""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    """JSON schema of its input."""


class ModelCall(BaseModel):
    """Everything one model call is given."""

    model_config = ConfigDict(frozen=True)

    prompt: list[Message]
    """The conversation, system message first."""
    tools: list[ToolSpec] = Field(default_factory=list)
    """Tools the model may call."""
    tool_choice: ToolChoice = "auto"
    """Whether and which tool the model must call."""
    response_format: dict[str, Any] | None = None
    """``None`` for text, or ``{"type": "json", "schema": {...}}`` for structured output."""
    temperature: FiniteFloat | None = None
    """Sampling temperature."""
    max_output_tokens: int | None = None
    """Limit on generated tokens."""
    top_p: FiniteFloat | None = None
    """Nucleus sampling."""
    top_k: int | None = None
    """Top-k sampling."""
    seed: int | None = None
    """Seed for deterministic sampling, where supported."""
    stop_sequences: list[str] | None = None
    """Sequences that stop generation."""
    presence_penalty: FiniteFloat | None = None
    """Presence penalty."""
    frequency_penalty: FiniteFloat | None = None
    """Frequency penalty."""
    headers: dict[str, str] | None = None
    """Extra HTTP headers for this call."""
    provider_options: dict[str, Any] | None = None
    """Provider-specific options, passed through."""


MODEL_SETTINGS: Final = frozenset(ModelCall.model_fields) - {"prompt", "tools", "response_format"}
"""The settings a caller may pass for a model call (``temperature``, ``tool_choice`` …)."""


def check_settings(settings: Mapping[str, Any]) -> None:
    """Validate model settings as :class:`ModelCall` will (finite numbers, known shapes).

    Raises:
        InvalidInputError: A setting is invalid; the message names it (never its value).
    """
    try:
        ModelCall.model_validate({"prompt": [], **settings})
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise InvalidInputError(f"invalid model settings: {problems}") from None


@runtime_checkable
class LanguageModel(Protocol):
    """A v2 language model: ``do_stream`` returns a cold Observable of model parts.

    Subscribing starts the call; disposing stops it (the HTTP request is closed). Parts are
    emitted from event-loop callbacks, never synchronously inside ``subscribe``.
    """

    @property
    def specification_version(self) -> Literal["v2"]:
        """Always ``"v2"``."""
        ...

    @property
    def provider(self) -> str:
        """The provider's name, e.g. ``"openai"``."""
        ...

    @property
    def model_id(self) -> str:
        """The model's id, e.g. ``"gpt-4o-mini"``."""
        ...

    def do_stream(self, call: ModelCall) -> Observable[ModelPart]:
        """Stream one model call."""
        ...


@runtime_checkable
class LanguageModelV1(Protocol):
    """A v1 (legacy) language model, used by ``Agent.stream_legacy()``."""

    @property
    def specification_version(self) -> Literal["v1"]:
        """Always ``"v1"``."""
        ...

    @property
    def provider(self) -> str:
        """The provider's name."""
        ...

    @property
    def model_id(self) -> str:
        """The model's id."""
        ...

    def do_stream(self, call: ModelCall) -> Observable[V1ModelPart]:
        """Stream one model call with v1 parts."""
        ...
