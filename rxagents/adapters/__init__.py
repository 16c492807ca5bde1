"""The edge: async iterables, SSE, the AI SDK v5 UI message stream, a server and a client.

Async code lives here: everything inside rxagents is an Observable, and these adapters are
where a user gets an ``async for`` (or bytes for an HTTP response).

- :func:`to_async_iterable` / :func:`from_async_iterable`: Observables and async iterables.
- :mod:`rxagents.adapters.sse`: server-sent events, encoded and incrementally decoded.
- :func:`to_ai_sdk_v5_stream`, :func:`to_ai_sdk_v5_messages`, :func:`from_ai_sdk_v5_messages`:
  the Vercel AI SDK v5 UI message stream (:mod:`rxagents.adapters.ai_sdk`).
- :func:`create_app`: an aiohttp server speaking Mastra's HTTP protocol for a ``Runtime``
  (:mod:`rxagents.adapters.server`).
- :class:`RemoteAgent`, :class:`RemoteWorkflow`: clients of that protocol
  (:mod:`rxagents.adapters.client`).
"""

from rxagents.adapters._async_iterable import ObservableAsyncIterator as ObservableAsyncIterator
from rxagents.adapters._async_iterable import from_async_iterable as from_async_iterable
from rxagents.adapters._async_iterable import to_async_iterable as to_async_iterable
from rxagents.adapters.ai_sdk import from_ai_sdk_v5_messages as from_ai_sdk_v5_messages
from rxagents.adapters.ai_sdk import to_ai_sdk_v5_messages as to_ai_sdk_v5_messages
from rxagents.adapters.ai_sdk import to_ai_sdk_v5_stream as to_ai_sdk_v5_stream
from rxagents.adapters.client import RemoteAgent as RemoteAgent
from rxagents.adapters.client import RemoteWorkflow as RemoteWorkflow
from rxagents.adapters.server import create_app as create_app

__all__ = (
    "ObservableAsyncIterator",
    "RemoteAgent",
    "RemoteWorkflow",
    "create_app",
    "from_ai_sdk_v5_messages",
    "from_async_iterable",
    "to_ai_sdk_v5_messages",
    "to_ai_sdk_v5_stream",
    "to_async_iterable",
)
