"""What a step's ``execute`` (and a condition, and a ``map`` function) receives: the context."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

__all__ = ("StepContext", "StepWriter")

if TYPE_CHECKING:
    from rxagents.workflow._step import Step
    from rxagents.workflow._workflow import Workflow

_I = TypeVar("_I")


@final
class _Done:
    """An awaitable that is already done (``await`` on it returns ``None`` at once).

    ``writer.write()`` and ``suspend()`` act when called and return this, so sync steps can
    call them without awaiting (no "coroutine was never awaited" warning) and async steps can
    ``await`` them as in Mastra.
    """

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())  # type: ignore[return-value]  # an empty iterator is a finished await


_DONE = _Done()


@final
class StepWriter:
    """Write values into the workflow stream as ``workflow-step-output`` chunks (``from: USER``).

    ``write(value)`` emits at once; awaiting its result is optional. A chunk (an agent's, say)
    is wrapped whole; pydantic models are dumped to JSON; anything else is kept as given.
    """

    __slots__ = ("_emit",)

    def __init__(self, emit: Callable[[Any], None]) -> None:
        self._emit = emit

    def write(self, value: Any) -> _Done:
        """Emit ``value`` as the output of the running step."""
        self._emit(value)
        return _DONE


class _Host(ABC):
    """What a context needs from the step run behind it (implemented by the node runs)."""

    __slots__ = ()

    @abstractmethod
    def suspend(self, payload: Any) -> None: ...

    @abstractmethod
    def step_result(self, step: Any) -> Any: ...

    @property
    @abstractmethod
    def init_data(self) -> Any: ...


@final
class StepContext(Generic[_I]):
    """The context of one step attempt, condition or map call.

    Attributes:
        input_data: The step's input: an instance of its input schema, or the raw JSON value
            when it has none. Conditions and ``map`` functions get the raw value. Treat it as
            read-only: the same value appears in the stream.
        resume_data: The data given to ``resume_stream()`` (an instance of the resume schema
            when the step has one), or ``None`` unless this attempt resumes the step.
        run_id: The workflow run's id.
        workflow_id: The id of the workflow the step belongs to (the nested one, if nested).
        state: The run's state: a dict shared by every step of the run (nested workflows too)
            and kept in snapshots, so it must stay JSON-compatible.
        writer: Writes ``workflow-step-output`` chunks for this step.
        retry_count: How many times the step was retried before this attempt (0 at first).
        iteration_count: The loop iteration (1-based) in ``dountil``/``dowhile``; 0 elsewhere.
    """

    __slots__ = (
        "_host",
        "input_data",
        "iteration_count",
        "resume_data",
        "retry_count",
        "run_id",
        "state",
        "workflow_id",
        "writer",
    )

    def __init__(
        self,
        host: _Host,
        input_data: _I,
        *,
        run_id: str,
        workflow_id: str,
        state: dict[str, Any],
        writer: StepWriter,
        resume_data: Any = None,
        retry_count: int = 0,
        iteration_count: int = 0,
    ) -> None:
        self._host = host
        self.input_data = input_data
        self.run_id = run_id
        self.workflow_id = workflow_id
        self.state = state
        self.writer = writer
        self.resume_data = resume_data
        self.retry_count = retry_count
        self.iteration_count = iteration_count

    def __repr__(self) -> str:
        return f"StepContext(run_id={self.run_id!r}, input_data={self.input_data!r})"

    def suspend(self, payload: Any = None) -> _Done:
        """Suspend the run at this step; ``await ctx.suspend(payload)`` returns at once.

        The step's return value is then ignored: the step ends ``suspended`` (a
        ``workflow-step-suspended`` chunk carrying ``payload``), sibling steps settle, and the
        run ends ``suspended`` with a snapshot in storage. ``run.resume_stream()`` re-runs the
        step with ``ctx.resume_data`` set.

        Raises:
            InvalidInputError: ``payload`` does not fit the step's suspend schema (raised into
                the step: unless caught, the step fails).
            RuntimeError: Called from a condition or ``map`` function, which cannot suspend.
        """
        self._host.suspend(payload)
        return _DONE

    def get_step_result(self, step: Step | Workflow | str) -> Any:
        """Return the output of a step that succeeded earlier in this run, or ``None``.

        ``step`` is a step, a nested workflow, or an id; ids are looked up in the current
        workflow first (a nested workflow's own steps), then as full dotted ids.
        """
        return self._host.step_result(step)

    def set_state(self, state: dict[str, Any]) -> None:
        """Replace the run's state (Mastra's ``setState``); ``ctx.state`` is the same dict."""
        replacement = dict(state)
        self.state.clear()
        self.state.update(replacement)

    def get_init_data(self) -> Any:
        """Return the workflow's input (of the nested workflow, inside one), as JSON."""
        return self._host.init_data
