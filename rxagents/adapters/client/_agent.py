"""The remote agent: :class:`RemoteAgent` streams an agent served elsewhere."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import aiohttp
from pydantic import BaseModel
from reactivex import Observable

from rxagents._core.http import RetryPolicy
from rxagents.adapters.client._endpoint import Endpoint, is_name
from rxagents.adapters.client._runs import RemoteAgentRun, RemoteNetworkRun
from rxagents.agent import AgentStream, SuspendedRun, SuspendedToolCall
from rxagents.errors import ConfigurationError, MalformedStreamError, RxAgentsError
from rxagents.events import Chunk
from rxagents.network import NetworkStream

__all__ = ("RemoteAgent",)

_SETTINGS: Final = {
    "temperature": "temperature",
    "max_output_tokens": "maxOutputTokens",
    "top_p": "topP",
    "top_k": "topK",
    "seed": "seed",
    "stop_sequences": "stopSequences",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
}
_OPTIONS: Final = frozenset(
    {*_SETTINGS, "max_steps", "run_id", "instructions", "memory", "tool_choice"}
    | {"thread_id", "resource_id", "require_tool_approval"}
)

_log = logging.getLogger("rxagents.adapters.client")


def _wire_messages(messages: object) -> Any:
    if isinstance(messages, str):
        return messages
    if isinstance(messages, BaseModel):
        return messages.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(messages, Mapping):
        return dict(messages)
    if isinstance(messages, Sequence) and not isinstance(messages, bytes | bytearray):
        return [_wire_messages(m) if not isinstance(m, str) else m for m in messages]
    raise TypeError(
        "messages must be a string, a list of strings, or a list of {role, content} dicts; "
        f"got {type(messages).__name__}"
    )


def _wire_options(agent_id: str, options: Mapping[str, Any]) -> dict[str, Any]:
    if "output" in options:
        raise TypeError(f"RemoteAgent {agent_id!r}: structured output (output=) is not supported")
    unknown = set(options) - _OPTIONS
    if unknown:
        raise TypeError(
            f"unknown option(s) {sorted(unknown)} for remote agent {agent_id!r}; "
            f"known: {sorted(_OPTIONS)}"
        )
    body: dict[str, Any] = {}
    settings = {_SETTINGS[k]: v for k, v in options.items() if k in _SETTINGS and v is not None}
    if settings:
        body["modelSettings"] = settings
    if options.get("max_steps") is not None:
        body["maxSteps"] = options["max_steps"]
    if options.get("run_id") is not None:
        body["runId"] = options["run_id"]
    if options.get("instructions") is not None:
        body["instructions"] = options["instructions"]
    choice = options.get("tool_choice")
    if choice is not None:
        body["toolChoice"] = choice
    approval = options.get("require_tool_approval")
    if approval is not None:
        if not isinstance(approval, bool):
            raise TypeError(
                f"RemoteAgent {agent_id!r}: require_tool_approval must be a bool (a function "
                "cannot be sent to a server)"
            )
        if approval:
            body["requireToolApproval"] = True
    memory = options.get("memory")
    thread = options.get("thread_id")
    resource = options.get("resource_id")
    if isinstance(memory, str):
        thread = memory
    elif isinstance(memory, Mapping):
        thread = memory.get("thread", thread)
        resource = memory.get("resource", resource)
    if thread is not None:
        body["memory"] = {"thread": thread}
        if resource is not None:
            body["memory"]["resource"] = resource
    return body


class RemoteAgent:
    """An agent served by a remote rxagents or Mastra server, used like a local one.

    ``observe()`` and ``stream()`` take the same messages and options as
    :class:`~rxagents.agent.Agent` (``max_steps``, ``run_id``, ``instructions``, ``memory``,
    ``tool_choice`` and the model settings), sent the way ``@mastra/client-js`` sends them.
    """

    def __init__(
        self,
        base_url: str,
        agent_id: str,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        api_prefix: str = "/api",
        name: str | None = None,
        description: str = "",
    ) -> None:
        """Point at ``agent_id`` on the server at ``base_url``.

        Args:
            base_url: The server's URL, e.g. ``http://127.0.0.1:4111``.
            agent_id: The agent's id on the server.
            headers: Extra request headers.
            token: Sent as ``Authorization: Bearer <token>``.
            session: An aiohttp session to use (never closed here); default: one shared
                session per event loop, holding at most 1,000 connections, 500 to one host
                (see :class:`~rxagents.models.ConnectionLimits`).
            retry: When to retry before the answer starts (default: connection errors and
                502/503/504, three attempts).
            timeout: Seconds allowed to connect and get the answer's status, and between two
                reads of the stream; ``None`` waits forever.
            api_prefix: Where the API lives on the server.
            name: A display name (routers read it); default: the id.
            description: What the agent does (routers read it).

        Raises:
            ConfigurationError: ``base_url`` is not an http(s) URL or ``agent_id`` is empty.
        """
        if not is_name(agent_id):
            raise ConfigurationError("RemoteAgent needs a non-empty agent_id")
        self._endpoint = Endpoint(
            base_url,
            headers=headers,
            token=token,
            session=session,
            retry=retry,
            timeout=timeout,
            api_prefix=api_prefix,
        )
        self.id = agent_id
        self.name = name or agent_id
        self.description = description
        self.tools: dict[str, Any] = {}
        self._cancels: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"RemoteAgent({self._endpoint.base!r}, {self.id!r})"

    def _body(self, messages: object, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"messages": _wire_messages(messages), **_wire_options(self.id, options)}

    def observe(self, messages: object, **options: Any) -> Observable[Chunk]:
        """Return the remote run as a cold Observable: each subscription is one request.

        Raises:
            TypeError: ``messages`` has an unusable type, or an option is unknown.
        """
        body = self._body(messages, options)
        return self._endpoint.stream(self._endpoint.url("agents", self.id, "stream"), body, "sse")

    async def stream(self, messages: object, **options: Any) -> AgentStream[Any]:
        """Start a remote run and return its shared, replaying :class:`AgentStream`.

        When the connection breaks mid-run, the stream re-attaches by itself (the observe
        route, from the next position; a few attempts with backoff), so readers see every
        chunk exactly once. ``cancel()`` on the stream also asks the server to cancel the run.

        Raises:
            TypeError: ``messages`` has an unusable type, or an option is unknown.
        """
        run_id = options.setdefault("run_id", str(uuid.uuid4()))
        body = self._body(messages, options)
        url = self._endpoint.url("agents", self.id, "stream")
        source = self._endpoint.stream(url, body, "sse", resume=self._observe_at(run_id))
        return self._agent_stream(source, run_id)

    async def observe_run(self, run_id: str, offset: int | None = None) -> AgentStream[Any]:
        """Re-attach to a run (agent or network) the server runs or ran, from ``offset``.

        Returns the same kind of stream as :meth:`stream`: the run's chunks from ``offset``
        (default: from its start), then live until its end.

        Raises:
            ConfigurationError: ``run_id`` is empty or ``offset`` is negative.
        """
        if not is_name(run_id):
            raise ConfigurationError("observe_run() needs a non-empty run_id")
        if offset is not None and (isinstance(offset, bool) or offset < 0):
            raise ConfigurationError(f"offset must be a non-negative int, got {offset!r}")
        start = offset or 0
        url, body = self._observe_at(run_id)(start)
        if offset is None:
            body = {"runId": run_id}
        source = self._endpoint.stream(
            url, body, "sse", resume=self._observe_at(run_id), offset=start
        )
        return self._agent_stream(source, run_id)

    async def cancel_run(self, run_id: str) -> bool:
        """Ask the server to cancel a run, wherever it runs; ``False`` if it already ended.

        Raises:
            RemoteError: The server refused (404: unknown or expired run).
        """
        url = self._endpoint.url("agents", self.id, "runs", run_id, "cancel")
        answer = await self._endpoint.json("POST", url, {})
        return bool(answer.get("cancelled", True)) if isinstance(answer, dict) else True

    def _observe_at(self, run_id: str) -> Callable[[int], tuple[str, dict[str, Any]]]:
        url = self._endpoint.url("agents", self.id, "observe")

        def at(position: int) -> tuple[str, dict[str, Any]]:
            return url, {"runId": run_id, "offset": position}

        return at

    def _agent_stream(self, source: Observable[Chunk], run_id: str) -> AgentStream[Any]:
        run = RemoteAgentRun(source, run_id, on_cancel=lambda: self._cancel_later(run_id))
        return AgentStream(run)

    def _cancel_later(self, run_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._cancel_quietly(run_id))
        self._cancels.add(task)
        task.add_done_callback(self._cancels.discard)

    async def _cancel_quietly(self, run_id: str) -> None:
        try:
            await self.cancel_run(run_id)
        except (RxAgentsError, aiohttp.ClientError, OSError) as err:
            _log.info("could not ask the server to cancel run %s: %s", run_id, err)

    def observe_network(self, messages: object, **options: Any) -> Observable[Chunk]:
        """Return a remote network run (``POST /agents/{id}/network``) as a cold Observable.

        Raises:
            TypeError: ``messages`` has an unusable type, or an option is unknown.
        """
        body = self._body(messages, options)
        url = self._endpoint.url("agents", self.id, "network")
        return self._endpoint.stream(url, body, "sse")

    async def network(self, task: object, **options: Any) -> NetworkStream:
        """Start a remote network run and return its :class:`~rxagents.network.NetworkStream`.

        Options as :meth:`observe_network` (``max_steps``, ``memory``, ``run_id`` …); the
        stream's ``status``, ``result`` and ``usage`` come from the server's chunks.

        Raises:
            TypeError: ``task`` has an unusable type, or an option is unknown.
        """
        run_id = options.setdefault("run_id", str(uuid.uuid4()))
        memory = options.get("memory")
        thread = memory.get("thread") if isinstance(memory, Mapping) else memory
        thread_id = thread if isinstance(thread, str) else ""
        run = RemoteNetworkRun(self.observe_network(task, **options), run_id, thread_id)
        return NetworkStream(run)

    # --- human in the loop ----------------------------------------------------------------

    def _continue(self, route: str, run_id: str, body: dict[str, Any]) -> AgentStream[Any]:
        url = self._endpoint.url("agents", self.id, route)
        # the server names where the continuation starts in the run (X-Run-Offset)
        source = self._endpoint.stream(
            url, body, "sse", resume=self._observe_at(run_id), offset=None
        )
        return self._agent_stream(source, run_id)

    async def approve_tool_call(self, run_id: str, tool_call_id: str) -> AgentStream[Any]:
        """Approve a call a paused remote run waits on (``POST .../approve-tool-call``).

        The returned stream continues the run (same run id, no ``start``). When the connection
        breaks mid-run, it re-attaches by itself as :meth:`stream` does (with a server that
        names the continuation's position, as ours does); ``cancel()`` asks the server to
        cancel the run. A refusal ends it with :class:`~rxagents.errors.RemoteError` (awaiting
        a result raises it): status 404 for an unknown run, 409 for a run already being
        resumed, 400 for a bad call id.
        """
        body = {"runId": run_id, "toolCallId": tool_call_id}
        return self._continue("approve-tool-call", run_id, body)

    async def decline_tool_call(
        self, run_id: str, tool_call_id: str, reason: str | None = None
    ) -> AgentStream[Any]:
        """Decline a call a paused remote run waits on (``POST .../decline-tool-call``).

        Re-attaches, cancels and refuses as :meth:`approve_tool_call`.
        """
        body: dict[str, Any] = {"runId": run_id, "toolCallId": tool_call_id}
        if reason is not None:
            body["reason"] = reason
        return self._continue("decline-tool-call", run_id, body)

    async def resume_stream(
        self, resume_data: Any, *, run_id: str, tool_call_id: str | None = None
    ) -> AgentStream[Any]:
        """Answer a paused remote run's call with ``resume_data`` (``POST .../resume-stream``).

        Re-attaches, cancels and refuses as :meth:`approve_tool_call`.
        """
        body: dict[str, Any] = {"runId": run_id}
        if tool_call_id is not None:
            body["toolCallId"] = tool_call_id
        body["resumeData"] = resume_data
        return self._continue("resume-stream", run_id, body)

    async def list_suspended_runs(self) -> list[SuspendedRun]:
        """The remote agent's paused runs, newest first (``GET .../suspended-runs``).

        Raises:
            RemoteError: The server refused.
            MalformedStreamError: The answer is not ``{runs: [...]}``.
        """
        url = self._endpoint.url("agents", self.id, "suspended-runs")
        data = await self._endpoint.json("GET", url)
        runs = data.get("runs") if isinstance(data, dict) else None
        if not isinstance(runs, list):
            raise MalformedStreamError(f"agent {self.id!r}: suspended-runs gave no runs list")
        return [_suspended_run(run) for run in runs]

    async def describe(self) -> dict[str, Any]:
        """Return the server's description of the agent (``GET /agents/{id}``).

        Raises:
            RemoteError: The server refused (404 when it has no such agent).
        """
        info = await self._endpoint.json("GET", self._endpoint.url("agents", self.id))
        if not isinstance(info, dict):
            raise MalformedStreamError(f"the description of agent {self.id!r} is not an object")
        return info


def _suspended_run(run: Any) -> SuspendedRun:
    """A listed paused run from its JSON (``suspendedAt`` as ISO text or epoch ms)."""
    try:
        moment = run["suspendedAt"]
        at = (
            int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)
            if isinstance(moment, str)
            else int(moment)
        )
        calls: list[SuspendedToolCall] = []
        for call in run["toolCalls"]:
            item: SuspendedToolCall = {
                "tool_call_id": call["toolCallId"],
                "tool_name": call["toolName"],
                "requires_approval": bool(call["requiresApproval"]),
            }
            if "args" in call:
                item["args"] = call["args"]
            if "suspendPayload" in call:
                item["suspend_payload"] = call["suspendPayload"]
            calls.append(item)
        return {
            "run_id": run["runId"],
            "status": "suspended",
            "suspended_at": at,
            "tool_calls": calls,
        }
    except (KeyError, TypeError, ValueError) as err:
        raise MalformedStreamError(f"a listed suspended run is malformed: {err}") from err
