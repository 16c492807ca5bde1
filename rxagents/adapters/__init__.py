"""The edge: Observables as async iterables and async iterables as Observables; SSE framing.

Async code lives here: everything inside rxagents is an Observable, and these adapters are
where a user gets an ``async for`` (or bytes for an HTTP response). Server-sent events live in
the public module :mod:`rxagents.adapters.sse`.
"""

from rxagents.adapters._async_iterable import ObservableAsyncIterator as ObservableAsyncIterator
from rxagents.adapters._async_iterable import from_async_iterable as from_async_iterable
from rxagents.adapters._async_iterable import to_async_iterable as to_async_iterable

__all__ = (
    "ObservableAsyncIterator",
    "from_async_iterable",
    "to_async_iterable",
)
