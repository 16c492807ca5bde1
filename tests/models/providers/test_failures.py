"""Failure modes over both providers: retries before the first part, error parts after it,
typed provider errors without secrets, idle timeouts, and cancellation down to the socket."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import aiohttp
import pytest

from rxagents.errors import (
    ConfigurationError,
    IdleTimeoutError,
    MalformedStreamError,
    ProviderError,
)
from rxagents.models import ModelCall
from rxagents.models.providers import AnthropicModel, OpenAIChatModel, RetryPolicy

API_KEY = "sk-test-SECRET-0123456789abcdef"
CALL = ModelCall(prompt=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
PIECES = ["Hel", "lo", " there", "!"]
STALL_TIMEOUT = 0.25  # real seconds of silence: short, with room for a loaded CI machine


@dataclass
class Kit:
    """One provider's fake server and wire builders, behind a common face."""

    name: str
    server: Any
    fakes: ModuleType
    retry: RetryPolicy

    def model(self, **kwargs: Any) -> Any:
        kwargs.setdefault("retry", self.retry)
        kwargs.setdefault("api_key", API_KEY)
        if self.name == "openai":
            return OpenAIChatModel("gpt-4o-mini", base_url=f"{self.server.url}/v1", **kwargs)
        return AnthropicModel("claude-haiku-4-5", base_url=self.server.url, **kwargs)

    def headers(self, **extra: str) -> dict[str, str]:
        builder = (
            self.fakes.openai_headers if self.name == "openai" else self.fakes.anthropic_headers
        )
        headers: dict[str, str] = builder(**extra)
        return headers

    def frames(self) -> list[bytes]:
        frames: list[bytes] = (
            self.fakes.openai_frames([{"content": p} for p in PIECES])
            if self.name == "openai"
            else self.fakes.anthropic_frames([self.fakes.Text(PIECES)])
        )
        return frames

    def frames_before_any_part(self) -> list[bytes]:
        """Frames that only carry metadata (held back, so a retry repeats nothing)."""
        return self.frames()[:1]

    def frames_through_text(self, count: int) -> list[bytes]:
        """Frames up to and including the ``count``-th text delta."""
        return self.frames()[: (1 if self.name == "openai" else 3) + count]

    def text(self) -> Any:
        return self.fakes.Reply(headers=self.headers(), frames=self.frames())

    def partial(self, frames: list[bytes], then: str) -> Any:
        return self.fakes.Reply(headers=self.headers(), frames=frames, then=then)

    def error(self, status: int, message: str, **headers: str) -> Any:
        if self.name == "openai":
            return self.fakes.openai_error(status, message, type="server_error", **headers)
        return self.fakes.anthropic_error(status, message, type="api_error", **headers)

    def malformed(self) -> bytes:
        if self.name == "openai":
            return b'data: {"id": "chatcmpl-x", "choices": [\n\n'
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n'


@pytest.fixture(params=["openai", "anthropic"])
def kit(request: pytest.FixtureRequest, fakes: ModuleType, retry: RetryPolicy) -> Kit:
    server = request.getfixturevalue(f"{request.param}_server")
    return Kit(request.param, server, fakes, retry)


# --- retries before the first part ---------------------------------------------------------------


async def test_429_with_retry_after_waits_as_asked_then_succeeds(kit: Kit, sleeps: Any) -> None:
    kit.server.script(kit.error(429, "Rate limit reached", **{"Retry-After": "2"}), kit.text())
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert got.text == "Hello there!"
    assert got.completed
    assert sleeps.waits == [2.0]
    assert len(kit.server.requests) == 2


async def test_429_with_exhausted_rate_limit_waits_until_its_reset(kit: Kit, sleeps: Any) -> None:
    if kit.name == "openai":
        hints = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"}
        expected = 1.5
    else:
        reset = datetime.now(UTC) + timedelta(seconds=30)
        hints = {
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset.isoformat().replace("+00:00", "Z"),
        }
        expected = 30.0
    kit.server.script(kit.error(429, "Rate limited", **hints), kit.text())
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert got.text == "Hello there!"
    assert sleeps.waits == [pytest.approx(expected, abs=2.0)]


async def test_500_twice_then_success_backs_off_exponentially(kit: Kit, sleeps: Any) -> None:
    kit.server.script(kit.error(500, "oops"), kit.error(500, "oops"), kit.text())
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert got.text == "Hello there!"
    assert got.types.count("text-start") == 1
    assert sleeps.waits == [0.5, 1.0]
    assert len(kit.server.requests) == 3


async def test_retries_run_out_and_the_last_error_is_raised(kit: Kit, sleeps: Any) -> None:
    kit.server.script(*(kit.error(503, "unavailable") for _ in range(3)), kit.text())
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert isinstance(got.error, ProviderError)
    assert got.error.status == 503
    assert got.parts == []
    assert len(kit.server.requests) == 3
    assert len(sleeps.waits) == 2


async def test_max_elapsed_stops_retrying_before_a_wait_that_would_pass_it(kit: Kit) -> None:
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    policy = RetryPolicy(max_attempts=5, max_elapsed=5.0, jitter=0.0, sleep=record)
    kit.server.script(kit.error(429, "slow down", **{"Retry-After": "10"}), kit.text())
    got = await kit.fakes.collect(kit.model(retry=policy).do_stream(CALL))
    assert isinstance(got.error, ProviderError)
    assert got.error.status == 429
    assert sleeps == []


async def test_retry_after_longer_than_allowed_is_not_waited_for(kit: Kit, sleeps: Any) -> None:
    kit.server.script(kit.error(429, "come back in an hour", **{"Retry-After": "3600"}))
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert isinstance(got.error, ProviderError)
    assert got.error.status == 429
    assert sleeps.waits == []
    assert len(kit.server.requests) == 1


async def test_400_is_not_retried_and_raises_a_typed_provider_error(kit: Kit, sleeps: Any) -> None:
    kit.server.script(kit.error(400, "messages: field required"), kit.text())
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    error = got.error
    assert isinstance(error, ProviderError)
    assert error.status == 400
    assert error.provider == kit.name
    assert "messages: field required" in str(error)
    assert "messages: field required" in error.body
    assert error.headers["Content-Type"] == "application/json"
    assert got.parts == []
    assert len(kit.server.requests) == 1
    assert sleeps.waits == []


async def test_drop_before_any_part_is_retried_and_repeats_nothing(kit: Kit, sleeps: Any) -> None:
    kit.server.script(kit.partial(kit.frames_before_any_part(), "drop"), kit.text())
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert got.completed
    assert got.text == "Hello there!"
    assert got.types.count("response-metadata") == 1
    assert got.types.count("stream-start") == 1
    assert len(kit.server.requests) == 2
    assert sleeps.waits == [0.5]


async def test_stall_before_any_part_is_retried(kit: Kit, sleeps: Any) -> None:
    kit.server.script(kit.partial([], "stall"), kit.text())
    got = await kit.fakes.collect(kit.model(timeout=STALL_TIMEOUT).do_stream(CALL))
    assert got.text == "Hello there!"
    assert len(kit.server.requests) == 2
    await asyncio.wait_for(kit.server.disconnected.wait(), 5)


async def test_connection_refused_is_retried_then_reported(kit: Kit, sleeps: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    model: OpenAIChatModel | AnthropicModel
    if kit.name == "openai":
        model = OpenAIChatModel("m", base_url=f"{url}/v1", api_key=API_KEY, retry=kit.retry)
    else:
        model = AnthropicModel("m", base_url=url, api_key=API_KEY, retry=kit.retry)
    got = await kit.fakes.collect(model.do_stream(CALL))
    assert isinstance(got.error, ProviderError)
    assert got.error.status is None
    assert "could not reach" in str(got.error)
    assert len(sleeps.waits) == 2


# --- after the first part: error parts, never a retry --------------------------------------------


async def test_drop_mid_stream_becomes_an_error_part_and_keeps_the_text(
    kit: Kit, sleeps: Any
) -> None:
    kit.server.script(kit.partial(kit.frames_through_text(2), "drop"), kit.text())
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert got.text == "Hello"
    assert got.types[-2:] == ["error", "finish"]
    error = got.of("error")[0].error
    assert isinstance(error, ProviderError)
    assert "closed before the stream ended" in str(error)
    assert got.parts[-1].finish_reason == "error"
    assert got.completed
    assert len(kit.server.requests) == 1  # never retried: the text is not repeated
    assert sleeps.waits == []


async def test_stall_mid_stream_becomes_an_idle_timeout_error_part(kit: Kit, sleeps: Any) -> None:
    kit.server.script(kit.partial(kit.frames_through_text(1), "stall"), kit.text())
    got = await kit.fakes.collect(kit.model(timeout=STALL_TIMEOUT).do_stream(CALL))
    assert got.text == "Hel"
    error = got.of("error")[0].error
    assert isinstance(error, IdleTimeoutError)
    assert isinstance(error, TimeoutError)
    assert got.parts[-1].finish_reason == "error"
    assert len(kit.server.requests) == 1
    await asyncio.wait_for(kit.server.disconnected.wait(), 5)  # the client hung up


async def test_malformed_json_becomes_an_error_part_after_the_text(kit: Kit, sleeps: Any) -> None:
    frames = [*kit.frames_through_text(1), kit.malformed(), *kit.frames()[-3:]]
    kit.server.script(kit.fakes.Reply(headers=kit.headers(), frames=frames))
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert got.text == "Hel"
    error = got.of("error")[0].error
    assert isinstance(error, MalformedStreamError)
    assert "not a JSON object" in str(error)
    assert got.types[-2:] == ["error", "finish"]
    assert len(kit.server.requests) == 1


async def test_an_answer_that_is_not_an_event_stream_is_a_provider_error(kit: Kit) -> None:
    body = b'{"id": "x", "choices": []}'
    reply = kit.fakes.Reply(headers={"Content-Type": "application/json"}, body=body)
    kit.server.script(reply)
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert isinstance(got.error, ProviderError)
    assert "instead of an event stream" in str(got.error)


# --- secrets -------------------------------------------------------------------------------------


def assert_no_key(error: BaseException) -> None:
    assert isinstance(error, ProviderError)
    for text in (str(error), repr(error), error.body, repr(error.args), repr(error.headers)):
        assert API_KEY not in text
    assert "[redacted]" in str(error) + error.body


async def test_errors_never_contain_the_api_key(kit: Kit) -> None:
    echo = f"Incorrect API key provided: {API_KEY}."
    kit.server.script(kit.error(401, echo, **{"x-echo": API_KEY}))
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert got.error is not None
    assert_no_key(got.error)
    assert "check the API key" in str(got.error)
    assert got.error.headers["x-echo"] == "[redacted]"


async def test_stream_error_events_never_contain_the_api_key(kit: Kit) -> None:
    if kit.name == "openai":
        frame = kit.fakes.openai_frame({"error": {"message": f"key {API_KEY} revoked"}})
    else:
        error = {"type": "error", "error": {"type": "authentication_error", "message": API_KEY}}
        frame = kit.fakes.anthropic_frame(error)
    kit.server.script(kit.fakes.Reply(headers=kit.headers(), frames=[*kit.frames()[:3], frame]))
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert_no_key(got.of("error")[0].error)


# --- cancellation and sessions -------------------------------------------------------------------


async def test_disposing_closes_the_response_and_the_server_sees_it(kit: Kit, sleeps: Any) -> None:
    kit.server.script(kit.partial(kit.frames_through_text(1), "stall"), kit.text())
    seen: list[Any] = []
    first_text = asyncio.get_running_loop().create_future()

    def on_next(part: Any) -> None:
        seen.append(part)
        if part.type == "text-delta" and not first_text.done():
            first_text.set_result(None)

    subscription = kit.model().do_stream(CALL).subscribe(on_next)
    await first_text
    subscription.dispose()
    count = len(seen)
    await asyncio.wait_for(kit.server.disconnected.wait(), 5)
    assert kit.server.disconnects == 1
    assert len(seen) == count  # nothing after disposal
    assert len(kit.server.requests) == 1  # cancellation is never retried
    assert sleeps.waits == []


async def test_a_session_passed_in_is_used_and_left_open(kit: Kit) -> None:
    async with aiohttp.ClientSession(headers={"X-Owner": "caller"}) as session:
        kit.server.script(kit.text())
        got = await kit.fakes.collect(kit.model(session=session).do_stream(CALL))
        assert got.text == "Hello there!"
        assert kit.server.requests[0].headers["X-Owner"] == "caller"
        assert kit.server.requests[0].headers["User-Agent"].startswith("rxagents")
        assert not session.closed


async def test_x_should_retry_overrides_the_status_rule(kit: Kit, sleeps: Any) -> None:
    kit.server.script(
        kit.error(409, "lock held", **{"x-should-retry": "true"}),
        kit.error(500, "do not bother", **{"x-should-retry": "false"}),
        kit.text(),
    )
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert isinstance(got.error, ProviderError)
    assert got.error.status == 500
    assert len(kit.server.requests) == 2
    assert sleeps.waits == [0.5]


async def test_credentials_given_as_headers_are_redacted_too(kit: Kit) -> None:
    token = "azure-SECRET-token-987654"
    kit.server.script(kit.error(401, f"bad key {token}"))
    model = kit.model(api_key="", headers={"api-key": token})
    got = await kit.fakes.collect(model.do_stream(CALL))
    assert got.error is not None
    assert token not in str(got.error)
    assert isinstance(got.error, ProviderError)
    assert token not in got.error.body


async def test_an_event_over_the_size_cap_becomes_an_error_part_after_the_text(kit: Kit) -> None:
    # 17 MiB in one unterminated data line, 1 MiB per write: past the decoder's 16 MiB cap.
    megabyte = b"x" * (1024 * 1024)
    frames = [*kit.frames_through_text(1), b"data: ", *[megabyte] * 17]
    kit.server.script(kit.fakes.Reply(headers=kit.headers(), frames=frames))
    got = await kit.fakes.collect(kit.model().do_stream(CALL))
    assert got.text == "Hel"
    error = got.of("error")[0].error
    assert isinstance(error, MalformedStreamError)
    assert "larger than 16777216 bytes" in str(error)
    assert got.types[-2:] == ["error", "finish"]
    assert len(kit.server.requests) == 1


async def test_the_event_size_cap_is_a_model_setting(kit: Kit) -> None:
    event = b"data: " + b"x" * 2000 + b"\n\n"
    frames = [*kit.frames_through_text(1), event]
    kit.server.script(kit.fakes.Reply(headers=kit.headers(), frames=frames))
    got = await kit.fakes.collect(kit.model(max_event_size=1000).do_stream(CALL))
    assert got.text == "Hel"
    assert "larger than 1000 bytes" in str(got.of("error")[0].error)
    with pytest.raises(ConfigurationError):
        kit.model(max_event_size=0)
