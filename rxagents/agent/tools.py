"""Tools: typed functions the model can call, with validated arguments.

A tool may take a :class:`ToolContext` (a parameter annotated with it, injected by the agent
loop, never part of the input schema): the run and call it serves, whether it was cancelled, and
``ctx.writer`` to stream progress (``tool-output`` and data chunks) while it runs.
A tool may pause its run with ``await ctx.suspend(payload)``; when the run is resumed, the tool
runs again from the top with ``ctx.resume_data`` (and ``ctx.suspend_payload``) set. A tool built
with ``require_approval=`` does not run until a human approves the call.

Cancellation: when a run is cancelled, an async tool is cancelled at its next ``await`` (its
``finally`` blocks run). A sync tool runs in a worker thread that Python cannot interrupt: it
goes on until it returns, and its result is discarded. A long sync tool should check
``ctx.cancelled`` (or wait on ``ctx.cancel_event``) and return early.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import (
    Any,
    Literal,
    NoReturn,
    TypeAlias,
    TypeVar,
    final,
    get_type_hints,
    overload,
)

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from rxagents.agent._writer import ToolWriter
from rxagents.errors import ConfigurationError, ToolExecutionError
from rxagents.models import Message, ToolSpec

__all__ = (
    "ApprovalPolicy",
    "ModelOutput",
    "NestedPause",
    "Tool",
    "ToolContext",
    "ToolDefinitionWarning",
    "ToolSuspended",
    "ToolWriter",
    "resume_schema_text",
    "tool",
)

_R = TypeVar("_R")

JsonValue = Any
"""Untyped JSON data: what tools receive and return on the wire."""


ApprovalPolicy: TypeAlias = "bool | Callable[[Any], bool]"
"""Whether a call needs approval: a flag, or a function of the call's arguments."""


ModelOutput: TypeAlias = "dict[str, Any]"
"""What the model receives as a tool's result: ``{"type": "text", "value": str}`` or
``{"type": "json", "value": ...}`` (the AI SDK's tool-result output)."""


@dataclass(frozen=True)
class NestedPause:
    """A call of a nested run (a sub-agent's tool) that the nested run paused on.

    A tool raising :class:`ToolSuspended` with it pauses its own run on that call: the
    ``tool-call-approval`` (or ``tool-call-suspended``) chunk carries this call's id with the
    nested call's name, arguments (and suspend payload, resume schema). Answering it runs the
    tool again with ``ctx.suspend_payload`` set and ``ctx.resume_data`` the answer: ``{"approved":
    bool, "reason"?: str}`` for an approval, the resume data as sent for a suspension.
    """

    kind: Literal["approval", "suspension"]
    """What the nested call waits for."""
    tool_name: str
    """The nested call's tool."""
    args: Any
    """The nested call's arguments."""
    suspend_payload: Any = None
    """What the nested tool suspended with (suspensions)."""
    resume_schema: str | None = None
    """The nested tool's resume schema, as JSON text (suspensions, when it has one)."""


class ToolSuspended(Exception):
    """Raised by :meth:`ToolContext.suspend`: the agent loop pauses the run on this call."""

    def __init__(self, payload: Any, *, nested: NestedPause | None = None) -> None:
        super().__init__("the tool suspended its run")
        self.payload = payload
        """What the tool passed to ``suspend()`` (JSON-compatible); given back to the tool as
        ``ctx.suspend_payload`` when the run is resumed."""
        self.nested = nested
        """The nested call the run then waits on, shown instead of this one."""


class ToolDefinitionWarning(UserWarning):
    """A tool was defined in a way the model will understand poorly (no description, no types)."""


@final
class ToolContext:
    """What a running tool knows of its call; declare a parameter of this type to receive it.

    Example:
        >>> @tool(description="Sum numbers until done or cancelled.")
        ... def crunch(n: int, ctx: ToolContext) -> int:
        ...     total = 0
        ...     for i in range(n):
        ...         if ctx.cancelled:
        ...             break
        ...         total += i
        ...     return total
    """

    __slots__ = (
        "_cancelled",
        "_suspend_schema",
        "messages",
        "resume_data",
        "run_id",
        "suspend_payload",
        "tool_call_id",
        "tool_name",
        "writer",
    )

    def __init__(
        self,
        run_id: str,
        tool_call_id: str,
        tool_name: str,
        *,
        resume_data: Any = None,
        suspend_payload: Any = None,
        suspend_schema: type[BaseModel] | None = None,
        writer: ToolWriter | None = None,
        messages: Sequence[Message] = (),
    ) -> None:
        self.writer = writer or ToolWriter(run_id, tool_call_id, tool_name)
        """Sends progress to the stream while the tool runs: ``await ctx.writer.write(value)``
        (a ``tool-output`` chunk), ``await ctx.writer.custom({"type": "data-…", …})`` (a data
        chunk), ``await ctx.writer.pipe(nested_stream)`` (see :class:`ToolWriter`)."""
        self.resume_data = resume_data
        """The resume data when the run was resumed on this call (validated against the
        tool's ``resume_schema``, as an instance of it when it has one), else ``None``."""
        self.suspend_payload = suspend_payload
        """What the tool passed to ``suspend()`` before the run was resumed, else ``None``."""
        self._suspend_schema = suspend_schema
        self.run_id = run_id
        """The run that made the call."""
        self.tool_call_id = tool_call_id
        """The call's id (``toolCallId`` on the wire)."""
        self.tool_name = tool_name
        """The name the model called the tool by."""
        self.messages: tuple[Message, ...] = tuple(messages)
        """The conversation the run had sent to the model before the step that made this call
        (system message first; empty outside an agent run). Do not modify the messages."""
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        """Whether the call was cancelled (its run was cancelled): stop and return early."""
        return self._cancelled.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """Set when the call is cancelled; a sync tool may ``wait()`` on it instead of sleeping."""
        return self._cancelled

    def _cancel(self) -> None:
        self._cancelled.set()

    def suspend(self, payload: Any = None) -> Awaitable[NoReturn]:
        """Pause the run on this call; it never returns (``await`` it in an async tool).

        The stream ends with ``tool-call-suspended`` carrying ``payload`` (a pydantic model is
        dumped; with the tool's ``suspend_schema`` it is validated first). Resuming the run
        (``agent.resume_stream(data, run_id=..., tool_call_id=...)``) runs the tool again from
        the top with ``resume_data`` set.

        Raises:
            ToolSuspended: Always: the agent loop catches it and pauses the run.
            ToolExecutionError: ``payload`` does not fit the tool's ``suspend_schema``.
        """
        if self._suspend_schema is not None and not isinstance(payload, self._suspend_schema):
            try:
                payload = self._suspend_schema.model_validate(payload)
            except ValidationError as err:
                raise ToolExecutionError(
                    f"tool {self.tool_name!r} suspended with a payload that does not fit its "
                    f"suspend_schema: {_problems(err)}",
                    tool_name=self.tool_name,
                ) from err
        raise ToolSuspended(to_json_value(payload))


@final
class Tool:
    """A tool the model can call.

    ``execute`` receives the validated input (an ``input_schema`` instance, or the raw JSON value
    when there is no schema) and returns a JSON-compatible value (pydantic models are dumped).
    It may be sync or async; sync tools run in a worker thread so they never block the loop.
    With ``takes_context=True`` it is called as ``execute(input, ctx)`` with a
    :class:`ToolContext`. ``require_approval`` (``True`` or a function of the validated input)
    makes each call wait for a human's approval; ``suspend_schema`` and ``resume_schema`` type
    what the tool suspends with and what resuming it must send. ``input_json_schema`` is sent
    to the model as the input schema instead of the one derived from ``input_schema`` (which
    still validates); ``to_model_output`` maps a result to what the model receives
    (``{"type": "text", "value": ...}``), as Mastra's ``toModelOutput``.

    Example:
        >>> class WeatherIn(BaseModel):
        ...     city: str
        >>> weather = Tool("weather", "Current weather", WeatherIn,
        ...                lambda args: {"city": args.city, "temp": 21})
    """

    def __init__(
        self,
        id: str,
        description: str = "",
        input_schema: type[BaseModel] | None = None,
        execute: Callable[..., Any] | None = None,
        *,
        output_schema: type[BaseModel] | None = None,
        takes_context: bool = False,
        require_approval: ApprovalPolicy = False,
        suspend_schema: type[BaseModel] | None = None,
        resume_schema: type[BaseModel] | None = None,
        input_json_schema: dict[str, Any] | None = None,
        to_model_output: Callable[[Any], ModelOutput] | None = None,
    ) -> None:
        unchecked: dict[str, object] = {"id": id, "execute": execute, "schema": input_schema}
        if not isinstance(unchecked["id"], str) or not id:
            raise ConfigurationError("a tool needs a non-empty string id")
        if not callable(unchecked["execute"]):
            raise ConfigurationError(f"tool {id!r} needs an execute function")
        schema = unchecked["schema"]
        if schema is not None and not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ConfigurationError(f"tool {id!r}: input_schema must be a pydantic model class")
        self.id = id
        self.description = description
        self.input_schema = input_schema
        self.output_schema = output_schema
        self._execute: Callable[..., Any] = execute  # type: ignore[assignment]  # checked above
        self.takes_context = takes_context
        self.require_approval: ApprovalPolicy = require_approval
        """Whether a call waits for a human's approval (a flag or a function of the args)."""
        self.suspend_schema = suspend_schema
        """What the tool passes to ``ctx.suspend()`` (validated when given)."""
        self.resume_schema = resume_schema
        """What resuming a suspended call must send (validated before the tool runs again)."""
        self.input_json_schema = input_json_schema
        """The input schema sent to the model as given (else derived from ``input_schema``)."""
        self.to_model_output = to_model_output
        """Turns a result into what the model receives instead of the result itself (the
        ``tool-result`` chunk keeps the result, with this in
        ``providerMetadata.mastra.modelOutput``)."""
        self._specs: dict[str, ToolSpec] = {}
        """Whether ``execute`` is given a :class:`ToolContext` as its second argument."""
        self._is_async = inspect.iscoroutinefunction(execute) or inspect.iscoroutinefunction(
            getattr(execute, "__call__", None)  # noqa: B004 - async callable objects
        )

    def __repr__(self) -> str:
        return f"Tool({self.id!r})"

    def spec(self, name: str | None = None) -> ToolSpec:
        """Describe the tool for the model, under ``name`` (default: its id).

        The description is built once per name (a run asks for it on every model call).
        """
        key = name or self.id
        spec = self._specs.get(key)
        if spec is None:
            schema: dict[str, Any] = (
                self.input_json_schema
                if self.input_json_schema is not None
                else self.input_schema.model_json_schema()
                if self.input_schema is not None
                else {"type": "object", "additionalProperties": True}
            )
            spec = ToolSpec(name=key, description=self.description, input_schema=schema)
            self._specs[key] = spec
        return spec

    def validate_args(self, args: JsonValue) -> Any:
        """Validate raw JSON arguments against the input schema.

        Raises:
            ToolExecutionError: The arguments do not fit the schema (the message lists why).
        """
        if self.input_schema is None:
            return args
        try:
            return self.input_schema.model_validate(args)
        except ValidationError as err:
            raise ToolExecutionError(
                f"invalid arguments for tool {self.id!r}: {_problems(err)}", tool_name=self.id
            ) from err

    def needs_approval(self, args: JsonValue) -> bool:
        """Whether a call with ``args`` waits for approval (``require_approval``).

        A function policy receives the validated input; arguments that do not validate need
        no approval (the call fails without running).
        """
        policy = self.require_approval
        if isinstance(policy, bool):
            return policy
        try:
            value = self.validate_args(args)
        except ToolExecutionError:
            return False
        return bool(policy(value))

    async def run(self, args: JsonValue, context: ToolContext | None = None) -> JsonValue:
        """Validate ``args``, run the tool and return its JSON-compatible result.

        ``context`` is passed on when the tool takes one (a blank one is made otherwise);
        cancelling the awaiting task sets ``context.cancelled`` before the cancellation goes on.

        Raises:
            ToolExecutionError: Invalid arguments.
            Exception: Whatever the tool raised.
        """
        value = self.validate_args(args)
        ctx = context or ToolContext("", "", self.id)
        call: tuple[Any, ...] = (value, ctx) if self.takes_context else (value,)
        try:
            if self._is_async:
                result = await self._execute(*call)
            else:
                result = await asyncio.to_thread(self._execute, *call)
                if inspect.isawaitable(result):
                    result = await result
        except asyncio.CancelledError:
            ctx._cancel()
            raise
        return to_json_value(result)


def _problems(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<input>'}: {e['msg']}"
        for e in err.errors(include_url=False)
    )


def resume_schema_text(model: type[BaseModel]) -> str:
    """A model's JSON schema as Mastra sends it: draft-07, no titles, ``$schema`` last."""
    schema = _untitled(model.model_json_schema())
    if isinstance(schema, dict):
        schema.setdefault("additionalProperties", False)
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return json.dumps(schema, separators=(",", ":"))


def _untitled(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untitled(v) for k, v in value.items() if k != "title"}
    if isinstance(value, list):
        return [_untitled(v) for v in value]
    return value


def to_json_value(value: Any) -> JsonValue:
    """Turn pydantic models (also nested in lists and dicts) into JSON-compatible data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    return value


@overload
def tool(fn: Callable[..., _R], /) -> Tool: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    require_approval: ApprovalPolicy = False,
    suspend_schema: type[BaseModel] | None = None,
    resume_schema: type[BaseModel] | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    require_approval: ApprovalPolicy = False,
    suspend_schema: type[BaseModel] | None = None,
    resume_schema: type[BaseModel] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function (sync or async) into a :class:`Tool`.

    The function's name is the tool's name, its docstring the description, and its parameters
    (with their type hints and defaults) the input schema. ``require_approval``,
    ``suspend_schema`` and ``resume_schema`` are as for :class:`Tool`.

    Example:
        >>> @tool
        ... async def weather(city: str, unit: str = "C") -> dict:
        ...     '''Current weather for a city.'''
        ...     return {"city": city, "temp": 21, "unit": unit}
    """

    def wrap(function: Callable[..., Any]) -> Tool:
        schema, context_name = _signature_model(function)
        fields = tuple(schema.model_fields)
        is_async = inspect.iscoroutinefunction(function)

        def arguments(args: BaseModel, ctx: ToolContext) -> dict[str, Any]:
            values = {f: getattr(args, f) for f in fields}
            if context_name is not None:
                values[context_name] = ctx
            return values

        if is_async:

            async def execute_async(args: BaseModel, ctx: ToolContext) -> Any:
                return await function(**arguments(args, ctx))

            execute: Callable[..., Any] = execute_async
        else:

            def execute_sync(args: BaseModel, ctx: ToolContext) -> Any:
                return function(**arguments(args, ctx))

            execute = execute_sync
        doc = inspect.getdoc(function) or ""
        tool_name = name or function.__name__
        if not (description if description is not None else doc):
            warnings.warn(
                f"@tool {tool_name!r} has no docstring or description: the model sees no "
                "description of what it does",
                ToolDefinitionWarning,
                stacklevel=3,
            )
        return Tool(
            tool_name,
            description if description is not None else doc,
            schema,
            execute,
            takes_context=True,
            require_approval=require_approval,
            suspend_schema=suspend_schema,
            resume_schema=resume_schema,
        )

    if fn is not None:
        return wrap(fn)
    return wrap


def _signature_model(
    function: Callable[..., Awaitable[Any] | Any],
) -> tuple[type[BaseModel], str | None]:
    """The input model of a function's parameters, and the name of its context parameter."""
    signature = inspect.signature(function)
    try:
        hints = get_type_hints(function)
    except Exception:  # unresolvable annotations: fall back to Any
        hints = {}
    definitions: dict[str, Any] = {}
    context_name: str | None = None
    untyped: list[str] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(
                f"@tool {function.__name__!r}: *args/**kwargs cannot form an input schema"
            )
        if hints.get(param.name) is ToolContext:
            context_name = param.name  # injected by the loop, not part of the schema
            continue
        if param.annotation is inspect.Parameter.empty:
            untyped.append(param.name)
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        definitions[param.name] = (annotation, default)
    model_name = "".join(part.capitalize() for part in function.__name__.split("_")) + "Input"
    model: type[BaseModel] = create_model(
        model_name, __config__=ConfigDict(extra="forbid"), **definitions
    )
    if untyped:
        warnings.warn(
            f"@tool {function.__name__!r}: parameter(s) {', '.join(untyped)} have no type hint, "
            "so the model is told they take anything; annotate them",
            ToolDefinitionWarning,
            stacklevel=4,
        )
    return model, context_name
