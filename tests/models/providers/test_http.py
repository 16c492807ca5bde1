"""The HTTP layer: retry policy as data, server wait hints, the shared session's lifetime."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp
import pytest

from rxagents.errors import ConfigurationError
from rxagents.models._http import (
    DEFAULT_RETRY_STATUSES,
    RetryPolicy,
    close_shared_session,
    error_message,
    redact,
    retry_after_seconds,
    shared_session,
)

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


# --- errors --------------------------------------------------------------------------------------


def test_error_message_understands_provider_error_bodies() -> None:
    openai = '{"error": {"message": "bad tool", "type": "invalid_request_error"}}'
    anthropic = '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'
    assert error_message(openai) == "bad tool (invalid_request_error)"
    assert error_message(anthropic) == "Overloaded (overloaded_error)"
    assert error_message('{"detail": "Not Found"}') == "Not Found"
    assert error_message("<html>") is None


def test_redact_removes_every_secret() -> None:
    assert redact("key sk-abc123 twice sk-abc123", ["sk-abc123"]) == (
        "key [redacted] twice [redacted]"
    )


# --- the shared session --------------------------------------------------------------------------


def test_shared_session_is_closed_when_the_loop_shuts_down() -> None:
    sessions: list[aiohttp.ClientSession] = []

    async def main() -> None:
        first = await shared_session()
        assert await shared_session() is first  # one per loop
        sessions.append(first)

    asyncio.run(main())
    asyncio.run(main())
    first, second = sessions
    assert first is not second
    assert first.closed
    assert second.closed
    sessions.clear()
    del first, second
    gc.collect()  # an unclosed session would warn here, and warnings are errors


async def test_close_shared_session_closes_now_and_a_new_one_follows() -> None:
    first = await shared_session()
    await close_shared_session()
    assert first.closed
    second = await shared_session()
    assert second is not first
    assert not second.closed
