"""Model strings: ``resolve_model("openai/gpt-4o-mini")`` → a configured provider model.

A model string is ``provider/model``; everything after the first ``/`` is the model id
(``openrouter/anthropic/claude-sonnet-4.5`` asks OpenRouter for ``anthropic/claude-sonnet-4.5``).
Keys and base URLs come from the environment:

============  =======================  ==========================  ================================
provider      key                      base URL variable           default base URL
============  =======================  ==========================  ================================
openai        ``OPENAI_API_KEY``       ``OPENAI_BASE_URL``         https://api.openai.com/v1
anthropic     ``ANTHROPIC_API_KEY``    ``ANTHROPIC_BASE_URL``      https://api.anthropic.com
openrouter    ``OPENROUTER_API_KEY``   ``OPENROUTER_BASE_URL``     https://openrouter.ai/api/v1
groq          ``GROQ_API_KEY``         ``GROQ_BASE_URL``           https://api.groq.com/openai/v1
ollama        (none)                   ``OLLAMA_BASE_URL``         http://localhost:11434/v1
lmstudio      (none)                   ``LMSTUDIO_BASE_URL``       http://localhost:1234/v1
vllm          (none)                   ``VLLM_BASE_URL``           http://localhost:8000/v1
llamacpp      (none)                   ``LLAMACPP_BASE_URL``       http://localhost:8080/v1
============  =======================  ==========================  ================================

Every provider except ``anthropic`` speaks the OpenAI protocol. Any other name works as an
OpenAI-compatible server when ``<NAME>_BASE_URL`` is set (``my-proxy/model`` reads
``MY_PROXY_BASE_URL`` and, optionally, ``MY_PROXY_API_KEY``). A hosted provider needs its key
unless its base URL points elsewhere (a proxy or a local server); local servers send a key only
when ``<NAME>_API_KEY`` is set.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from rxagents._core.http import RetryPolicy
from rxagents.errors import ConfigurationError, MissingApiKeyError
from rxagents.models._protocol import LanguageModel
from rxagents.models.providers.anthropic import ANTHROPIC_BASE_URL, AnthropicModel
from rxagents.models.providers.openai import OPENAI_BASE_URL, OpenAIChatModel

__all__ = ("PROVIDERS", "default_model", "resolve_model")

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Provider:
    base_url: str
    needs_key: bool
    protocol: str = "openai"


PROVIDERS: Mapping[str, _Provider] = {
    "openai": _Provider(OPENAI_BASE_URL, needs_key=True),
    "anthropic": _Provider(ANTHROPIC_BASE_URL, needs_key=True, protocol="anthropic"),
    "openrouter": _Provider("https://openrouter.ai/api/v1", needs_key=True),
    "groq": _Provider("https://api.groq.com/openai/v1", needs_key=True),
    "ollama": _Provider("http://localhost:11434/v1", needs_key=False),
    "lmstudio": _Provider("http://localhost:1234/v1", needs_key=False),
    "vllm": _Provider("http://localhost:8000/v1", needs_key=False),
    "llamacpp": _Provider("http://localhost:8080/v1", needs_key=False),
}
"""The providers known by name, with their default base URL and whether they need a key."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def resolve_model(
    spec: str,
    *,
    env: Mapping[str, str] | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = 300.0,
    session: aiohttp.ClientSession | None = None,
    retry: RetryPolicy | None = None,
) -> LanguageModel:
    """Return the model named by ``"provider/model"``, configured from the environment.

    Args:
        spec: ``"openai/gpt-4o-mini"``, ``"anthropic/claude-haiku-4-5"``,
            ``"ollama/llama3.2"`` … (see the module docstring for the providers).
        env: Where to read keys and base URLs (default: ``os.environ``).
        api_key: Overrides ``<PROVIDER>_API_KEY``.
        base_url: Overrides ``<PROVIDER>_BASE_URL``.
        headers: Extra headers for every request.
        timeout: See :class:`~rxagents.models.providers.OpenAIChatModel`.
        session: A caller-owned ``aiohttp.ClientSession``.
        retry: The retry policy.

    Raises:
        ConfigurationError: The string is malformed or the provider is unknown.
        MissingApiKeyError: The provider's API key is missing (``variable`` names it).

    Example:
        >>> model = resolve_model("openai/gpt-4o-mini")  # doctest: +SKIP
    """
    environment = os.environ if env is None else env
    provider, model_id = _split(spec)
    prefix = provider.upper().replace("-", "_")
    known = PROVIDERS.get(provider)
    url = base_url or environment.get(f"{prefix}_BASE_URL", "").strip()
    if known is None and not url:
        raise ConfigurationError(
            f"unknown model provider {provider!r} in {spec!r}: use one of "
            f"{', '.join(sorted(PROVIDERS))}, or set {prefix}_BASE_URL to the URL of an "
            "OpenAI-compatible server"
        )
    default_url = known.base_url if known is not None else ""
    url = (url or default_url).rstrip("/")
    key = api_key if api_key is not None else environment.get(f"{prefix}_API_KEY", "").strip()
    hosted = (
        known is not None
        and known.needs_key
        and url.removesuffix("/v1") == (default_url.removesuffix("/v1"))
    )
    if hosted and not key:
        raise MissingApiKeyError(
            f"{spec!r} needs an API key: set {prefix}_API_KEY (or pass api_key=...)",
            variable=f"{prefix}_API_KEY",
        )
    if known is not None and known.protocol == "anthropic":
        return AnthropicModel(
            model_id,
            api_key=key,
            base_url=url,
            headers=headers,
            timeout=timeout,
            session=session,
            retry=retry,
            provider=provider,
        )
    return OpenAIChatModel(
        model_id,
        api_key=key,
        base_url=url,
        headers=headers,
        timeout=timeout,
        session=session,
        retry=retry,
        provider=provider,
    )


def default_model(env: Mapping[str, str] | None = None) -> LanguageModel | None:
    """Return the real model named by ``RXAGENTS_MODEL`` when it is set and usable, else ``None``.

    Demos call this and fall back to the embedded scripted model on ``None``, so they run
    offline by default and against a real provider when one is configured
    (``RXAGENTS_MODEL=openai/gpt-4o-mini`` plus ``OPENAI_API_KEY``).

    Raises:
        ConfigurationError: ``RXAGENTS_MODEL`` is malformed or names an unknown provider.
    """
    environment = os.environ if env is None else env
    spec = environment.get("RXAGENTS_MODEL", "").strip()
    if not spec:
        return None
    try:
        return resolve_model(spec, env=environment)
    except MissingApiKeyError as err:
        _log.info("RXAGENTS_MODEL=%s is not usable (%s); using the embedded model", spec, err)
        return None


def _split(spec: str) -> tuple[str, str]:
    if not isinstance(spec, str):
        raise ConfigurationError(f"a model string is 'provider/model', got {spec!r}")
    provider, slash, model_id = spec.strip().partition("/")
    if not slash or not model_id or not _NAME.match(provider):
        raise ConfigurationError(
            f"a model string is 'provider/model' (e.g. 'openai/gpt-4o-mini'), got {spec!r}"
        )
    return provider.lower(), model_id
