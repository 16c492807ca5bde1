"""HTTP for providers and the remote client: session, retries, SSE, one task per stream.

- :mod:`.session`: the aiohttp session shared per event loop, with its connection limits;
- :mod:`.retry` and :mod:`.wait_hints`: the one retry engine (tenacity), its policy as data,
  and the server's wait hints (``Retry-After``, rate-limit resets);
- :mod:`.sse`: the one incremental, linear, bounded server-sent-events decoder;
- :mod:`.task` and :mod:`.response`: the task behind each HTTP-backed Observable, and reading
  an error response's body.
"""

from rxagents._core.http.response import MAX_ERROR_BODY as MAX_ERROR_BODY
from rxagents._core.http.response import read_prefix as read_prefix
from rxagents._core.http.retry import DEFAULT_RETRY_STATUSES as DEFAULT_RETRY_STATUSES
from rxagents._core.http.retry import Retryable as Retryable
from rxagents._core.http.retry import RetryPolicy as RetryPolicy
from rxagents._core.http.retry import Sleep as Sleep
from rxagents._core.http.retry import retry_transient as retry_transient
from rxagents._core.http.session import ConnectionLimits as ConnectionLimits
from rxagents._core.http.session import close_shared_session as close_shared_session
from rxagents._core.http.session import connection_limits as connection_limits
from rxagents._core.http.session import set_connection_limits as set_connection_limits
from rxagents._core.http.session import shared_session as shared_session
from rxagents._core.http.sse import DEFAULT_MAX_EVENT_SIZE as DEFAULT_MAX_EVENT_SIZE
from rxagents._core.http.sse import SSEDecoder as SSEDecoder
from rxagents._core.http.sse import SSEEvent as SSEEvent
from rxagents._core.http.task import TaskState as TaskState
from rxagents._core.http.task import task_observable as task_observable
from rxagents._core.http.wait_hints import retry_after_seconds as retry_after_seconds

__all__ = (
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_RETRY_STATUSES",
    "MAX_ERROR_BODY",
    "ConnectionLimits",
    "RetryPolicy",
    "Retryable",
    "SSEDecoder",
    "SSEEvent",
    "Sleep",
    "TaskState",
    "close_shared_session",
    "connection_limits",
    "read_prefix",
    "retry_after_seconds",
    "retry_transient",
    "set_connection_limits",
    "shared_session",
    "task_observable",
)
