"""``Step``: one unit of work in a workflow, and the steps made from agents and tools."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, final

import tenacity
from pydantic import BaseModel, ValidationError

from rxagents.errors import ConfigurationError, InvalidInputError
from rxagents.events import AgentError, ChunkBase, Finish
from rxagents.workflow._context import StepContext

if TYPE_CHECKING:
    from rxagents.agent import AgentLike, Tool

__all__ = ("AgentStepInput", "AgentStepOutput", "Execute", "Step")

Execute = Callable[[StepContext[Any]], Any]
"""A step's work: ``execute(ctx)``, sync or async, returning a dict or an output model."""


class AgentStepInput(BaseModel):
    """The input of a step made from an agent (:meth:`Step.from_agent`)."""

    prompt: str
    """What to ask the agent."""


class AgentStepOutput(BaseModel):
    """The output of a step made from an agent: the agent's final text."""

    text: str
    """The last step's text, as in ``await stream.text``."""


@final
class Step:
    """A unit of work: validated input, ``execute(ctx)``, validated output.

    ``execute`` is sync or async. Sync steps run inline on the event loop (keep them quick);
    async steps start at once and only become a task if they actually wait. Schemas are
    pydantic model classes; ``None`` accepts any JSON value.

    Example:
        >>> class N(BaseModel):
        ...     n: int
        >>> inc = Step("inc", N, N, lambda ctx: {"n": ctx.input_data.n + 1})
    """

    def __init__(
        self,
        id: str,
        input_schema: type[BaseModel] | None = None,
        output_schema: type[BaseModel] | None = None,
        execute: Execute | None = None,
        *,
        description: str = "",
        retries: int | tenacity.BaseRetrying = 0,
        suspend_schema: type[BaseModel] | None = None,
        resume_schema: type[BaseModel] | None = None,
    ) -> None:
        """Build a step.

        Args:
            id: The step's id: non-empty, without dots (dots join nested ids).
            input_schema: Validates the input; ``ctx.input_data`` is an instance of it.
            output_schema: Validates what ``execute`` returns (a dict or an instance).
            execute: ``execute(ctx) -> output``, sync or async.
            description: What the step does.
            retries: Re-run a failing step this many times before it counts as failed, or a
                tenacity policy (``tenacity.AsyncRetrying(stop=..., wait=..., retry=...)``;
                its ``stop``, ``wait`` and ``retry`` strategies decide).
            suspend_schema: Validates what the step passes to ``ctx.suspend()``.
            resume_schema: Validates the resume data; ``ctx.resume_data`` is an instance of it.

        Raises:
            ConfigurationError: A bad id, schema, execute function or retry policy.
        """
        unchecked: Any = id
        if not isinstance(unchecked, str) or not id or "." in id:
            raise ConfigurationError(f"a step needs a non-empty string id without dots, not {id!r}")
        for name, schema in (
            ("input_schema", input_schema),
            ("output_schema", output_schema),
            ("suspend_schema", suspend_schema),
            ("resume_schema", resume_schema),
        ):
            if schema is not None and not _is_model_class(schema):
                raise ConfigurationError(f"step {id!r}: {name} must be a pydantic model class")
        if not callable(execute):
            raise ConfigurationError(f"step {id!r} needs an execute function")
        self.id = id
        self.description = description
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.suspend_schema = suspend_schema
        self.resume_schema = resume_schema
        self.execute: Execute = execute
        self.retries = retries
        self.retry_policy: tenacity.BaseRetrying | None = _retry_policy(id, retries)
        self.passes_input_through = False
        """Whether the output is the input unchanged (``sleep`` steps), for schema checks."""
        self.is_sleep = False
        """Whether this is a ``sleep`` step (``workflow-step-waiting`` instead of a start)."""

    def __repr__(self) -> str:
        return f"Step({self.id!r})"

    # --- validation (used by the runs) -----------------------------------------------------

    def validate_input(self, value: Any) -> Any:
        """Return the input as ``ctx.input_data``: a schema instance, or ``value`` itself.

        Raises:
            InvalidInputError: ``value`` does not fit the input schema.
        """
        schema = self.input_schema
        if schema is None or isinstance(value, schema):
            return value
        return validate(schema, value, f"input of step {self.id!r}")

    def dump_output(self, value: Any) -> Any:
        """Return what ``execute`` returned as JSON, validated against the output schema.

        Raises:
            InvalidInputError: The value does not fit the output schema.
        """
        schema = self.output_schema
        if schema is None:
            return to_json(value)
        if not isinstance(value, schema):
            value = validate(schema, value, f"output of step {self.id!r}")
        return value.model_dump(mode="json", by_alias=True)

    # --- steps from agents and tools -------------------------------------------------------

    @classmethod
    def from_agent(
        cls,
        agent: AgentLike,
        *,
        id: str | None = None,
        description: str | None = None,
        retries: int | tenacity.BaseRetrying = 0,
        **options: Any,
    ) -> Step:
        """Make a step that runs ``agent``: input ``{prompt}``, output ``{text}``.

        Every agent chunk is written whole into the workflow stream as a
        ``workflow-step-output`` (so the workflow's usage counts the agent's model calls).
        The agent's run fails the step when it ends with an ``error`` chunk.

        Args:
            agent: The agent.
            id: The step id (default: the agent's id).
            description: Default: the agent's description.
            retries: As for :class:`Step`.
            **options: Passed to ``agent.observe()`` (``max_steps``, ``temperature`` …).

        Raises:
            ConfigurationError: ``options`` are not valid options of the agent.
        """
        try:
            _ = agent.observe("", **options)  # validates the options now; runs nothing
        except (TypeError, ValueError) as error:
            raise ConfigurationError(f"Step.from_agent({agent.id!r}): {error}") from error

        async def execute(ctx: StepContext[AgentStepInput]) -> AgentStepOutput:
            return AgentStepOutput(text=await _run_agent(agent, ctx, options))

        return cls(
            id or agent.id,
            AgentStepInput,
            AgentStepOutput,
            execute,
            description=agent.description if description is None else description,
            retries=retries,
        )

    @classmethod
    def from_tool(
        cls,
        tool: Tool,
        *,
        id: str | None = None,
        retries: int | tenacity.BaseRetrying = 0,
    ) -> Step:
        """Make a step that runs ``tool`` with the step's input as the tool's arguments.

        The step's schemas are the tool's (``output_schema`` only when the tool has one).
        """

        async def execute(ctx: StepContext[Any]) -> Any:
            return await tool.run(ctx.input_data)

        return cls(
            id or tool.id,
            tool.input_schema,
            tool.output_schema,
            execute,
            description=tool.description,
            retries=retries,
        )


async def _run_agent(agent: AgentLike, ctx: StepContext[AgentStepInput], options: Any) -> str:
    """Run the agent, writing each of its chunks into the workflow; return its final text."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()
    text = ""
    failure: AgentError | None = None
    write = ctx.writer.write

    def on_next(chunk: ChunkBase) -> None:
        nonlocal text, failure
        _ = write(chunk)  # emitted now; nothing to await
        if isinstance(chunk, Finish):
            text = chunk.payload.output.text
        elif isinstance(chunk, AgentError):
            failure = chunk

    def on_error(error: Exception) -> None:
        if not done.done():
            done.set_exception(error)

    def on_completed() -> None:
        if not done.done():
            done.set_result(text)

    subscription = agent.observe(ctx.input_data.prompt, **options).subscribe(
        on_next, on_error, on_completed
    )
    try:
        result = await done
    finally:
        subscription.dispose()
    if failure is not None:
        error = failure.payload.error
        raise AgentStepError(f"agent {agent.id!r} failed: {error.message}", name=error.name)
    return result


class AgentStepError(RuntimeError):
    """An agent used as a step ended with an error; carries the agent error's name."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.error_name = name


def validate(schema: type[BaseModel], value: Any, what: str) -> BaseModel:
    """Validate ``value`` against ``schema``; raise :class:`InvalidInputError` saying why not."""
    try:
        return schema.model_validate(value)
    except ValidationError as err:
        raise InvalidInputError(f"invalid {what}: {describe(err)}") from err


def describe(err: ValidationError) -> str:
    """Summarise a validation error as ``field: problem; ...``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in detail['loc']) or '<value>'}: {detail['msg']}"
        for detail in err.errors(include_url=False)
    )


def to_json(value: Any) -> Any:
    """Turn pydantic models (also inside lists and dicts) into JSON-compatible data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        if any(isinstance(v, BaseModel | dict | list | tuple) for v in value.values()):
            return {k: to_json(v) for k, v in value.items()}
        return value
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def _is_model_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _retry_policy(step_id: str, retries: object) -> tenacity.BaseRetrying | None:
    if isinstance(retries, tenacity.BaseRetrying):
        return retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(
            f"step {step_id!r}: retries must be a non-negative int or a tenacity policy "
            "(tenacity.AsyncRetrying(stop=..., wait=...))"
        )
    if retries == 0:
        return None
    return tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(retries + 1),
        wait=tenacity.wait_none(),
        retry=tenacity.retry_if_exception_type(Exception),
    )


def is_async_callable(function: Callable[..., Any]) -> bool:
    """Whether calling ``function`` gives a coroutine (async functions and async ``__call__``)."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - async callable objects
    )
