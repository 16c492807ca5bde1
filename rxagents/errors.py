"""The exceptions rxagents raises.

Every error the library raises on purpose derives from :class:`RxAgentsError`::

    RxAgentsError
    ├── UserError                  misuse: bad configuration or arguments, raised at call time
    │   ├── ConfigurationError     an object was built with settings that cannot work
    │   │   └── MissingApiKeyError a provider needs an API key and none is configured
    │   ├── InvalidInputError      input data failed validation (also a ValueError)
    │   │   ├── InvalidInputTypeError  input of the wrong type, or an unknown option (a TypeError)
    │   │   └── ThreadOwnershipError   the memory thread belongs to another resource
    │   ├── NotRegisteredError     no agent or workflow under that key (also a KeyError)
    │   ├── ThreadNotFoundError    no memory thread with that id (also a KeyError)
    │   ├── RunNotFoundError       no run with that id in the event log (also a KeyError)
    │   ├── RunExistsError         the event log already holds a run with that id
    │   ├── RunStateError          the run's state forbids it (resuming a run not suspended)
    │   │   └── WriterClosedError  a tool wrote after its call ended (also a RuntimeError)
    │   └── StorageClosedError     the storage was closed (also a RuntimeError)
    ├── StorageError               a storage backend failed
    │   └── StorageUnavailableError  the database cannot be reached (also a ConnectionError)
    ├── ChunkParseError            wire data is not a valid chunk (also a ValueError)
    │   └── UnknownChunkTypeError  the chunk's ``type`` is not in the vocabulary
    └── RunError                   a run failed after it started
        ├── RunFailedError         a finished run ended with an error (``raise_for_error()``)
        ├── ProviderError          a model provider answered with an error (status, body, headers)
        ├── MalformedStreamError   a stream broke its framing or ordering rules
        ├── SnapshotFormatError    a stored snapshot is not one this version reads (a ValueError)
        ├── IdleTimeoutError       no chunk arrived in time (also a TimeoutError)
        ├── ToolExecutionError     a tool raised or got invalid arguments
        ├── StepCancelledError     a step's call ended cancelled though the run did not cancel it
        ├── RemoteError            a remote rxagents or Mastra server refused a request
        └── RunLostError           a run's log cannot be continued or read to its end
            └── FencedError        this process no longer owns the run: its writes are refused

Cancellation is never an error here: cancelled work raises :class:`asyncio.CancelledError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = (
    "ChunkParseError",
    "ConfigurationError",
    "FencedError",
    "IdleTimeoutError",
    "InvalidInputError",
    "InvalidInputTypeError",
    "MalformedStreamError",
    "MissingApiKeyError",
    "NotRegisteredError",
    "ProviderError",
    "RemoteError",
    "RunError",
    "RunExistsError",
    "RunFailedError",
    "RunLostError",
    "RunNotFoundError",
    "RunStateError",
    "RxAgentsError",
    "SnapshotFormatError",
    "StepCancelledError",
    "StorageClosedError",
    "StorageError",
    "StorageUnavailableError",
    "ThreadNotFoundError",
    "ThreadOwnershipError",
    "ToolExecutionError",
    "UnknownChunkTypeError",
    "UserError",
    "WriterClosedError",
)


class RxAgentsError(Exception):
    """Root of every error rxagents raises on purpose."""


class UserError(RxAgentsError):
    """The library was used in a way that cannot work; raised eagerly at call time."""


class ConfigurationError(UserError):
    """An object was configured with settings that cannot work together."""


class MissingApiKeyError(ConfigurationError):
    """A model provider needs an API key and none is configured.

    Attributes:
        variable: The environment variable to set, e.g. ``"OPENAI_API_KEY"``.
    """

    def __init__(self, message: str, *, variable: str) -> None:
        super().__init__(message)
        self.variable = variable


class InvalidInputError(UserError, ValueError):
    """Input data failed validation before any work started."""


class InvalidInputTypeError(InvalidInputError, TypeError):
    """Input of the wrong type (``messages`` that is not a string or list), or an unknown option."""


class NotRegisteredError(UserError, KeyError):
    """No agent or workflow is registered under the requested key (also a ``KeyError``).

    Attributes:
        kind: ``"agent"`` or ``"workflow"``.
        key: The key asked for.
        known: The keys that are registered.
    """

    def __init__(self, kind: str, key: str, known: list[str]) -> None:
        listing = ", ".join(repr(k) for k in known) if known else "none"
        super().__init__(f"no {kind} is registered as {key!r}; registered {kind}s: {listing}")
        self.kind = kind
        self.key = key
        self.known = known

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0])


class ThreadNotFoundError(UserError, KeyError):
    """No memory thread has the requested id (also a ``KeyError``).

    Attributes:
        thread_id: The id asked for.
    """

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"no memory thread {thread_id!r}; create it with Memory.create_thread() or run an "
            "agent with memory={'thread': ..., 'resource': ...}, which creates it"
        )
        self.thread_id = thread_id

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0])


class RunNotFoundError(UserError, KeyError):
    """No run has the requested id in the event log: never created, or expired (a ``KeyError``).

    Attributes:
        run_id: The id asked for.
    """

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"no run {run_id!r} in the event log: it never started here, or it ended longer "
            "ago than the log's retention"
        )
        self.run_id = run_id

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0])


class RunExistsError(UserError):
    """The event log already holds a run with this id; run ids must be unique.

    Attributes:
        run_id: The id that is taken.
    """

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"the event log already holds a run {run_id!r}; give every run a fresh id (omit the "
            "run id to get a generated one)"
        )
        self.run_id = run_id


class ThreadOwnershipError(InvalidInputError):
    """The memory thread exists but belongs to another resource (or to none).

    The message never names the owner. Attributes:
        thread_id: The thread asked for.
    """

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"memory thread {thread_id!r} belongs to another resource; use a new thread id, or "
            "the resource the thread was created with"
        )
        self.thread_id = thread_id


class RunStateError(UserError):
    """The run is not in a state that allows this (not suspended, still running, …)."""


class WriterClosedError(RunStateError, RuntimeError):
    """A tool wrote to its writer after its call ended (returned, failed or was cancelled)."""


class StorageClosedError(UserError, RuntimeError):
    """The storage was closed; it cannot be used any more."""


class StorageError(RxAgentsError):
    """A storage backend failed (a database error that is not the caller's input)."""


class StorageUnavailableError(StorageError, ConnectionError):
    """The storage's database could not be reached, or the connection broke mid-call.

    Reads are retried before this is raised; a write that broke may or may not have been
    applied (check with a read before retrying a conditional update).
    """


class ChunkParseError(RxAgentsError, ValueError):
    """Wire data could not be parsed into a chunk."""


class UnknownChunkTypeError(ChunkParseError):
    """A chunk's ``type`` is not part of the vocabulary.

    Attributes:
        chunk_type: The offending ``type`` value.
    """

    def __init__(self, chunk_type: object) -> None:
        super().__init__(
            f"unknown chunk type {chunk_type!r}: not an agent, workflow or network chunk "
            "(see DESIGN section 2 for the vocabulary)"
        )
        self.chunk_type = chunk_type


class RunError(RxAgentsError):
    """A run failed after it started."""


class RunFailedError(RunError):
    """A run ended with an error: what ``raise_for_error()`` raises.

    The error the run reported travels in-band (an ``error`` chunk; a failed workflow step); this
    turns it into an exception for code that wants to fail loudly. When the failure started as
    an exception in this process (a provider's :class:`ProviderError`, say), it is the
    ``__cause__``.

    Attributes:
        error: The serialised error the run reported (``name``, ``message``, ...).
        status: The HTTP status of a provider or server failure, when known.
    """

    def __init__(self, message: str, *, error: Any = None, status: int | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.status = status


class ProviderError(RunError):
    """A model provider answered with an error.

    Attributes:
        status: The HTTP status, or ``None`` when the failure was not an HTTP answer.
        body: The response body, truncated; never contains the API key.
        headers: The response headers (credentials removed).
        provider: The provider's name, e.g. ``"openai"``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        provider: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.provider = provider


class MalformedStreamError(RunError):
    """A stream broke its framing (SSE, JSON) or the chunk ordering rules."""


class SnapshotFormatError(RunError, ValueError):
    """A stored snapshot has a format this version cannot read."""


class IdleTimeoutError(RunError, TimeoutError):
    """No chunk arrived within the allowed idle time.

    Attributes:
        seconds: The idle limit that was exceeded.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no chunk arrived within {seconds:g} s")
        self.seconds = seconds


class ToolExecutionError(RunError):
    """A tool raised, or was called with arguments that failed its schema.

    Attributes:
        tool_name: The tool's name as the model saw it.
    """

    def __init__(self, message: str, *, tool_name: str) -> None:
        super().__init__(message)
        self.tool_name = tool_name


class StepCancelledError(RunError):
    """A step's (or a condition's, or a save's) call ended cancelled, not by the run."""


class RemoteError(RunError):
    """A remote server refused a request before streaming anything.

    Attributes:
        status: The HTTP status of the refusal.
        error: The decoded JSON error body (or ``{"error": text}``).
    """

    def __init__(self, status: int, error: Any) -> None:
        message = error.get("error") if isinstance(error, dict) else error
        super().__init__(f"remote server answered {status}: {message}")
        self.status = status
        self.error = error


class RunLostError(RunError):
    """A run's log cannot be continued or read to its end.

    The process running the run stopped (its lease expired), the log's data vanished (Redis
    restarted without persistence), or the log's store stayed unreachable past the retry window.

    Attributes:
        run_id: The run that was lost.
    """

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


class FencedError(RunLostError):
    """This process no longer owns the run: its lease expired, so its writes are refused.

    Raised to (or reported by) a stale owner, e.g. one that was paused longer than its lease;
    the run should be cancelled, as its readers already got the run's terminal error.
    """
