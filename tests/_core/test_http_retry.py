"""The retry engine: its policy as data, the server's wait hints, and the engine itself."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest

from rxagents._core.http import (
    DEFAULT_RETRY_STATUSES,
    Retryable,
    RetryPolicy,
    retry_after_seconds,
    retry_transient,
)
from rxagents.errors import ConfigurationError, ProviderError

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def clock() -> float:
    return NOW


# --- RetryPolicy ---------------------------------------------------------------------------------


def test_retry_policy_defaults_retry_transient_statuses_only() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 3
    assert {408, 409, 429, 500, 502, 503, 504, 529} == set(policy.retry_statuses)
    assert policy.retry_statuses == DEFAULT_RETRY_STATUSES
    assert not {400, 401, 403, 404, 422} & policy.retry_statuses


def test_retry_policy_backoff_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=3.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retry_policy_jitter_shortens_waits_by_at_most_its_fraction() -> None:
    lowest = RetryPolicy(initial_backoff=1.0, jitter=0.5, random=lambda: 0.999999)
    highest = RetryPolicy(initial_backoff=1.0, jitter=0.5, random=lambda: 0.0)
    assert lowest.backoff(1) == pytest.approx(0.5, abs=1e-5)
    assert highest.backoff(1) == 1.0


def test_retry_policy_is_data_users_can_replace() -> None:
    from dataclasses import replace

    policy = replace(RetryPolicy(), max_attempts=6, retry_statuses=frozenset({503}))
    assert policy.max_attempts == 6
    assert policy.retry_statuses == frozenset({503})
    assert RetryPolicy.disabled().max_attempts == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"jitter": 1.5}, {"initial_backoff": -1.0}, {"multiplier": 0.5}],
)
def test_retry_policy_refuses_settings_that_cannot_work(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# --- server wait hints ---------------------------------------------------------------------------


def test_retry_after_reads_seconds() -> None:
    assert retry_after_seconds({"Retry-After": "7"}) == 7.0


def test_retry_after_reads_an_http_date() -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
    assert retry_after_seconds({"retry-after": when}, now=clock) == pytest.approx(30.0)


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25


def test_retry_after_reads_openai_reset_durations_of_exhausted_limits() -> None:
    headers = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1m6.5s",
        "x-ratelimit-remaining-tokens": "1200",
        "x-ratelimit-reset-tokens": "20ms",
    }
    assert retry_after_seconds(headers) == pytest.approx(66.5)


def test_retry_after_reads_anthropic_reset_times_of_exhausted_limits() -> None:
    headers = {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2025-01-01T12:00:12Z",
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": "2025-01-01T12:00:04Z",
    }
    assert retry_after_seconds(headers, now=clock) == pytest.approx(12.0)


def test_retry_after_is_none_without_a_hint() -> None:
    assert retry_after_seconds({"x-ratelimit-reset-requests": "3s"}) is None
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


# --- the engine ----------------------------------------------------------------------------------

LOG = logging.getLogger("tests.retry")


def recording_policy(waits: list[float], **kwargs: Any) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return RetryPolicy(jitter=0.0, sleep=sleep, **kwargs)


async def test_retry_transient_retries_retryable_failures_until_one_succeeds() -> None:
    waits: list[float] = []
    attempts: list[int] = []

    async def attempt() -> str:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            raise Retryable(ProviderError("busy"), retry_after=0.25 if len(attempts) == 2 else None)
        return "ok"

    result = await retry_transient(attempt, recording_policy(waits), what="test", log=LOG)
    assert result == "ok"
    assert attempts == [1, 2, 3]
    assert waits == [0.5, 0.25]  # the computed backoff, then the server's hint


async def test_retry_transient_raises_the_last_error_unwrapped_with_its_cause() -> None:
    waits: list[float] = []
    cause = TimeoutError("slow")

    async def attempt() -> str:
        raise Retryable(ProviderError("gone")) from cause

    with pytest.raises(ProviderError, match="gone") as caught:
        await retry_transient(attempt, recording_policy(waits), what="test", log=LOG)
    assert caught.value.__cause__ is cause
    assert len(waits) == 2  # three attempts in all


async def test_retry_transient_stops_when_a_retry_is_no_longer_allowed() -> None:
    waits: list[float] = []
    attempts = 0

    async def attempt() -> str:
        nonlocal attempts
        attempts += 1
        raise Retryable(ProviderError("dropped"))

    with pytest.raises(ProviderError):
        await retry_transient(
            attempt, recording_policy(waits), what="test", log=LOG, may_retry=lambda: False
        )
    assert (attempts, waits) == (1, [])


async def test_retry_transient_never_retries_other_errors_or_long_server_waits() -> None:
    waits: list[float] = []

    async def refused() -> str:
        raise ProviderError("bad request")

    async def patient() -> str:
        raise Retryable(ProviderError("come back in an hour"), retry_after=3600.0)

    with pytest.raises(ProviderError, match="bad request"):
        await retry_transient(refused, recording_policy(waits), what="test", log=LOG)
    with pytest.raises(ProviderError, match="an hour"):
        await retry_transient(patient, recording_policy(waits), what="test", log=LOG)
    assert waits == []
