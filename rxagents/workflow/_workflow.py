"""``Workflow``: a fluent builder of steps and control flow, committed into Rx nodes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any, Self, TypeAlias

from pydantic import BaseModel
from reactivex import Observable, abc

from rxagents.agent.protocol import AgentLike
from rxagents.agent.tools import Tool
from rxagents.errors import ConfigurationError
from rxagents.events import WorkflowChunk
from rxagents.storage import InMemoryStorage, Storage
from rxagents.workflow._compile import Entry, Kind, compile_entries, schema_problems
from rxagents.workflow._context import StepContext
from rxagents.workflow._execution import Execution
from rxagents.workflow._flow import Condition, SequenceNode
from rxagents.workflow._result import WorkflowResult
from rxagents.workflow._run import WorkflowRun
from rxagents.workflow._snapshot import load_snapshot, result_from_snapshot
from rxagents.workflow._step import Execute, Step, to_json, validate

__all__ = ("StepLike", "Workflow")

StepLike: TypeAlias = "Step | Workflow | AgentLike | Tool"
"""What the builder takes as a step: a step, a nested workflow, or an agent or tool (wrapped
with :meth:`Step.from_agent` / :meth:`Step.from_tool`)."""


class Workflow:
    """Steps and control flow, built fluently, then committed.

    Each step is a cold Observable; ``commit()`` composes them with Rx (a concatenation for
    sequences and loops, a merge for parallel blocks and branches, a bounded merge for
    ``foreach``) and checks that each output can feed the next input.

    Each stream of a run writes the run's snapshot to ``storage`` when it ends (before
    ``workflow-finish``): an :class:`~rxagents.storage.InMemoryStorage` unless given, or the
    storage of the :class:`~rxagents.runtime.Runtime` the workflow is registered in. In-memory
    storage keeps every run's snapshot for the life of the process; give long-running
    services an :class:`~rxagents.storage.SqliteStorage`.

    Example:
        >>> workflow = Workflow("wf", Input, Output).then(inc).then(double).commit()
        ... # doctest: +SKIP
        >>> run = await workflow.create_run()  # doctest: +SKIP
        >>> stream = await run.stream(input_data={"n": 1})  # doctest: +SKIP
        >>> (await stream.result).result  # doctest: +SKIP
        {'n': 4}
    """

    def __init__(
        self,
        id: str,
        input_schema: type[BaseModel] | None = None,
        output_schema: type[BaseModel] | None = None,
        *,
        description: str = "",
        storage: Storage | None = None,
    ) -> None:
        """Start building a workflow.

        Args:
            id: The workflow's id: non-empty, without dots.
            input_schema: Validates the run's input (``None``: any JSON value).
            output_schema: Validates the run's result (``None``: any JSON value).
            description: What the workflow does.
            storage: Where run snapshots go (default: in memory, this process only).

        Raises:
            ConfigurationError: A bad id or schema.
        """
        unchecked: Any = id
        if not isinstance(unchecked, str) or not id or "." in id:
            raise ConfigurationError(f"a workflow needs a non-empty id without dots, not {id!r}")
        for name, schema in (("input_schema", input_schema), ("output_schema", output_schema)):
            if schema is not None and not _is_model_class(schema):
                raise ConfigurationError(f"workflow {id!r}: {name} must be a pydantic model class")
        self.id = id
        self.description = description
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.storage: Storage = storage if storage is not None else InMemoryStorage()
        """Where run snapshots are kept; a :class:`~rxagents.runtime.Runtime` sets its own."""
        self._entries: list[Entry] = []
        self._steps: dict[str, Step | Workflow] = {}
        self._generated = 0
        self._root: SequenceNode | None = None

    def __repr__(self) -> str:
        return f"Workflow({self.id!r})"

    @property
    def steps(self) -> dict[str, Step | Workflow]:
        """The steps and nested workflows used directly in this workflow, by id."""
        return dict(self._steps)

    @property
    def committed(self) -> bool:
        """Whether :meth:`commit` was called."""
        return self._root is not None

    # --- the builder ------------------------------------------------------------------------

    def then(self, step: StepLike) -> Self:
        """Run ``step`` next, on the previous step's output."""
        return self._add(Entry("then", (self._step(step),)))

    def parallel(self, steps: Sequence[StepLike]) -> Self:
        """Run ``steps`` at the same time on the same input; output ``{step id: output}``.

        Running siblings always settle; then the block fails if any step failed (the first
        in order gives the error) or suspends if any suspended.
        """
        members = self._members(steps, "parallel")
        return self._add(Entry("parallel", members))

    def branch(self, branches: Sequence[tuple[Condition, StepLike]]) -> Self:
        """Run the steps whose ``condition(ctx)`` holds; output ``{step id: output}``.

        Conditions are sync or async and see the branch's input as ``ctx.input_data`` (raw
        JSON). Every step whose condition holds runs (as in Mastra); when none holds, the
        output is ``{}``. Only the chosen steps appear in the stream.
        """
        pairs = list(branches)
        if not pairs:
            raise ConfigurationError(
                f"workflow {self.id!r}: branch() needs (condition, step) pairs"
            )
        for pair in pairs:
            if not _is_pair(pair):
                raise ConfigurationError(
                    f"workflow {self.id!r}: branch() takes (condition, step) pairs, not {pair!r}"
                )
        members = self._members([step for _, step in pairs], "branch")
        conditions = tuple(condition for condition, _ in pairs)
        return self._add(Entry("branch", members, conditions))

    def dountil(self, step: StepLike, condition: Condition) -> Self:
        """Run ``step`` repeatedly, each time on its last output, until ``condition`` holds.

        ``condition(ctx)`` sees the step's output as ``ctx.input_data`` and the iteration as
        ``ctx.iteration_count``; the step runs at least once.
        """
        return self._loop("dountil", step, condition)

    def dowhile(self, step: StepLike, condition: Condition) -> Self:
        """Run ``step`` repeatedly, each time on its last output, while ``condition`` holds.

        The step runs at least once; the condition is checked after each run.
        """
        return self._loop("dowhile", step, condition)

    def foreach(self, step: StepLike, *, concurrency: int = 1) -> Self:
        """Run ``step`` on every item of the input list, ``concurrency`` items at a time.

        The output is the list of outputs, in input order. The foreach appears as one step
        in the stream (one start, one result). After a failure or a suspension no further
        item starts; running items settle first.
        """
        if not _is_number(concurrency, integer=True) or concurrency < 1:
            raise ConfigurationError(
                f"workflow {self.id!r}: foreach concurrency must be a positive int"
            )
        return self._add(Entry("foreach", (self._step(step),), concurrency=concurrency))

    def map(
        self,
        function: Execute,
        *,
        id: str | None = None,
        output_schema: type[BaseModel] | None = None,
    ) -> Self:
        """Reshape the previous output with ``function(ctx)`` (sync or async).

        ``ctx.input_data`` is the previous output (raw JSON); ``ctx.get_step_result()`` and
        ``ctx.get_init_data()`` reach earlier data. The mapping is a step in the stream, with
        id ``mapping_<workflow id>_<n>`` unless given (as in Mastra).

        Args:
            function: ``function(ctx) -> new value``.
            id: The mapping step's id.
            output_schema: Declares (and validates) the new value, so the next step's input
                can be checked at commit.
        """
        step_id = id or self._generated_id("mapping")
        return self.then(Step(step_id, None, output_schema, function))

    def sleep(self, seconds: float) -> Self:
        """Wait ``seconds`` (a step with id ``sleep_<workflow id>_<n>``; input passes through).

        The step streams ``workflow-step-waiting`` then a thin ``workflow-step-result``, as in
        Mastra. Its id is deterministic (Mastra's is ``sleep_<random uuid>``): resuming a run
        in another process finds the step's record by it.
        """
        if not _is_number(seconds) or seconds < 0:
            raise ConfigurationError(f"workflow {self.id!r}: sleep needs seconds >= 0")
        delay = float(seconds)

        async def wait(ctx: StepContext[Any]) -> Any:
            await asyncio.sleep(delay)
            return ctx.input_data

        step = Step(self._generated_id("sleep"), None, None, wait)
        step.passes_input_through = True
        step.is_sleep = True
        return self.then(step)

    def commit(self) -> Self:
        """Finish building: check the schemas along the flow and compose the Observables.

        Raises:
            ConfigurationError: No steps, an uncommitted or recursive nested workflow, or an
                output that cannot feed the next input (every such problem is listed).
        """
        if self._root is not None:
            return self
        if not self._entries:
            raise ConfigurationError(f"workflow {self.id!r} has no steps; add some before commit()")
        for step in self._steps.values():
            if isinstance(step, Workflow):
                if step is self or self in step._nested(set()):
                    raise ConfigurationError(f"workflow {self.id!r} contains itself")
                if not step.committed:
                    raise ConfigurationError(
                        f"workflow {self.id!r}: nested workflow {step.id!r} is not committed; "
                        "call its commit() first"
                    )
        problems = schema_problems(self._entries, self.input_schema, self.output_schema)
        if problems:
            raise ConfigurationError(
                f"workflow {self.id!r}: step outputs do not fit the next inputs:\n- "
                + "\n- ".join(problems)
            )
        self._root = compile_entries(self._entries)
        return self

    # --- runs ---------------------------------------------------------------------------------

    async def create_run(self, run_id: str | None = None) -> WorkflowRun:
        """Return a run; with the id of an earlier run, that run (read from storage).

        Raises:
            ConfigurationError: The workflow is not committed.
        """
        self.root()
        snapshot = None
        if run_id is not None:
            snapshot = await load_snapshot(self.storage, self.id, run_id)
        return WorkflowRun(self, run_id or str(uuid.uuid4()), snapshot)

    def observe(
        self,
        input_data: Any = None,
        *,
        run_id: str | None = None,
        initial_state: dict[str, Any] | None = None,
    ) -> Observable[WorkflowChunk]:
        """Return a run as a cold Observable: each subscription is a new run.

        The input is validated now; subscribing starts the run from the next event-loop
        callback; disposing cancels it (no ``workflow-finish`` then: the subscriber left).

        Raises:
            InvalidInputError: ``input_data`` does not fit the input schema.
            ConfigurationError: The workflow is not committed.
        """
        self.root()
        data = self.validate_input(input_data)

        def subscribe(
            observer: abc.ObserverBase[WorkflowChunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            execution = self.execution(
                data, run_id=run_id or str(uuid.uuid4()), initial_state=initial_state
            )
            return execution.subscribe(observer, scheduler)

        return Observable(subscribe)

    def execution(
        self, input_value: Any, *, run_id: str, initial_state: dict[str, Any] | None = None
    ) -> Execution:
        """Return one stream of a new run, not yet started (subscribe to it once).

        ``input_value`` is taken as given: validate it with :meth:`validate_input` first. This
        is what :meth:`observe` subscribes, and what a network runs when it routes here; the
        execution is a :class:`~rxagents.workflow.WorkflowSource` (usage, result, closing
        chunks).
        """
        self.root()
        return Execution(
            self,
            run_id,
            self.storage,
            input_value=input_value,
            state=to_json(dict(initial_state or {})),
        )

    async def get_run_result(self, run_id: str) -> WorkflowResult | None:
        """Return the result of a run from its snapshot in storage (``None`` if unknown)."""
        snapshot = await load_snapshot(self.storage, self.id, run_id)
        return None if snapshot is None else result_from_snapshot(snapshot)

    # --- used by runs and nodes ---------------------------------------------------------------

    def root(self) -> SequenceNode:
        """Return the committed root node.

        Raises:
            ConfigurationError: The workflow is not committed.
        """
        if self._root is None:
            raise ConfigurationError(f"workflow {self.id!r} is not committed; call commit() first")
        return self._root

    def validate_input(self, value: Any) -> Any:
        """Return the run's input as JSON, validated against the input schema.

        Raises:
            InvalidInputError: ``value`` does not fit the input schema.
        """
        schema = self.input_schema
        if schema is None:
            return to_json(value)
        if not isinstance(value, schema):
            value = validate(schema, value, f"input of workflow {self.id!r}")
        return value.model_dump(mode="json", by_alias=True)

    def dump_output(self, value: Any) -> Any:
        """Return the run's output, validated against the output schema.

        Raises:
            InvalidInputError: ``value`` does not fit the output schema.
        """
        schema = self.output_schema
        if schema is None:
            return value
        return validate(schema, value, f"output of workflow {self.id!r}").model_dump(
            mode="json", by_alias=True
        )

    def find_step(self, path: Sequence[str]) -> Step | Workflow | None:
        """Return the step at ``path`` (ids, nested workflows first), or ``None``."""
        if not path:
            return None
        step = self._steps.get(path[0])
        if len(path) == 1 or step is None:
            return step
        return step.find_step(path[1:]) if isinstance(step, Workflow) else None

    # --- internals ----------------------------------------------------------------------------

    def _add(self, entry: Entry) -> Self:
        if self._root is not None:
            raise ConfigurationError(
                f"workflow {self.id!r} is committed; build a new Workflow to change the flow"
            )
        for step in entry.steps:
            known = self._steps.get(step.id)
            if known is not None and known is not step:
                raise ConfigurationError(
                    f"workflow {self.id!r}: two different steps have the id {step.id!r}; "
                    "give them distinct ids (Step.from_agent(agent, id=...))"
                )
            self._steps[step.id] = step
        self._entries.append(entry)
        return self

    def _step(self, step: object) -> Step | Workflow:
        if isinstance(step, Step | Workflow):
            return step
        if isinstance(step, AgentLike):  # a local or a remote agent
            return Step.from_agent(step)
        if isinstance(step, Tool):
            return Step.from_tool(step)
        raise ConfigurationError(
            f"workflow {self.id!r}: {step!r} is not a Step, Workflow, Agent or Tool"
        )

    def _members(self, steps: Sequence[StepLike], what: str) -> tuple[Step | Workflow, ...]:
        members = tuple(self._step(step) for step in steps)
        if not members:
            raise ConfigurationError(f"workflow {self.id!r}: {what}() needs at least one step")
        ids = [step.id for step in members]
        if len(set(ids)) != len(ids):
            raise ConfigurationError(
                f"workflow {self.id!r}: {what}() steps need distinct ids (their outputs are "
                f"keyed by id), got {ids}"
            )
        return members

    def _loop(self, kind: Kind, step: StepLike, condition: Condition) -> Self:
        if not callable(condition):
            raise ConfigurationError(f"workflow {self.id!r}: {kind}() needs a condition function")
        return self._add(Entry(kind, (self._step(step),), (condition,)))

    def _generated_id(self, kind: str) -> str:
        step_id = f"{kind}_{self.id}_{self._generated}"
        self._generated += 1
        return step_id

    def _nested(self, found: set[Workflow]) -> set[Workflow]:
        """Add every workflow nested in this one (at any depth) to ``found``."""
        for step in self._steps.values():
            if isinstance(step, Workflow) and step not in found:
                found.add(step)
                step._nested(found)
        return found


def _is_model_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _is_pair(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and callable(value[0])


def _is_number(value: object, *, integer: bool = False) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if integer else isinstance(value, int | float)
