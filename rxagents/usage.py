"""Token usage: a monoid (``+`` with :data:`Usage.zero`) so aggregation is a fold."""

from __future__ import annotations

from typing import ClassVar

from pydantic import MISSING

from rxagents._core.wire import WireModel, trusted_builder

__all__ = ("Usage",)


class Usage(WireModel):
    """Token counts of one or more model calls.

    Wire form: ``{inputTokens, outputTokens, totalTokens, reasoningTokens?, cachedInputTokens?,
    cacheCreationInputTokens?}``; other keys a provider sends (Mastra's ``raw``) are kept but
    never summed.

    Example:
        >>> (Usage(input_tokens=15, output_tokens=5) + Usage(input_tokens=30, output_tokens=8))
        Usage(input_tokens=45, output_tokens=13, total_tokens=58)
    """

    zero: ClassVar[Usage]

    input_tokens: int = 0
    """Tokens in the prompt."""
    output_tokens: int = 0
    """Tokens generated."""
    total_tokens: int = -1
    """Input plus output (computed when not given)."""
    reasoning_tokens: int | MISSING = MISSING
    """Tokens spent on reasoning, when the provider reports them."""
    cached_input_tokens: int | MISSING = MISSING
    """Prompt tokens served from cache, when the provider reports them."""
    cache_creation_input_tokens: int | MISSING = MISSING
    """Prompt tokens written to the provider's cache, when it reports them."""

    def model_post_init(self, context: object, /) -> None:
        """Compute ``total_tokens`` when it was not given."""
        if self.total_tokens < 0:
            object.__setattr__(self, "total_tokens", self.input_tokens + self.output_tokens)

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        reasoning = _add_optional(self.reasoning_tokens, other.reasoning_tokens)
        cached = _add_optional(self.cached_input_tokens, other.cached_input_tokens)
        creation = _add_optional(
            self.cache_creation_input_tokens, other.cache_creation_input_tokens
        )
        return _sum(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.total_tokens + other.total_tokens,
            reasoning,
            cached,
            creation,
        )

    def filled(self) -> Usage:
        """Return the counters only, every optional one present (0 when unknown).

        This is the shape of aggregate usage on the wire (``workflow-finish``,
        ``network-execution-event-finish``): six counters, no provider ``raw``.
        """
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            total_tokens=self.total_tokens,
            reasoning_tokens=_or_zero(self.reasoning_tokens),
            cached_input_tokens=_or_zero(self.cached_input_tokens),
            cache_creation_input_tokens=_or_zero(self.cache_creation_input_tokens),
        )

    def __repr__(self) -> str:
        parts = [
            f"input_tokens={self.input_tokens}",
            f"output_tokens={self.output_tokens}",
            f"total_tokens={self.total_tokens}",
        ]
        if self.reasoning_tokens is not MISSING:
            parts.append(f"reasoning_tokens={self.reasoning_tokens}")
        if self.cached_input_tokens is not MISSING:
            parts.append(f"cached_input_tokens={self.cached_input_tokens}")
        if self.cache_creation_input_tokens is not MISSING:
            parts.append(f"cache_creation_input_tokens={self.cache_creation_input_tokens}")
        return f"Usage({', '.join(parts)})"

    __str__ = __repr__

    def counters(self) -> tuple[int, int, int, int, int, int]:
        """Return the counters as a tuple (absent ones as 0), for comparisons."""
        return (
            self.input_tokens,
            self.output_tokens,
            self.total_tokens,
            _or_zero(self.reasoning_tokens),
            _or_zero(self.cached_input_tokens),
            _or_zero(self.cache_creation_input_tokens),
        )


def _or_zero(value: int | MISSING) -> int:
    return 0 if value is MISSING else value


def _add_optional(a: int | MISSING, b: int | MISSING) -> int | MISSING:
    if a is MISSING:
        return b
    if b is MISSING:
        return a
    return a + b


Usage.zero = Usage(input_tokens=0, output_tokens=0, total_tokens=0)

_sum = trusted_builder(
    Usage,
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "reasoning_tokens",
    "cached_input_tokens",
    "cache_creation_input_tokens",
)
"""A sum of two usages, built without validation: its counters are ints already (fields set:
all six, as ``Usage(...)`` given every counter, absent ones as ``MISSING``)."""
