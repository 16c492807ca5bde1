"""Real model providers over aiohttp: OpenAI (and compatible servers) and Anthropic.

Both stream server-sent events, share one ``aiohttp.ClientSession`` per event loop unless given
their own, and retry transient failures before the first part under a :class:`RetryPolicy`.
Model strings (``"openai/gpt-4o-mini"``) are resolved by ``rxagents.models.resolve_model``.
"""

from rxagents._core.http import RetryPolicy as RetryPolicy
from rxagents._core.http import close_shared_session as close_shared_session
from rxagents.models.providers.anthropic import AnthropicModel as AnthropicModel
from rxagents.models.providers.openai import OpenAIChatModel as OpenAIChatModel

__all__ = ("AnthropicModel", "OpenAIChatModel", "RetryPolicy", "close_shared_session")
