"""OpenAI chat completions, and every server speaking the same protocol.

``POST {base_url}/chat/completions`` with ``stream: true`` and
``stream_options: {include_usage: true}``, read as server-sent events. Works with OpenAI and with
OpenAI-compatible servers: Ollama, vLLM, llama.cpp server, LM Studio, OpenRouter, Groq …
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, final

import aiohttp
from reactivex import Observable

from rxagents._core.http import DEFAULT_MAX_EVENT_SIZE, RetryPolicy
from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.models._parts import ModelPart
from rxagents.models._protocol import Message, ModelCall, ToolSpec
from rxagents.models.providers._common import (
    SettingWarning,
    check_base_url,
    env_value,
    file_url,
    json_text,
    merge_headers,
    provider_body_options,
    tool_input,
    tool_output_text,
    unsupported,
)
from rxagents.models.providers._openai_stream import OpenAIStreamDecoder
from rxagents.models.providers._transport import Transport, api_key_for

__all__ = ("OPENAI_BASE_URL", "OpenAIChatModel", "openai_messages")

OPENAI_BASE_URL = "https://api.openai.com/v1"
"""OpenAI's own API."""


@final
class OpenAIChatModel:
    """A v2 model speaking OpenAI's streaming chat-completions protocol over aiohttp.

    ``do_stream`` returns a cold Observable: subscribing sends the request (retried under
    ``retry`` until the first part), disposing closes the response. Requests that fail before
    streaming arrive as ``on_error`` (:class:`~rxagents.errors.ProviderError` with status, body
    and headers); failures while streaming become an ``error`` part.

    Example:
        >>> model = OpenAIChatModel("gpt-4o-mini")  # reads OPENAI_API_KEY  # doctest: +SKIP
        >>> local = OpenAIChatModel("llama3.2", base_url="http://localhost:11434/v1",
        ...                         provider="ollama")
    """

    specification_version: Literal["v2"] = "v2"

    def __init__(
        self,
        model_id: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 300.0,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        provider: str = "openai",
        organization: str | None = None,
        project: str | None = None,
        max_tokens_param: Literal["max_tokens", "max_completion_tokens"] | None = None,
        strict_json_schema: bool = False,
        include_usage: bool = True,
    ) -> None:
        """Configure the model; nothing is sent until a stream is subscribed.

        Args:
            model_id: The model, e.g. ``"gpt-4o-mini"``.
            base_url: The API root, ending before ``/chat/completions`` (default:
                ``$OPENAI_BASE_URL`` or ``https://api.openai.com/v1``).
            api_key: Sent as ``Authorization: Bearer``; default ``$OPENAI_API_KEY``. Required
                for OpenAI's own API; compatible servers may need none.
            headers: Extra headers for every request.
            timeout: Seconds allowed for the response headers and between two reads of the
                stream (a silent stream fails with ``IdleTimeoutError``; reasoning models may
                think for minutes before their first chunk); connecting gets at most 30 s of it.
                ``None`` waits forever.
            session: An ``aiohttp.ClientSession`` owned by the caller (never closed here);
                default: one shared session per event loop, closed when the loop shuts down.
            retry: The retry policy (default: ``RetryPolicy()``).
            max_event_size: The most bytes one server-sent event may hold (16 MiB by default;
                ``None`` lifts the cap); a larger event ends the stream with an ``error`` part
                (:class:`~rxagents.errors.MalformedStreamError`) and is not buffered further.
            provider: The provider's name in chunks and errors (``"ollama"``, ``"groq"`` …).
            organization: ``OpenAI-Organization`` header.
            project: ``OpenAI-Project`` header.
            max_tokens_param: The field that carries ``max_output_tokens``; default
                ``max_completion_tokens`` for provider ``"openai"``, ``max_tokens`` otherwise.
            strict_json_schema: Ask for strict schema adherence in structured output (the schema
                must then follow OpenAI's strict-mode rules).
            include_usage: Send ``stream_options.include_usage`` (turn off for servers that
                reject it).

        Raises:
            ConfigurationError: No API key for OpenAI's own API, or a bad setting.
        """
        owner = f"OpenAIChatModel({model_id!r})"
        if not model_id:
            raise ConfigurationError("OpenAIChatModel needs a model id, e.g. 'gpt-4o-mini'")
        url = check_base_url(base_url or env_value("OPENAI_BASE_URL") or OPENAI_BASE_URL, owner)
        key = api_key_for(owner, api_key, "OPENAI_API_KEY", url, OPENAI_BASE_URL)
        self.model_id = model_id
        self.provider = provider
        self.base_url = url
        self._transport = Transport.checked(
            owner,
            credentials={"Authorization": f"Bearer {key}"} if key else {},
            secret=key,
            headers=merge_headers(
                {"OpenAI-Organization": organization} if organization else None,
                {"OpenAI-Project": project} if project else None,
                headers,
            ),
            session=session,
            timeout=timeout,
            retry=retry,
            max_event_size=max_event_size,
        )
        self._max_tokens_param = max_tokens_param or (
            "max_completion_tokens" if provider == "openai" else "max_tokens"
        )
        self._strict = strict_json_schema
        self._include_usage = include_usage

    def __repr__(self) -> str:
        return f"OpenAIChatModel({self.model_id!r}, base_url={self.base_url!r})"

    def do_stream(self, call: ModelCall) -> Observable[ModelPart]:
        """Stream one chat completion as model parts.

        Raises:
            InvalidInputError: The prompt cannot be expressed in OpenAI's message shape.
        """
        body, warnings = self.request_body(call)
        provider = self.provider
        return self._transport.stream(
            provider,
            f"{self.base_url}/chat/completions",
            body,
            warnings,
            call.headers,
            lambda secrets, cap: OpenAIStreamDecoder(provider, secrets, max_event_size=cap),
        )

    def request_body(self, call: ModelCall) -> tuple[dict[str, Any], list[SettingWarning]]:
        """Return the JSON body for ``call`` and the warnings about settings it cannot send.

        Raises:
            InvalidInputError: The prompt cannot be expressed in OpenAI's message shape.
        """
        warnings: list[SettingWarning] = []
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": openai_messages(call.prompt),
            "stream": True,
        }
        if self._include_usage:
            body["stream_options"] = {"include_usage": True}
        if call.tools:
            body["tools"] = [
                {"type": "function", "function": _function(tool)} for tool in call.tools
            ]
            body["tool_choice"] = _tool_choice(call.tool_choice)
        if call.response_format is not None and call.response_format.get("type") != "text":
            body["response_format"] = self._response_format(call.response_format)
        settings = {
            "temperature": call.temperature,
            "top_p": call.top_p,
            "seed": call.seed,
            "stop": call.stop_sequences,
            "presence_penalty": call.presence_penalty,
            "frequency_penalty": call.frequency_penalty,
            self._max_tokens_param: call.max_output_tokens,
        }
        body.update({k: v for k, v in settings.items() if v is not None})
        if call.top_k is not None:
            warnings.append(
                unsupported("top_k", "chat completions has no top_k; pass it in provider_options")
            )
        body.update(provider_body_options(call, "openai", self.provider))
        return body, warnings

    def _response_format(self, response_format: Mapping[str, Any]) -> dict[str, Any]:
        schema = response_format.get("schema")
        if not isinstance(schema, Mapping):
            return {"type": "json_object"}
        name = response_format.get("name") or schema.get("title") or "response"
        json_schema: dict[str, Any] = {
            "name": re.sub(r"[^A-Za-z0-9_-]", "_", str(name))[:64],
            "schema": dict(schema),
            "strict": self._strict,
        }
        if response_format.get("description"):
            json_schema["description"] = str(response_format["description"])
        return {"type": "json_schema", "json_schema": json_schema}


def _function(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.input_schema
    return function


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, Mapping) and choice.get("type") == "tool" and choice.get("toolName"):
        return {"type": "function", "function": {"name": choice["toolName"]}}
    raise InvalidInputError(
        f"tool_choice must be 'auto', 'none', 'required' or {{'type': 'tool', 'toolName': name}}, "
        f"got {choice!r}"
    )


def openai_messages(prompt: list[Message]) -> list[dict[str, Any]]:
    """Map prompt messages (AI SDK v5 shape) to OpenAI chat messages.

    Assistant tool calls become ``tool_calls`` with JSON-string arguments; each tool result
    becomes a ``role: tool`` message whose content is the result as JSON text (text results as
    they are); reasoning parts are not sent back.

    Raises:
        InvalidInputError: A message has an unknown role or part.
    """
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(prompt):
        role = message.get("role")
        content = message.get("content")
        if role == "system":
            messages.append({"role": "system", "content": _text(content)})
        elif role == "user":
            messages.append({"role": "user", "content": _user_content(content, index)})
        elif role == "assistant":
            messages.append(_assistant(content))
        elif role == "tool":
            for part in _parts(content):
                if part.get("type") != "tool-result":
                    continue
                text, _ = tool_output_text(part)
                messages.append(
                    {"role": "tool", "tool_call_id": str(part.get("toolCallId")), "content": text}
                )
        else:
            raise InvalidInputError(f"prompt[{index}] has unknown role {role!r}")
    return messages


def _parts(content: Any) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [part for part in content if isinstance(part, Mapping)]
    return []


def _text(content: Any) -> str:
    return "".join(
        str(part.get("text", "")) for part in _parts(content) if part.get("type") == "text"
    )


def _user_content(content: Any, index: int) -> str | list[dict[str, Any]]:
    parts = _parts(content)
    if all(part.get("type") == "text" for part in parts):
        return "".join(str(part.get("text", "")) for part in parts)
    mapped: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            mapped.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind in ("image", "file"):
            media_type, url = file_url(part)
            if not media_type.startswith("image/"):
                raise InvalidInputError(
                    f"prompt[{index}]: chat completions accepts image files only, "
                    f"got {media_type!r}"
                )
            mapped.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise InvalidInputError(f"prompt[{index}]: unsupported user part type {kind!r}")
    return mapped


def _assistant(content: Any) -> dict[str, Any]:
    parts = _parts(content)
    text = "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")
    tool_calls = [
        {
            "id": str(part.get("toolCallId")),
            "type": "function",
            "function": {
                "name": str(part.get("toolName")),
                "arguments": json_text(tool_input(part)),
            },
        }
        for part in parts
        if part.get("type") == "tool-call"
    ]
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    elif message["content"] is None:
        message["content"] = ""
    return message
