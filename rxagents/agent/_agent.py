"""``Agent``: a model, instructions and tools, streamed as Observables of chunks."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from pydantic import BaseModel
from reactivex import Observable, abc

from rxagents._core.rx import lean
from rxagents.agent._delegation import agent_tool, check_tool_name
from rxagents.agent._legacy import LegacyRun, LegacyStream
from rxagents.agent._loop import AgentRun, RunConfig
from rxagents.agent._memory_run import MemoryAgentRun, observe_with_memory, with_history
from rxagents.agent._messages import MessagesInput, normalize_messages
from rxagents.agent._pause import Resume, RunApprovalPolicy
from rxagents.agent._stream import AgentStep, AgentStream, run_failed
from rxagents.agent._suspend import (
    Decision,
    Pending,
    SuspendedRun,
    claim,
    give_back,
    list_suspended,
)
from rxagents.agent._workflow_tool import workflow_tool
from rxagents.agent.protocol import AgentLike, WorkflowLike
from rxagents.agent.tools import Tool
from rxagents.errors import ConfigurationError, InvalidInputError, InvalidInputTypeError
from rxagents.events import (
    AgentChunk,
    ErrorInfo,
    ToolCallApprovalPayload,
    ToolCallPayload,
    ToolCallSuspendedPayload,
    ToolErrorPayload,
    ToolResultPayload,
)
from rxagents.memory import Memory, MemoryRef, Thread, memory_ref
from rxagents.models import (
    MODEL_SETTINGS,
    LanguageModel,
    LanguageModelV1,
    Message,
    check_settings,
)

# ``Agent.network()``: agent and network are the one sanctioned circle between packages
# (DESIGN section 1); the network modules import only agent submodules, never this one.
from rxagents.network import _config as _network_config
from rxagents.network import _run as _network_run
from rxagents.network import _stream as _network_stream
from rxagents.storage import InMemoryStorage, Storage
from rxagents.usage import Usage

if TYPE_CHECKING:
    from rxagents.events import Chunk

__all__ = ("Agent", "AgentResult")

_log = logging.getLogger(__name__)

_O = TypeVar("_O", bound=BaseModel)
_V = TypeVar("_V")

_SETTINGS = MODEL_SETTINGS
_OPTIONS = _SETTINGS | {
    "max_steps",
    "output",
    "run_id",
    "instructions",
    "memory",
    "require_tool_approval",
}


@dataclass(frozen=True)
class AgentResult(Generic[_O]):
    """The result of :meth:`Agent.generate`: what a stream's awaitables give, at once."""

    text: str
    """The last step's text."""
    finish_reason: str
    """Why the run ended."""
    usage: Usage
    """Usage summed over every step."""
    steps: list[AgentStep]
    """One entry per model call."""
    tool_calls: list[ToolCallPayload]
    """Every tool call."""
    tool_results: list[ToolResultPayload | ToolErrorPayload]
    """Every tool result or error."""
    object: _O | None
    """The structured output, when ``output`` was given and it validated."""
    error: ErrorInfo | Exception | None
    """The run's error, if it failed."""
    response_messages: list[Message]
    """The assistant and tool messages the run produced."""
    pending_tool_calls: list[ToolCallApprovalPayload | ToolCallSuspendedPayload] = (
        dataclasses.field(default_factory=list)
    )
    """The calls the run waits on when it paused (``finish_reason == "suspended"``)."""
    run_id: str = ""
    """The run's id (what resuming a paused run needs)."""

    def raise_for_error(self) -> None:
        """Raise :class:`~rxagents.errors.RunFailedError` if the run failed.

        Example:
            >>> result = await agent.generate("hi")  # doctest: +SKIP
            >>> result.raise_for_error()  # doctest: +SKIP
        """
        if self.error is not None:
            failure = run_failed(self.error)
            raise failure from failure.__cause__


class Agent:
    """A language model with instructions and tools.

    With ``memory=`` a run can continue a conversation thread. With ``agents=`` it is a
    supervisor: its model delegates to each sub-agent through an ``agent-<key>`` tool, whose
    run streams inside the supervisor's (``workflows=`` give ``workflow-<key>`` tools). With
    sub-agents, workflows (or tools) and memory, the agent can also run a network over them.

    Example:
        >>> agent = Agent("helper", instructions="Be brief.", model=ScriptedModel([...]))
        >>> stream = await agent.stream("Help me organize my day")  # doctest: +SKIP
        >>> async for text in stream.text_stream: ...  # doctest: +SKIP
        >>> supervisor = Agent("supervisor", model=model, agents={"research": research})
        >>> stream = await supervisor.stream("Research dolphins")  # doctest: +SKIP
        >>> coordinator = Agent("coordinator", model=model, agents={"research": research},
        ...                     memory=Memory())  # doctest: +SKIP
        >>> network = await coordinator.network("Research dolphins")  # doctest: +SKIP
        >>> (await network.result).result  # doctest: +SKIP
    """

    def __init__(
        self,
        id: str,
        *,
        model: LanguageModel | LanguageModelV1,
        instructions: str = "",
        name: str | None = None,
        description: str = "",
        tools: Sequence[Tool] | Mapping[str, Tool] | None = None,
        max_steps: int = 5,
        agents: Mapping[str, AgentLike] | None = None,
        workflows: Mapping[str, WorkflowLike] | None = None,
        memory: Memory | None = None,
        storage: Storage | None = None,
    ) -> None:
        """Build an agent.

        Args:
            id: The agent's id (chunks carry it in ``start.payload.id``).
            model: A v2 model (``stream``) or a v1 model (``stream_legacy``).
            instructions: The system prompt.
            name: A display name (default: the id).
            description: What the agent does (routers read it).
            tools: Tools as a list (named by their id) or a dict keyed by the name the model
                sees, as in Mastra. In a network they are also primitives the router can run.
            max_steps: The most model calls per run (the tool loop stops there).
            agents: Sub-agents, by key: in ``stream()`` and ``generate()`` the model can
                delegate to each through a tool named ``agent-<key>`` (the sub-agent's whole
                run streams as ``tool-output`` chunks); a network routes to them by key.
            workflows: Committed workflows, by key: tools named ``workflow-<key>`` in
                ``stream()`` and ``generate()``, primitives a network routes to.
            memory: Where conversation threads are kept: runs given
                ``memory={"thread": ..., "resource": ...}`` load the thread's recent messages
                first and save their new messages after; networks require it.
            storage: Where paused runs (a call waiting for approval, a suspended tool) are
                kept until resumed (default: a new in-memory store; a ``Runtime`` sets its
                own). With a shared ``SqliteStorage``, another process holding the same agent
                definition can resume them.

        Raises:
            ConfigurationError: Bad settings, a sub-agent or workflow key that does not make
                a valid tool name, or a tool named like a delegation tool.
        """
        if not _is_name(id):
            raise ConfigurationError("an agent needs a non-empty string id")
        if not hasattr(model, "do_stream") or not hasattr(model, "specification_version"):
            raise ConfigurationError(
                f"agent {id!r}: model must be a LanguageModel (v2) or LanguageModelV1, "
                f"got {type(model).__name__}"
            )
        if not _is_positive_int(max_steps):
            raise ConfigurationError(f"agent {id!r}: max_steps must be a positive int")
        self.id = id
        self.name = name or id
        self.description = description
        self.instructions = instructions
        self.model = model
        self.max_steps = max_steps
        self.tools: dict[str, Tool] = _tool_map(id, tools)
        self.agents: dict[str, AgentLike] = _keyed(id, "agent", agents, AgentLike)  # type: ignore[type-abstract]  # a runtime-checkable protocol
        """Sub-agents a network can route to, by key."""
        self.workflows: dict[str, WorkflowLike] = _keyed(id, "workflow", workflows, WorkflowLike)  # type: ignore[type-abstract]  # a runtime-checkable protocol
        """Workflows a network can route to, by key."""
        self._delegations: dict[str, Tool] = _delegations(
            id, self.tools, self.agents, self.workflows
        )
        """The ``agent-<key>`` and ``workflow-<key>`` tools of the sub-agents and workflows."""
        self.memory: Memory | None = _check_memory(id, memory)
        """Where conversation threads are kept (``None``: runs remember nothing)."""
        self.storage: Storage = storage if storage is not None else InMemoryStorage()
        """Where paused runs are kept until they are resumed."""
        self._network_cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Agent({self.id!r})"

    # --- streaming ------------------------------------------------------------------------

    def observe(self, messages: MessagesInput, **options: Any) -> Observable[AgentChunk]:
        """Return the run as a cold Observable: each subscription is a new run.

        Messages and options are validated now (raising before anything runs); subscribing
        starts the model call from the next event-loop callback; disposing stops it. With
        ``memory=`` (and memory on the agent), each subscription loads the thread first and
        saves the new messages before completing.
        """
        config = self._config(messages, options)
        memory = self._memory_for(options)
        if memory is not None:
            store, ref = memory
            return observe_with_memory(
                store, ref, lambda thread, history: self._memory_run(config, store, thread, history)
            )

        def subscribe(
            observer: abc.ObserverBase[AgentChunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return AgentRun(config).subscribe(observer, scheduler)

        return lean(subscribe)

    @overload
    async def stream(
        self, messages: MessagesInput, *, output: None = None, **options: Any
    ) -> AgentStream[Any]: ...
    @overload
    async def stream(
        self, messages: MessagesInput, *, output: type[_O], **options: Any
    ) -> AgentStream[_O]: ...
    async def stream(
        self, messages: MessagesInput, *, output: type[_O] | None = None, **options: Any
    ) -> AgentStream[Any]:
        """Start a run and return its shared, replaying :class:`AgentStream`.

        Args:
            messages: A string, a list of strings, or ``{role, content}`` dicts.
            output: A pydantic model for structured output (``await stream.object``).
            **options: ``max_steps``, ``temperature``, ``tool_choice``, ``run_id``,
                ``instructions``, the other model settings, and ``memory={"thread": id,
                "resource": id}`` (with memory on the agent: the thread's recent messages are
                loaded before this returns, the new messages saved when the run completes;
                ignored without).
                ``require_tool_approval=True`` (or a function of tool name and args) makes
                tool calls wait for approval: the stream then ends with ``tool-call-approval``,
                ``finish_reason`` ``"suspended"``; answer with :meth:`approve_tool_call`.

        Raises:
            TypeError: ``messages`` is not a string or a list.
            InvalidInputError: A message or option is invalid, or the thread belongs to
                another resource.
            ConfigurationError: The agent's model is a v1 model (use ``stream_legacy()``).
        """
        if output is not None:
            options["output"] = output
        config = self._config(messages, options)
        memory = self._memory_for(options)
        if memory is None:
            return AgentStream(AgentRun(config))
        store, ref = memory
        thread, records = await store.load(ref)
        history = [record.to_message() for record in records]
        return AgentStream(self._memory_run(config, store, thread, history))

    async def generate(
        self, messages: MessagesInput, *, output: type[_O] | None = None, **options: Any
    ) -> AgentResult[_O]:
        """Run to the end without streaming and return the result."""
        stream: AgentStream[_O] = await self.stream(messages, output=output, **options)
        async for _ in stream:
            pass
        structured: _O | None = None
        if output is not None and stream._run.object is not None:
            structured = stream._run.object
        return AgentResult(
            text=await stream.text,
            finish_reason=await stream.finish_reason,
            usage=await stream.usage,
            steps=await stream.steps,
            tool_calls=await stream.tool_calls,
            tool_results=await stream.tool_results,
            object=structured,
            error=stream.error,
            response_messages=stream.response_messages,
            pending_tool_calls=await stream.pending_tool_calls,
            run_id=stream.run_id,
        )

    # --- human in the loop ----------------------------------------------------------------

    async def approve_tool_call(
        self, run_id: str, tool_call_id: str | None = None
    ) -> AgentStream[Any]:
        """Approve a call a paused run waits on, and continue the run.

        Returns the continuation: the same run id, no ``start``, the tool's ``tool-result``,
        the paused step's ``step-finish``, the next steps, ``finish``.

        Args:
            run_id: The paused run.
            tool_call_id: The call (default: the first the run waits on).

        Raises:
            RunNotFoundError: This agent has no paused run ``run_id``.
            RunStateError: The run is being resumed already (of two concurrent resumes of
                the same run, one gets this).
            InvalidInputError: The run waits on no call ``tool_call_id``.
        """
        decision = Decision(tool_call_id, resume_data={"approved": True})
        return await self._resume(run_id, tool_call_id, decision)

    async def decline_tool_call(
        self, run_id: str, tool_call_id: str | None = None, reason: str | None = None
    ) -> AgentStream[Any]:
        """Decline a call a paused run waits on, and continue the run without running it.

        The continuation begins with ``tool-output-denied``; the model receives ``reason``
        (default: "Tool call was not approved by the user") as the tool's result.

        Raises:
            RunNotFoundError: This agent has no paused run ``run_id``.
            RunStateError: The run is being resumed already.
            InvalidInputError: The run waits on no call ``tool_call_id``, or that call is a
                suspended tool (answer it with :meth:`resume_stream`).
        """
        decision = Decision(tool_call_id, approved=False, reason=reason)
        return await self._resume(run_id, tool_call_id, decision)

    async def resume_stream(
        self, resume_data: Any, *, run_id: str, tool_call_id: str | None = None
    ) -> AgentStream[Any]:
        """Answer a call a paused run waits on with ``resume_data``, and continue the run.

        A suspended tool runs again from the top with ``ctx.resume_data`` (validated against
        its ``resume_schema``: data that does not fit is not given to the tool, its result is
        ``{"error": True, "message": ..., "validationErrors": ...}`` and the run goes on). A
        call waiting for approval takes ``{"approved": bool, "reason"?: str}``.

        Raises:
            RunNotFoundError: This agent has no paused run ``run_id``.
            RunStateError: The run is being resumed already.
            InvalidInputError: The run waits on no call ``tool_call_id``, or an approval's
                resume data is not ``{"approved": bool, "reason"?: str}``.
        """
        decision = Decision(tool_call_id, resume_data=resume_data)
        if isinstance(resume_data, dict) and isinstance(resume_data.get("approved"), bool):
            reason = resume_data.get("reason")
            decision = Decision(
                tool_call_id,
                approved=resume_data["approved"],
                reason=reason if isinstance(reason, str) else None,
                resume_data=resume_data,
            )
        return await self._resume(run_id, tool_call_id, decision, raw=True)

    async def list_suspended_runs(
        self,
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> list[SuspendedRun]:
        """This agent's paused runs in its storage, newest first, with the calls they wait on.

        Args:
            thread_id: Only the runs of this memory thread.
            resource_id: Only the runs of this resource's threads.
            from_date: Only the runs paused at or after this moment (naive: UTC).
            to_date: Only the runs paused at or before this moment (naive: UTC).
        """
        return await list_suspended(
            self.storage,
            self.id,
            thread_id=thread_id,
            resource_id=resource_id,
            from_ms=None if from_date is None else _epoch_ms(from_date),
            to_ms=None if to_date is None else _epoch_ms(to_date),
        )

    async def _resume(
        self, run_id: str, tool_call_id: str | None, decision: Decision, *, raw: bool = False
    ) -> AgentStream[Any]:
        def check(pending: Pending) -> None:
            if pending.kind == "suspension" and not decision.approved:
                raise InvalidInputError(
                    f"tool call {pending.call.tool_call_id!r} is a suspended tool, not an "
                    "approval: resume it with resume_stream()"
                )
            if (
                pending.kind == "approval"
                and raw
                and not (
                    isinstance(decision.resume_data, dict)
                    and isinstance(decision.resume_data.get("approved"), bool)
                )
            ):
                raise InvalidInputError(
                    f"tool call {pending.call.tool_call_id!r} waits for approval: resume it "
                    'with {"approved": true | false, "reason"?: str}'
                )

        snapshot, pending, version = await claim(self.storage, self.id, run_id, tool_call_id, check)
        config = RunConfig(
            agent_id=self.id,
            model=self.model,  # type: ignore[arg-type]  # a paused run ran a v2 model
            prompt=[],
            tools=self._run_tools(),
            max_steps=snapshot["maxSteps"],
            settings=snapshot["settings"],
            run_id=run_id,
            require_tool_approval=bool(snapshot["requireToolApproval"]),
            storage=self.storage,
            resume=Resume(snapshot, pending, version, decision),
        )
        try:
            thread = await self._paused_thread(snapshot)
        except BaseException:
            give_back(self.storage, run_id, snapshot, version)
            raise
        if thread is None or self.memory is None:
            return AgentStream(AgentRun(config))
        saved = snapshot["memory"]["saved"]
        return AgentStream(MemoryAgentRun(config, self.memory, thread, [], saved=saved))

    async def _paused_thread(self, snapshot: Mapping[str, Any]) -> Thread | None:
        """The memory thread a paused run continues, if it ran with one (and it still exists)."""
        ref = snapshot.get("memory")
        if ref is None or self.memory is None:
            return None
        thread = await self.memory.get_thread(ref["thread"])
        if thread is None:
            _log.warning(
                "agent %s: thread %s of paused run %s is gone: the resumed run saves nothing",
                self.id,
                ref["thread"],
                snapshot["runId"],
            )
        return thread

    async def stream_legacy(self, messages: MessagesInput, **options: Any) -> LegacyStream:
        """Run a v1 model and stream the legacy part vocabulary (no envelope).

        Raises:
            ConfigurationError: The agent's model is not a v1 model.
        """
        if getattr(self.model, "specification_version", None) != "v1":
            raise ConfigurationError(
                f"agent {self.id!r} has a v2 model; stream_legacy() is for v1 models, "
                "use stream() instead"
            )
        config = self._config(messages, options, legacy=True)
        return LegacyStream(LegacyRun(config))

    # --- networks -------------------------------------------------------------------------

    async def network(
        self, task: MessagesInput, *, max_steps: int = 10, **options: Any
    ) -> _network_stream.NetworkStream:
        """Start a network run over this agent's agents, workflows and tools.

        Each iteration the agent's own model routes (structured output: which primitive, with
        what prompt), the chosen primitive runs (its chunks wrapped as
        ``agent-execution-event-*`` / ``workflow-execution-event-*``), and the model checks
        whether the task is complete (a failed primitive too: its error is the result). The
        run ends when a check passes or once iteration ``max_steps`` has run. The task, the
        decisions and the results are saved in the memory thread.

        Args:
            task: The task: a string, or messages (the last user message is the task).
            max_steps: The last iteration: iterations count from 0, so at most ``max_steps + 1``
                routing rounds, as Mastra's ``maxSteps`` (whose default is 1; ours is 10).
            **options: ``memory={"thread": id, "resource": id}`` (default: a new thread),
                ``run_id``, ``instructions`` and model settings for the routing and completion
                calls.

        Raises:
            ConfigurationError: The agent has no memory, no primitives, or a v1 model.
            InvalidInputError: A bad task or option, or the thread belongs to another
                resource (the thread is opened, and created if new, before this returns).
        """
        config = _network_config.network_config(self, task, max_steps, options, self._network_cache)
        loaded = await config.memory.load(config.ref)
        run = _network_run.NetworkRun(dataclasses.replace(config, loaded=loaded))
        return _network_stream.NetworkStream(run)

    def observe_network(
        self, task: MessagesInput, *, max_steps: int = 10, **options: Any
    ) -> Observable[Chunk]:
        """Return a network run as a cold Observable: each subscription is a new run.

        Arguments are validated now (see :meth:`network`); subscribing starts the run from the
        next event-loop callback; disposing stops the active primitive and the loop (no abort
        chunk: the subscriber left).
        """
        config = _network_config.network_config(self, task, max_steps, options, self._network_cache)

        def subscribe(
            observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            return _network_run.NetworkRun(config).subscribe(observer, scheduler)

        return Observable(subscribe)

    # --- helpers --------------------------------------------------------------------------

    def _run_tools(self) -> dict[str, Tool]:
        """The tools a run offers: the agent's own, then one per sub-agent and workflow."""
        if not self._delegations:
            return self.tools
        return {**self.tools, **self._delegations}

    def _memory_for(self, options: Mapping[str, Any]) -> tuple[Memory, MemoryRef] | None:
        value = options.get("memory")
        if value is None:
            return None
        ref = memory_ref(value)
        if self.memory is None:
            _log.debug("agent %s has no memory: the memory option is ignored", self.id)
            return None
        return self.memory, ref

    def _memory_run(
        self, config: RunConfig, memory: Memory, thread: Thread, history: list[Message]
    ) -> MemoryAgentRun:
        return MemoryAgentRun(with_history(config, history), memory, thread, config.prompt)

    def _config(
        self, messages: MessagesInput, options: dict[str, Any], *, legacy: bool = False
    ) -> RunConfig:
        unknown = set(options) - _OPTIONS
        if unknown:
            raise InvalidInputTypeError(
                f"unknown option(s) {sorted(unknown)} for agent {self.id!r}; "
                f"known: {sorted(_OPTIONS)}"
            )
        if not legacy and getattr(self.model, "specification_version", None) == "v1":
            raise ConfigurationError(
                f"agent {self.id!r} has a v1 model ({self.model.model_id!r}); "
                "stream() needs a v2 model — use stream_legacy() for v1 models"
            )
        prompt = normalize_messages(messages)
        instructions = options.get("instructions", self.instructions)
        if instructions:
            prompt.insert(0, {"role": "system", "content": instructions})
        max_steps = options.get("max_steps", self.max_steps)
        if not _is_positive_int(max_steps):
            raise InvalidInputError("max_steps must be a positive int")
        output = options.get("output")
        if output is not None and not (isinstance(output, type) and issubclass(output, BaseModel)):
            raise InvalidInputError("output must be a pydantic model class")
        settings = {k: v for k, v in options.items() if k in _SETTINGS}
        if settings:
            check_settings(settings)
        return RunConfig(
            agent_id=self.id,
            model=self.model,  # type: ignore[arg-type]  # v1 models only reach the legacy loop
            prompt=prompt,
            tools=self._run_tools(),
            max_steps=max_steps,
            settings=settings,
            output=output,
            run_id=options.get("run_id"),
            require_tool_approval=_approval_policy(options.get("require_tool_approval", False)),
            storage=self.storage,
        )


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _tool_map(agent_id: str, tools: Sequence[Tool] | Mapping[str, Tool] | None) -> dict[str, Tool]:
    if tools is None:
        return {}
    items: list[tuple[object, object]]
    if isinstance(tools, Mapping):
        items = list(tools.items())
    elif isinstance(tools, list | tuple):
        items = [(getattr(t, "id", None), t) for t in tools]
    else:
        raise ConfigurationError(f"agent {agent_id!r}: tools must be a list or a dict of tools")
    result: dict[str, Tool] = {}
    for name, value in items:
        if not isinstance(value, Tool):
            raise ConfigurationError(
                f"agent {agent_id!r}: {value!r} is not a Tool (decorate functions with @tool)"
            )
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"agent {agent_id!r}: tool names must be non-empty strings")
        if name in result:
            raise ConfigurationError(f"agent {agent_id!r}: two tools are named {name!r}")
        result[name] = value
    return result


def _approval_policy(value: object) -> RunApprovalPolicy:
    if isinstance(value, bool) or callable(value):
        return value
    raise InvalidInputError(
        "require_tool_approval must be a bool or a function of (tool name, args)"
    )


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _keyed(
    agent_id: str, kind: str, items: Mapping[str, _V] | None, cls: type[_V]
) -> dict[str, _V]:
    """Check a ``{key: agent | workflow}`` argument."""
    if items is None:
        return {}
    unchecked: object = items
    if not isinstance(unchecked, Mapping):
        raise ConfigurationError(f"agent {agent_id!r}: {kind}s must be a dict of {kind}s by key")
    article = "an" if cls.__name__[0] in "AEIOU" else "a"
    result: dict[str, _V] = {}
    for key, value in items.items():
        if not _is_name(key):
            raise ConfigurationError(f"agent {agent_id!r}: {kind} keys must be non-empty strings")
        if not isinstance(value, cls):
            raise ConfigurationError(
                f"agent {agent_id!r}: {kind}s[{key!r}] is not {article} {cls.__name__}"
                + (
                    " (anything with id, name, description and observe())"
                    if kind == "agent"
                    else ""
                )
            )
        if getattr(value, "committed", True) is False:
            raise ConfigurationError(
                f"agent {agent_id!r}: {kind} {key!r} is not committed; call commit() first"
            )
        result[key] = value
    return result


def _delegations(
    agent_id: str,
    tools: Mapping[str, Tool],
    agents: Mapping[str, AgentLike],
    workflows: Mapping[str, WorkflowLike],
) -> dict[str, Tool]:
    """One ``agent-<key>`` tool per sub-agent and one ``workflow-<key>`` tool per workflow."""
    result: dict[str, Tool] = {}
    for key, agent in agents.items():
        name = f"agent-{key}"
        check_tool_name(agent_id, name, list(tools))
        result[name] = agent_tool(key, agent)
    for key, workflow in workflows.items():
        name = f"workflow-{key}"
        check_tool_name(agent_id, name, [*tools, *result])
        result[name] = workflow_tool(key, workflow)
    return result


def _check_memory(agent_id: str, memory: Memory | None) -> Memory | None:
    if memory is None:
        return None
    if not isinstance(memory, Memory):
        raise ConfigurationError(
            f"agent {agent_id!r}: memory must be a rxagents.memory.Memory, "
            f"got {type(memory).__name__}"
        )
    return memory
