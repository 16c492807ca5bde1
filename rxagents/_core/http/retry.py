"""The one retry engine for HTTP requests (tenacity), with its policy as data.

Providers (:mod:`rxagents.models`) and the remote client (:mod:`rxagents.adapters.client`)
both retry through :func:`retry_transient`: an attempt signals a transient failure by raising
:class:`Retryable`; the :class:`RetryPolicy` says how many attempts, how long to wait, and
whether to honour the server's own wait (``Retry-After`` and rate-limit reset headers, read by
:func:`~rxagents._core.http.wait_hints.retry_after_seconds`). Cancellation is never retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, stop_before_delay

from rxagents.errors import ConfigurationError

__all__ = ("DEFAULT_RETRY_STATUSES", "RetryPolicy", "Retryable", "Sleep", "retry_transient")

_T = TypeVar("_T")

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
"""Statuses retried by default: timeouts, conflicts, rate limits, server errors, overload."""

Sleep = Callable[[float], Awaitable[None]]
"""How a retry waits: ``asyncio.sleep`` by default; tests inject a recorder."""


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry a model request, as data users can override.

    Only transient failures are retried, and only before the first part went downstream:
    connect errors, timeouts before the first part, a connection dropped before the first part,
    and responses whose status is in ``retry_statuses``. Waits grow exponentially from
    ``initial_backoff`` (times ``multiplier`` per attempt, at most ``max_backoff``), shortened
    at random by up to ``jitter`` (a fraction: 0 is none, 1 is "full jitter"). When the
    server says how long to wait (``Retry-After`` in seconds or as an HTTP date,
    ``retry-after-ms``, or a rate-limit reset header whose limit is exhausted), that wait is used
    instead; a server asking for more than ``max_retry_after`` seconds is not retried.
    Retrying stops after ``max_attempts`` attempts or when the next wait would end after
    ``max_elapsed`` seconds; the last error is then reported.

    Example:
        >>> patient = RetryPolicy(max_attempts=6, max_elapsed=120.0)
        >>> never = RetryPolicy.disabled()
        >>> quick = RetryPolicy(jitter=0.0, sleep=my_fake_sleep)  # doctest: +SKIP
    """

    max_attempts: int = 3
    """Attempts in all, the first one included (1 disables retries)."""
    max_elapsed: float = 60.0
    """Seconds from the first attempt after which no new attempt starts."""
    initial_backoff: float = 0.5
    """The first wait, in seconds."""
    max_backoff: float = 8.0
    """The longest computed wait, in seconds."""
    jitter: float = 0.5
    """Fraction of each computed wait removed at random (0 to 1)."""
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    """HTTP statuses that are retried."""
    multiplier: float = 2.0
    """Growth factor of the wait per attempt."""
    respect_retry_after: bool = True
    """Use the server's ``Retry-After`` or rate-limit reset headers when present."""
    max_retry_after: float = 60.0
    """Give up instead of waiting when the server asks for longer than this."""
    sleep: Sleep = field(default=asyncio.sleep, repr=False, compare=False)
    """The coroutine that waits (inject one in tests so they never wait)."""
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    """Source of jitter in ``[0, 1)``."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("RetryPolicy.max_attempts must be an int >= 1")
        for name in ("max_elapsed", "initial_backoff", "max_backoff", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"RetryPolicy.{name} must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigurationError("RetryPolicy.jitter is a fraction between 0 and 1")
        if self.multiplier < 1.0:
            raise ConfigurationError("RetryPolicy.multiplier must be >= 1")
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """Return a policy that never retries."""
        return cls(max_attempts=1)

    def backoff(self, attempt: int) -> float:
        """Return the computed wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return base * (1.0 - self.jitter * self.random())


class Retryable(Exception):
    """A transient failure of one attempt; ``error`` is raised if no retry follows.

    Attributes:
        error: What the caller sees when retries run out (or are not allowed).
        retry_after: The server's requested wait in seconds, if it gave one.
    """

    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _failure(rs: RetryCallState) -> BaseException | None:
    return rs.outcome.exception() if rs.outcome is not None else None


async def retry_transient(
    attempt: Callable[[], Awaitable[_T]],
    policy: RetryPolicy,
    *,
    what: str,
    log: logging.Logger,
    may_retry: Callable[[], bool] = lambda: True,
) -> _T:
    """Run ``attempt`` until it succeeds, retrying the :class:`Retryable` failures it raises.

    A retry happens only while ``may_retry()`` is true (a provider says no once a part went
    downstream, everyone once the caller left), within the policy's attempts and elapsed time,
    and not when the server asks to wait longer than ``policy.max_retry_after``.

    Args:
        attempt: One try; raises :class:`Retryable` for a failure worth another try.
        policy: How many tries and how long to wait between them.
        what: Names the request in the log line of each retry.
        log: Where each retry is logged (at INFO), the caller's logger.
        may_retry: Whether a retry is still allowed, asked after each failed attempt.

    Returns:
        What the successful attempt returned.

    Raises:
        Exception: The last attempt's error: a :class:`Retryable`'s ``error`` (chained to its
            cause), or any other exception as raised.
    """

    def should_retry(rs: RetryCallState) -> bool:
        err = _failure(rs)
        if not isinstance(err, Retryable) or not may_retry():
            return False
        hint = err.retry_after
        return not (
            policy.respect_retry_after and hint is not None and hint > policy.max_retry_after
        )

    def wait(rs: RetryCallState) -> float:
        err = _failure(rs)
        hint = err.retry_after if isinstance(err, Retryable) else None
        if hint is not None and policy.respect_retry_after:
            return hint
        return policy.backoff(rs.attempt_number)

    def log_retry(rs: RetryCallState) -> None:
        err = _failure(rs)
        shown: Any = err.error if isinstance(err, Retryable) else err
        log.info(
            "retrying %s (attempt %d failed: %s); waiting %.2f s",
            what,
            rs.attempt_number,
            shown,
            rs.upcoming_sleep,
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.max_elapsed),
        wait=wait,
        retry=should_retry,
        sleep=policy.sleep,
        before_sleep=log_retry,
        reraise=True,
    )

    async def once() -> _T:  # a coroutine function: tenacity calls anything else synchronously
        return await attempt()

    try:
        return await retrying(once)
    except Retryable as failure:
        raise failure.error from failure.__cause__
