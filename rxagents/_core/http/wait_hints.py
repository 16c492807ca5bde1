"""Server wait hints: ``Retry-After`` and the providers' rate-limit reset headers."""

from __future__ import annotations

import contextlib
import email.utils
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime

__all__ = ("retry_after_seconds",)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_RESET_PAIRS: tuple[tuple[str, str], ...] = (
    # OpenAI (and Groq, OpenRouter …): durations such as "1s", "6m0s", "20ms".
    ("x-ratelimit-reset-requests", "x-ratelimit-remaining-requests"),
    ("x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"),
    # Anthropic: RFC 3339 timestamps.
    ("anthropic-ratelimit-requests-reset", "anthropic-ratelimit-requests-remaining"),
    ("anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-tokens-remaining"),
    ("anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-input-tokens-remaining"),
    ("anthropic-ratelimit-output-tokens-reset", "anthropic-ratelimit-output-tokens-remaining"),
)


def retry_after_seconds(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """Return how long the server asked the client to wait, or ``None`` if it did not say.

    Reads, in order: ``retry-after-ms``; ``Retry-After`` as seconds or as an HTTP date; and the
    rate-limit reset headers of OpenAI (``x-ratelimit-reset-*``, durations like ``6m0s``) and
    Anthropic (``anthropic-ratelimit-*-reset``, RFC 3339 times) for limits whose ``remaining``
    is 0 (the longest of them).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("retry-after-ms")
    if value is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(value) / 1000.0)
    value = lower.get("retry-after")
    if value is not None:
        seconds = _seconds_or_date(value.strip(), now)
        if seconds is not None:
            return seconds
    waits = [
        wait
        for reset, remaining in _RESET_PAIRS
        if reset in lower and lower.get(remaining, "").strip() == "0"
        for wait in [_reset_wait(lower[reset].strip(), now)]
        if wait is not None
    ]
    return max(waits) if waits else None


def _seconds_or_date(value: str, now: Callable[[], float]) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now())


def _reset_wait(value: str, now: Callable[[], float]) -> float | None:
    matches = _DURATION.findall(value)
    if matches and "".join(n + u for n, u in matches) == value:
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(n) * scale[u] for n, u in matches)
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now())
