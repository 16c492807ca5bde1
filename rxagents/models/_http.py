"""HTTP for model providers: the shared session, the retry policy, one task per stream.

Only ``models/`` and ``adapters/`` speak HTTP. A provider describes one request
(:class:`HttpStreamRequest`) and how to decode its body (a :class:`StreamDecoder`);
:func:`http_stream` turns that into a cold ``Observable[ModelPart]``:

- subscribing starts one ``asyncio.Task``; disposing cancels it, which closes the HTTP response
  (the server sees the disconnect);
- an *attempt* lasts from the request until the first part goes downstream; connect errors,
  timeouts, retryable statuses and drops before that point are retried under a
  :class:`RetryPolicy` (tenacity), honouring ``Retry-After`` and the providers' rate-limit reset
  headers; nothing is retried after the first part, so no text is ever duplicated, and
  cancellation is never retried;
- a failure before the provider answered ``200`` is sent as ``on_error`` (a
  :class:`~rxagents.errors.ProviderError` with status, truncated body and headers); a failure
  while reading the stream (a drop, malformed data, an idle timeout) becomes an ``error`` part
  followed by ``finish`` with reason ``error``, and the parts before it stay delivered.

Error messages, bodies and headers never contain the API key: every secret of the request is
redacted before an error leaves this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import importlib.metadata
import json
import logging
import random
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, final
from weakref import WeakKeyDictionary

import aiohttp
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, stop_before_delay

from rxagents.errors import ConfigurationError, IdleTimeoutError, ProviderError, RunError
from rxagents.models._parts import FinishPart, ModelErrorPart, ModelPart, StreamStartPart

__all__ = (
    "DEFAULT_RETRY_STATUSES",
    "HttpStreamRequest",
    "RetryPolicy",
    "StreamDecoder",
    "close_shared_session",
    "error_message",
    "http_stream",
    "redact",
    "retry_after_seconds",
    "shared_session",
)

_log = logging.getLogger(__name__)

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
"""Statuses retried by default: timeouts, conflicts, rate limits, server errors, overload."""


def _user_agent() -> str:
    try:
        return f"rxagents/{importlib.metadata.version('rxagents')}"
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "rxagents"


_USER_AGENT = _user_agent()
_MAX_ERROR_BODY = 64 * 1024
_BODY_IN_ERROR = 2000
_CONNECT_TIMEOUT = 30.0
_HELD_PARTS = frozenset({"stream-start", "response-metadata"})
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)

Sleep = Callable[[float], Awaitable[None]]
"""How a retry waits: ``asyncio.sleep`` by default; tests inject a recorder."""


# --- the retry policy --------------------------------------------------------------------------


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


# --- server hints: Retry-After and rate-limit reset headers ------------------------------------

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
    from datetime import datetime

    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now())


# --- the shared session ------------------------------------------------------------------------


@dataclass
class _LoopSession:
    session: aiohttp.ClientSession
    closer: AsyncGenerator[None, None]


_SESSIONS: WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = WeakKeyDictionary()


async def shared_session() -> aiohttp.ClientSession:
    """Return the ``aiohttp.ClientSession`` shared by models on the running event loop.

    The session is created on first use and closed automatically when the loop shuts down
    (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio and Jupyter all shut loops down
    properly), so nobody has to close it. A loop closed by hand without
    ``loop.shutdown_asyncgens()`` should ``await close_shared_session()`` first.
    """
    loop = asyncio.get_running_loop()
    entry = _SESSIONS.get(loop)
    if entry is not None and not entry.session.closed:
        return entry.session
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
    closer = _close_at_shutdown(loop, session)
    _SESSIONS[loop] = _LoopSession(session, closer)
    # The first step runs to the ``yield`` and registers the generator with the loop's
    # asyncgen hooks: ``loop.shutdown_asyncgens()`` will close it, and with it the session.
    await anext(closer)
    return session


async def _close_at_shutdown(
    loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        entry = _SESSIONS.get(loop)
        if entry is not None and entry.session is session:
            del _SESSIONS[loop]
        await session.close()


async def close_shared_session() -> None:
    """Close the running loop's shared session now (a new one is made on next use)."""
    entry = _SESSIONS.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry.closer.aclose()
        await entry.session.close()


# --- one request, streamed -----------------------------------------------------------------------


class StreamDecoder(Protocol):
    """Turns a provider's response body into model parts; one instance per attempt."""

    @property
    def is_done(self) -> bool:
        """Whether the protocol's end marker (``[DONE]``, ``message_stop``) was seen."""
        ...

    @property
    def is_complete(self) -> bool:
        """Whether the body may end here without having been cut off."""
        ...

    def feed(self, data: bytes, parts: list[ModelPart]) -> None:
        """Decode the next bytes of the body, appending the parts they complete to ``parts``.

        Raises:
            RunError: The stream is malformed or reported an error; the parts appended before
                the failure are still delivered.
        """
        ...

    def end(self) -> list[ModelPart]:
        """Return the parts that close the stream (open blocks, tool calls, ``finish``)."""
        ...


@dataclass(frozen=True)
class HttpStreamRequest:
    """One streaming POST to a provider, with how to read its answer."""

    provider: str
    """The provider's name, used in error messages."""
    url: str
    """Where to POST."""
    headers: Mapping[str, str]
    """Request headers (credentials included)."""
    body: Mapping[str, Any]
    """The JSON body."""
    decoder: Callable[[], StreamDecoder]
    """Makes a fresh decoder for each attempt."""
    secrets: Sequence[str] = ()
    """Strings that must never appear in an error (the API key)."""
    warnings: Sequence[Any] = ()
    """Settings the provider does not support, sent in the ``stream-start`` part."""


def redact(text: str, secrets: Sequence[str]) -> str:
    """Return ``text`` with every secret (of 4 characters or more) replaced."""
    for secret in secrets:
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, "[redacted]")
    return text


class _Retryable(Exception):
    """A transient failure; ``error`` is what the user sees if retries run out."""

    def __init__(self, error: RunError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _State:
    __slots__ = ("disposed", "emitted", "in_body")

    def __init__(self) -> None:
        self.emitted = False
        self.in_body = False
        self.disposed = False


_TASKS: set[asyncio.Task[None]] = set()


def http_stream(
    request: HttpStreamRequest,
    *,
    session: aiohttp.ClientSession | None,
    timeout: float | None,
    retry: RetryPolicy,
) -> Observable[ModelPart]:
    """Return a cold Observable streaming one provider request as model parts.

    Args:
        request: What to send and how to decode the answer.
        session: The caller's session (never closed here), or ``None`` for the shared one.
        timeout: Seconds allowed for the response headers and between two reads of the body
            (connecting gets at most 30 s of it); ``None`` waits forever.
        retry: When to retry before the first part.
    """
    stream = _Stream(request, session, timeout, retry)

    def subscribe(
        observer: abc.ObserverBase[ModelPart], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        state = _State()
        task = asyncio.get_running_loop().create_task(stream.run(observer, state))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

        def dispose() -> None:
            state.disposed = True
            task.cancel()

        return Disposable(dispose)

    return Observable(subscribe)


@final
class _Stream:
    def __init__(
        self,
        request: HttpStreamRequest,
        session: aiohttp.ClientSession | None,
        timeout: float | None,
        retry: RetryPolicy,
    ) -> None:
        self._request = request
        self._session = session
        self._timeout = timeout
        self._connect_timeout = None if timeout is None else min(timeout, _CONNECT_TIMEOUT)
        self._retry = retry
        # Credentials passed as plain headers (Azure's api-key, a proxy's token) are secrets too.
        credentials = [
            value.removeprefix("Bearer ").strip()
            for name, value in request.headers.items()
            if name.lower() in _SECRET_HEADERS
        ]
        self._secrets = (*request.secrets, *credentials)
        self._body = json.dumps(request.body).encode()
        self._headers = {
            "User-Agent": _USER_AGENT,
            "Content-Type": "application/json",
            **request.headers,
        }

    async def run(self, observer: abc.ObserverBase[ModelPart], state: _State) -> None:
        policy = self._retry

        def should_retry(rs: RetryCallState) -> bool:
            outcome = rs.outcome
            err = outcome.exception() if outcome is not None else None
            if not isinstance(err, _Retryable) or state.emitted or state.disposed:
                return False
            hint = err.retry_after
            return not (
                policy.respect_retry_after and hint is not None and hint > policy.max_retry_after
            )

        def wait(rs: RetryCallState) -> float:
            outcome = rs.outcome
            err = outcome.exception() if outcome is not None else None
            hint = err.retry_after if isinstance(err, _Retryable) else None
            if hint is not None and policy.respect_retry_after:
                return hint
            return policy.backoff(rs.attempt_number)

        def log_retry(rs: RetryCallState) -> None:
            outcome = rs.outcome
            err = outcome.exception() if outcome is not None else None
            _log.info(
                "retrying %s request (attempt %d failed: %s); waiting %.2f s",
                self._request.provider,
                rs.attempt_number,
                err,
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
        try:
            await retrying(self._attempt, observer, state)
        except asyncio.CancelledError:
            raise
        except _Retryable as err:
            self._fail(observer, state, err.error)
        except RunError as err:
            self._fail(observer, state, err)
        except Exception as err:  # a bug in a decoder: still end the stream with an error
            _log.exception("%s stream failed", self._request.provider)
            self._fail(observer, state, RunError(self._redact(f"{type(err).__name__}: {err}")))

    def _fail(self, observer: abc.ObserverBase[ModelPart], state: _State, err: RunError) -> None:
        if state.disposed:
            return
        if not state.in_body:
            observer.on_error(err)
            return
        observer.on_next(ModelErrorPart(error=err))
        if not state.disposed:
            observer.on_next(FinishPart(finish_reason="error"))
        if not state.disposed:
            observer.on_completed()

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def _attempt(self, observer: abc.ObserverBase[ModelPart], state: _State) -> None:
        request = self._request
        state.in_body = False
        session = self._session if self._session is not None else await shared_session()
        try:
            async with asyncio.timeout(self._timeout):
                response = await session.post(
                    request.url,
                    data=self._body,
                    headers=self._headers,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout),
                )
        except TimeoutError as err:
            raise _Retryable(
                ProviderError(
                    f"{request.provider} did not answer within {self._timeout:g} s",
                    provider=request.provider,
                )
            ) from err
        except aiohttp.ClientError as err:
            raise _Retryable(
                ProviderError(
                    self._redact(f"could not reach {request.provider}: {err}"),
                    provider=request.provider,
                )
            ) from None
        finished = False
        try:
            if response.status != 200:
                raise await self._status_error(response)
            content_type = response.headers.get("Content-Type", "")
            if "text/event-stream" not in content_type:
                raise await self._status_error(response, unexpected=content_type)
            state.in_body = True
            await self._read(response, observer, state)
            finished = True
        finally:
            if finished:
                response.release()
            else:
                # Closing (not releasing) drops the connection: the server sees the client leave.
                response.close()

    async def _read(
        self, response: aiohttp.ClientResponse, observer: abc.ObserverBase[ModelPart], state: _State
    ) -> None:
        request = self._request
        decoder = request.decoder()
        held: list[ModelPart] = [StreamStartPart(warnings=list(request.warnings))]

        def emit(parts: list[ModelPart]) -> None:
            for part in parts:
                if state.disposed:
                    return
                if part.type in _HELD_PARTS:
                    # Metadata waits for the first real part, so a retry never repeats it.
                    held.append(part)
                    continue
                if held:
                    for early in held:
                        observer.on_next(early)
                    held.clear()
                state.emitted = True
                observer.on_next(part)

        content = response.content
        while True:
            try:
                async with asyncio.timeout(self._timeout):
                    data = await content.readany()
            except TimeoutError as err:
                assert self._timeout is not None
                raise _Retryable(IdleTimeoutError(self._timeout)) from err
            except (aiohttp.ClientError, ConnectionError) as err:
                raise _Retryable(self._dropped(f" ({err})")) from None
            if not data:
                if not decoder.is_complete:
                    raise _Retryable(self._dropped(""))
                break
            parts: list[ModelPart] = []
            try:
                decoder.feed(data, parts)
            finally:
                emit(parts)  # what came before a failure in the same read stays delivered
            if decoder.is_done:
                break
        emit(decoder.end())
        if not state.disposed:
            observer.on_completed()

    def _dropped(self, detail: str) -> ProviderError:
        provider = self._request.provider
        return ProviderError(
            self._redact(f"the connection to {provider} closed before the stream ended{detail}"),
            provider=provider,
        )

    async def _status_error(
        self, response: aiohttp.ClientResponse, *, unexpected: str | None = None
    ) -> Exception:
        request = self._request
        raw = b""
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, ConnectionError):
            async with asyncio.timeout(self._timeout):
                while len(raw) < _MAX_ERROR_BODY:
                    chunk = await response.content.read(_MAX_ERROR_BODY - len(raw))
                    if not chunk:
                        break
                    raw += chunk
        body = self._redact(raw.decode("utf-8", "replace"))
        headers = {
            k: self._redact(v)
            for k, v in response.headers.items()
            if k.lower() not in _SECRET_HEADERS
        }
        detail = error_message(body) or response.reason or ""
        status = response.status
        if unexpected is not None:
            what = f"{request.provider} answered {status} with {unexpected or 'no content type'}"
            message = f"{what} instead of an event stream: {detail or body[:200]}"
        else:
            message = f"{request.provider} answered {status}: {detail}"
            if status in (401, 403):
                message += " (check the API key)"
        error = ProviderError(
            self._redact(message),
            status=status,
            body=body[:_BODY_IN_ERROR],
            headers=headers,
            provider=request.provider,
        )
        if unexpected is None and _should_retry(status, headers, self._retry):
            return _Retryable(error, retry_after_seconds(headers))
        return error


def _should_retry(status: int, headers: Mapping[str, str], policy: RetryPolicy) -> bool:
    # OpenAI and Anthropic say explicitly when a retry is (not) useful; their SDKs obey.
    hint = next((v for k, v in headers.items() if k.lower() == "x-should-retry"), "").lower()
    if hint in ("true", "false"):
        return hint == "true"
    return status in policy.retry_statuses


def error_message(body: str) -> str | None:
    """Return the provider's error message from an error body, when it has one.

    Understands ``{"error": {"message", "type"}}`` (OpenAI and Anthropic), ``{"error": str}``,
    ``{"message": str}`` and ``{"detail": str}`` (FastAPI-based servers such as vLLM).
    """
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error", data)
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail")
        kind = error.get("type") or error.get("code")
        if isinstance(message, str):
            return f"{message} ({kind})" if isinstance(kind, str) and kind else message
    return None
