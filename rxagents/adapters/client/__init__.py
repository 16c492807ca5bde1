"""A Python client for Mastra's HTTP protocol: remote agents, networks and workflows.

It works against :func:`rxagents.adapters.server.create_app` and against a Mastra server. A
remote run comes back as the same thing a local one is: ``observe()`` gives a cold
``Observable[Chunk]`` (each subscription is one HTTP request; disposing it closes the
connection, and the server cancels the run), ``stream()`` gives an
:class:`~rxagents.agent.AgentStream` with ``text_stream``, ``text``, ``usage`` and the rest.

Errors: a non-2xx answer is a :class:`~rxagents.errors.RemoteError` (with the server's
``status`` and JSON ``error``) before any chunk; a stream cut short is a
:class:`~rxagents.errors.MalformedStreamError`. Connection errors and 502/503/504 are retried
before the answer starts, never after a chunk. Chunks of a type outside the vocabulary
(Mastra's custom ``writer.custom()`` events) are skipped; a malformed chunk of a known type is a
:class:`~rxagents.errors.ChunkParseError`.

Example:
    >>> agent = RemoteAgent("http://127.0.0.1:4111", "weather-agent")  # doctest: +SKIP
    >>> stream = await agent.stream("What is the weather in Paris?")  # doctest: +SKIP
    >>> print(await stream.text)  # doctest: +SKIP
"""

from rxagents._core.http import RetryPolicy as RetryPolicy
from rxagents.adapters.client._agent import RemoteAgent as RemoteAgent
from rxagents.adapters.client._workflow import RemoteWorkflow as RemoteWorkflow
from rxagents.adapters.client._workflow import RemoteWorkflowRun as RemoteWorkflowRun

__all__ = ("RemoteAgent", "RemoteWorkflow", "RemoteWorkflowRun", "RetryPolicy")
