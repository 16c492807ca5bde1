"""Anthropic's Messages API: ``POST {base_url}/v1/messages`` with ``stream: true``.

Structured output (``response_format`` with a schema) uses a forced tool by default: the schema
becomes the input schema of a tool named ``json`` that the model must call (``tool_choice``
``{"type": "tool"}``, or ``{"type": "any"}`` when the agent also has tools, so the model can still
call them first), and the tool's streamed input is delivered as the step's *text*. This works on
every Claude model that supports tools and on Anthropic-compatible servers. It cannot be combined
with extended thinking (Anthropic refuses forced tool use while thinking); for that, pass
``structured_output="native"`` to use the API's ``output_config.format`` (JSON schema) on
models that support it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, final

import aiohttp
from reactivex import Observable

from rxagents._core.http import DEFAULT_MAX_EVENT_SIZE, RetryPolicy
from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.models._parts import ModelPart
from rxagents.models._protocol import Message, ModelCall
from rxagents.models.providers._anthropic_stream import AnthropicStreamDecoder
from rxagents.models.providers._common import (
    SettingWarning,
    check_base_url,
    env_value,
    file_url,
    merge_headers,
    provider_body_options,
    tool_input,
    tool_output_text,
    unsupported,
)
from rxagents.models.providers._transport import Transport, api_key_for

__all__ = ("ANTHROPIC_BASE_URL", "ANTHROPIC_VERSION", "AnthropicModel", "anthropic_messages")

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
"""Anthropic's own API (the ``/v1/messages`` path is appended)."""
ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header sent by default."""
JSON_TOOL = "json"
"""The name of the forced structured-output tool."""


@final
class AnthropicModel:
    """A v2 model speaking Anthropic's streaming Messages API over aiohttp.

    ``do_stream`` returns a cold Observable: subscribing sends the request (retried under
    ``retry`` until the first part), disposing closes the response. Requests that fail before
    streaming arrive as ``on_error`` (:class:`~rxagents.errors.ProviderError`); failures while
    streaming, including Anthropic's ``error`` events, become an ``error`` part.

    Example:
        >>> model = AnthropicModel("claude-haiku-4-5")  # reads ANTHROPIC_API_KEY  # doctest: +SKIP
    """

    specification_version: Literal["v2"] = "v2"

    def __init__(
        self,
        model_id: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 300.0,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        max_tokens: int = 4096,
        anthropic_version: str = ANTHROPIC_VERSION,
        structured_output: Literal["tool", "native"] = "tool",
        provider: str = "anthropic",
    ) -> None:
        """Configure the model; nothing is sent until a stream is subscribed.

        Args:
            model_id: The model, e.g. ``"claude-haiku-4-5"``.
            api_key: Sent as ``x-api-key``; default ``$ANTHROPIC_API_KEY``. Required for
                Anthropic's own API.
            base_url: The API root without ``/v1`` (default: ``$ANTHROPIC_BASE_URL`` or
                ``https://api.anthropic.com``); a trailing ``/v1`` is accepted too.
            headers: Extra headers for every request (e.g. ``anthropic-beta``).
            timeout: Seconds allowed for the response headers and between two reads of the
                stream (a silent stream fails with ``IdleTimeoutError``; Anthropic pings while
                it thinks); connecting gets at most 30 s of it. ``None`` waits forever.
            session: An ``aiohttp.ClientSession`` owned by the caller (never closed here);
                default: one shared session per event loop, closed when the loop shuts down.
            retry: The retry policy (default: ``RetryPolicy()``).
            max_event_size: The most bytes one server-sent event may hold (16 MiB by default;
                ``None`` lifts the cap); a larger event ends the stream with an ``error`` part
                (:class:`~rxagents.errors.MalformedStreamError`) and is not buffered further.
            max_tokens: ``max_tokens`` when the call sets no ``max_output_tokens`` (the API
                requires one).
            anthropic_version: The ``anthropic-version`` header.
            structured_output: ``"tool"`` (a forced ``json`` tool, the default) or ``"native"``
                (``output_config.format``); see the module docstring.
            provider: The provider's name in chunks and errors.

        Raises:
            ConfigurationError: No API key for Anthropic's own API, or a bad setting.
        """
        owner = f"AnthropicModel({model_id!r})"
        if not model_id:
            raise ConfigurationError("AnthropicModel needs a model id, e.g. 'claude-haiku-4-5'")
        url = check_base_url(
            base_url or env_value("ANTHROPIC_BASE_URL") or ANTHROPIC_BASE_URL, owner
        ).removesuffix("/v1")
        key = api_key_for(owner, api_key, "ANTHROPIC_API_KEY", url, ANTHROPIC_BASE_URL)
        if max_tokens < 1:
            raise ConfigurationError(f"{owner}: max_tokens must be positive")
        if structured_output not in ("tool", "native"):
            raise ConfigurationError(f"{owner}: structured_output is 'tool' or 'native'")
        self.model_id = model_id
        self.provider = provider
        self.base_url = url
        self._transport = Transport.checked(
            owner,
            credentials={"x-api-key": key} if key else {},
            secret=key,
            headers=merge_headers({"anthropic-version": anthropic_version}, headers),
            session=session,
            timeout=timeout,
            retry=retry,
            max_event_size=max_event_size,
        )
        self._max_tokens = max_tokens
        self._structured_output = structured_output

    def __repr__(self) -> str:
        return f"AnthropicModel({self.model_id!r}, base_url={self.base_url!r})"

    def do_stream(self, call: ModelCall) -> Observable[ModelPart]:
        """Stream one message as model parts.

        Raises:
            InvalidInputError: The prompt cannot be expressed in Anthropic's message shape.
        """
        body, warnings = self.request_body(call)
        provider = self.provider
        json_tool = JSON_TOOL if _uses_json_tool(body) else None
        return self._transport.stream(
            provider,
            f"{self.base_url}/v1/messages",
            body,
            warnings,
            call.headers,
            lambda secrets, cap: AnthropicStreamDecoder(
                provider, secrets, json_tool=json_tool, max_event_size=cap
            ),
        )

    def request_body(self, call: ModelCall) -> tuple[dict[str, Any], list[SettingWarning]]:
        """Return the JSON body for ``call`` and the warnings about settings it cannot send.

        Raises:
            InvalidInputError: The prompt cannot be expressed in Anthropic's message shape.
        """
        warnings: list[SettingWarning] = []
        system, messages = anthropic_messages(call.prompt)
        body: dict[str, Any] = {
            "model": self.model_id,
            "max_tokens": call.max_output_tokens or self._max_tokens,
            "messages": messages,
            "stream": True,
        }
        if system:
            body["system"] = system
        tools = [
            {
                "name": t.name,
                **({"description": t.description} if t.description else {}),
                "input_schema": t.input_schema,
            }
            for t in call.tools
        ]
        choice: Any = _tool_choice(call.tool_choice) if tools else None
        schema = (call.response_format or {}).get("schema")
        if call.response_format is not None and not isinstance(schema, Mapping):
            warnings.append(
                unsupported("response_format", "Anthropic needs a JSON schema for JSON output")
            )
        elif isinstance(schema, Mapping) and self._structured_output == "native":
            body["output_config"] = {"format": {"type": "json_schema", "schema": dict(schema)}}
        elif isinstance(schema, Mapping):
            if any(t["name"] == JSON_TOOL for t in tools):
                raise InvalidInputError(
                    f"a tool is named {JSON_TOOL!r}, the name of Anthropic's structured-output "
                    "tool; rename it or use structured_output='native'"
                )
            json_tool = {
                "name": JSON_TOOL,
                "description": "Respond with a JSON object matching this schema.",
                "input_schema": dict(schema),
            }
            if not tools or call.tool_choice == "none":
                # Only the answer may be "called": force it.
                tools, choice = [json_tool], {"type": "tool", "name": JSON_TOOL}
            else:
                tools.append(json_tool)
                if call.tool_choice in ("auto", "required"):
                    # Call the agent's tools first or answer through the json tool, never prose.
                    choice = {"type": "any"}
        if tools:
            body["tools"] = tools
            body["tool_choice"] = choice
        settings = {
            "temperature": call.temperature,
            "top_p": call.top_p,
            "top_k": call.top_k,
            "stop_sequences": call.stop_sequences,
        }
        body.update({k: v for k, v in settings.items() if v is not None})
        for name in ("seed", "presence_penalty", "frequency_penalty"):
            if getattr(call, name) is not None:
                warnings.append(unsupported(name, "the Anthropic Messages API has no such setting"))
        body.update(provider_body_options(call, "anthropic", self.provider))
        return body, warnings


def _uses_json_tool(body: Mapping[str, Any]) -> bool:
    return any(t.get("name") == JSON_TOOL for t in body.get("tools", ()))


def _tool_choice(choice: Any) -> dict[str, Any]:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "none":
        return {"type": "none"}
    if choice == "required":
        return {"type": "any"}
    if isinstance(choice, Mapping) and choice.get("type") == "tool" and choice.get("toolName"):
        return {"type": "tool", "name": choice["toolName"]}
    raise InvalidInputError(
        f"tool_choice must be 'auto', 'none', 'required' or {{'type': 'tool', 'toolName': name}}, "
        f"got {choice!r}"
    )


def anthropic_messages(prompt: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """Map prompt messages (AI SDK v5 shape) to Anthropic's ``(system, messages)``.

    System messages join into the top-level system prompt; tool results become ``tool_result``
    blocks in a user turn; consecutive turns of one role merge (Anthropic wants tool results
    right after the assistant turn that called the tools). Reasoning goes back as ``thinking``
    only when it carries Anthropic's signature (``providerOptions.anthropic.signature``).

    Raises:
        InvalidInputError: A message has an unknown role or part.
    """
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(prompt):
        role = message.get("role")
        parts = _parts(message.get("content"))
        if role == "system":
            system.append("".join(str(p.get("text", "")) for p in parts if p.get("type") == "text"))
            continue
        if role == "user":
            blocks = [_user_block(part, index) for part in parts]
            target = "user"
        elif role == "assistant":
            blocks = [_assistant_block(part) for part in parts]
            target = "assistant"
        elif role == "tool":
            blocks = [_tool_result(part) for part in parts if part.get("type") == "tool-result"]
            target = "user"
        else:
            raise InvalidInputError(f"prompt[{index}] has unknown role {role!r}")
        content = [block for block in blocks if block is not None]
        if not content:
            continue
        if messages and messages[-1]["role"] == target:
            messages[-1]["content"].extend(content)
        else:
            messages.append({"role": target, "content": content})
    return "\n\n".join(s for s in system if s), messages


def _parts(content: Any) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [part for part in content if isinstance(part, Mapping)]
    return []


def _user_block(part: Mapping[str, Any], index: int) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "text":
        text = str(part.get("text", ""))
        return {"type": "text", "text": text} if text else None
    if kind in ("image", "file"):
        media_type, url = file_url(part)
        block_type = "document" if media_type == "application/pdf" else "image"
        if block_type == "image" and not media_type.startswith("image/"):
            raise InvalidInputError(
                f"prompt[{index}]: Anthropic accepts images and PDFs, got {media_type!r}"
            )
        if url.startswith("data:"):
            data = url.partition(";base64,")[2]
            source = {"type": "base64", "media_type": media_type, "data": data}
        else:
            source = {"type": "url", "url": url}
        return {"type": block_type, "source": source}
    raise InvalidInputError(f"prompt[{index}]: unsupported user part type {kind!r}")


def _assistant_block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "text":
        text = str(part.get("text", ""))
        return {"type": "text", "text": text} if text else None
    if kind == "tool-call":
        value = tool_input(part)
        return {
            "type": "tool_use",
            "id": str(part.get("toolCallId")),
            "name": str(part.get("toolName")),
            "input": value if isinstance(value, dict) else {"value": value},
        }
    if kind == "reasoning":
        meta = _anthropic_metadata(part)
        if isinstance(meta.get("redactedData"), str):
            return {"type": "redacted_thinking", "data": meta["redactedData"]}
        if isinstance(meta.get("signature"), str):
            return {
                "type": "thinking",
                "thinking": str(part.get("text", "")),
                "signature": meta["signature"],
            }
    return None  # unsigned reasoning and unknown parts are not sent back


def _anthropic_metadata(part: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("providerOptions", "providerMetadata", "provider_metadata"):
        options = part.get(key)
        if isinstance(options, Mapping) and isinstance(options.get("anthropic"), Mapping):
            meta: Mapping[str, Any] = options["anthropic"]
            return meta
    return {}


def _tool_result(part: Mapping[str, Any]) -> dict[str, Any]:
    text, is_error = tool_output_text(part)
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": str(part.get("toolCallId")),
        "content": text,
    }
    if is_error:
        block["is_error"] = True
    return block
