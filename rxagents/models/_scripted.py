"""Embedded, deterministic models: the default for demos, notebooks and tests (no network)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar, final

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rxagents._core.rx import lean
from rxagents.errors import ConfigurationError
from rxagents.models._parts import ModelPart, V1ModelPart, parse_part, parse_v1_part
from rxagents.models._protocol import ModelCall

__all__ = ("FunctionModel", "ScriptedModel", "ScriptedModelV1")

_P = TypeVar("_P")

PartLike = ModelPart | Mapping[str, Any]
"""A v2 part as a model or a wire dict."""
V1PartLike = V1ModelPart | Mapping[str, Any]
"""A v1 part as a model or a wire dict."""
FunctionResult = Iterable[PartLike] | AsyncIterable[PartLike] | Awaitable[Iterable[PartLike]]
"""What a :class:`FunctionModel` function may return."""


class _Flag:
    """A mutable flag shared between a subscription's callbacks and its disposable."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = False

    def set(self) -> None:
        """Raise the flag."""
        self._value = True

    def is_set(self) -> bool:
        """Whether the flag was raised."""
        return self._value


class _Replay(Generic[_P]):
    """Emits one scripted step: all parts from one loop callback, or one per ``delay``."""

    def __init__(self, parts: Sequence[_P | Exception], delay: float) -> None:
        self._parts = parts
        self._delay = delay

    def run(self, observer: abc.ObserverBase[_P]) -> abc.DisposableBase:
        """Emit the step to ``observer`` from the next loop callback; the disposable stops it."""
        return _Emission(self._parts, self._delay, observer)


class _Emission(abc.DisposableBase, Generic[_P]):
    """One replay of a step.

    It lets go of its scheduled callback when that runs or when it is disposed, so a finished
    run leaves no reference cycle behind.
    """

    __slots__ = ("_delay", "_disposed", "_handle", "_loop", "_observer", "_parts", "_position")

    def __init__(
        self, parts: Sequence[_P | Exception], delay: float, observer: abc.ObserverBase[_P]
    ) -> None:
        self._parts = parts
        self._delay = delay
        self._observer = observer
        self._loop = loop = asyncio.get_running_loop()
        self._disposed = False
        self._position = 0
        self._handle: asyncio.Handle | None = (
            loop.call_soon(self._emit_all) if delay <= 0 else loop.call_soon(self._emit_next)
        )

    def _emit_all(self) -> None:
        self._handle = None
        observer = self._observer
        for part in self._parts:
            if self._disposed:
                return
            if isinstance(part, Exception):
                observer.on_error(part)
                return
            observer.on_next(part)
        if not self._disposed:
            observer.on_completed()

    def _emit_next(self) -> None:
        self._handle = None
        if self._disposed:
            return
        parts, observer = self._parts, self._observer
        if self._position == len(parts):
            observer.on_completed()
            return
        part = parts[self._position]
        self._position += 1
        if isinstance(part, Exception):
            observer.on_error(part)
            return
        observer.on_next(part)
        if not self._disposed:
            self._handle = self._loop.call_later(self._delay, self._emit_next)

    def dispose(self) -> None:
        """Stop emitting (idempotent)."""
        self._disposed = True
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()


def _exhausted(model: str, index: int, count: int) -> ConfigurationError:
    return ConfigurationError(
        f"{model} was called {index + 1} times but only {count} step(s) are scripted; "
        "script one entry per model call (or pass cycle=True)"
    )


@final
class ScriptedModel:
    """A v2 model that replays scripted responses, one list of parts per model call.

    Parts are wire dicts (``{"type": "text-delta", "id": "t1", "delta": "Hi"}``) or part models,
    validated once here. An exception instance in a step makes the model fail at that point.
    Each step's parts are emitted from one event-loop callback (or one part per ``part_delay``
    seconds, for demos), never synchronously inside ``subscribe``; disposing stops emission.

    Example:
        >>> model = ScriptedModel([[
        ...     {"type": "text-start", "id": "t1"},
        ...     {"type": "text-delta", "id": "t1", "delta": "Hello"},
        ...     {"type": "text-end", "id": "t1"},
        ...     {"type": "finish", "finishReason": "stop",
        ...      "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}},
        ... ]])
    """

    specification_version: Literal["v2"] = "v2"

    def __init__(
        self,
        steps: Sequence[Sequence[PartLike | Exception]],
        *,
        provider: str = "scripted",
        model_id: str = "scripted-model",
        part_delay: float = 0.0,
        cycle: bool = False,
    ) -> None:
        if not isinstance(steps, list | tuple):
            raise ConfigurationError("ScriptedModel takes a list of steps (lists of parts)")
        self._steps: list[_Replay[ModelPart]] = [
            _Replay([p if isinstance(p, Exception) else parse_part(p) for p in step], part_delay)
            for step in steps
        ]
        self.provider = provider
        self.model_id = model_id
        self.cycle = cycle
        self.calls: list[ModelCall] = []
        """Every call received, in order: assert on what the agent sent."""

    def reset(self) -> None:
        """Forget the recorded calls; the next call replays the first step again."""
        self.calls.clear()

    def do_stream(self, call: ModelCall) -> Observable[ModelPart]:
        """Replay the next scripted step (the step index is the number of calls so far)."""

        def subscribe(
            observer: abc.ObserverBase[ModelPart], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            index = len(self.calls)
            self.calls.append(call)
            if index >= len(self._steps):
                if not self.cycle or not self._steps:
                    observer.on_error(_exhausted("ScriptedModel", index, len(self._steps)))
                    return Disposable()
                index %= len(self._steps)
            return self._steps[index].run(observer)

        return lean(subscribe)


@final
class ScriptedModelV1:
    """A v1 (legacy) model replaying scripted v1 parts; see :class:`ScriptedModel`."""

    specification_version: Literal["v1"] = "v1"

    def __init__(
        self,
        steps: Sequence[Sequence[V1PartLike | Exception]],
        *,
        provider: str = "scripted",
        model_id: str = "scripted-model-v1",
        part_delay: float = 0.0,
    ) -> None:
        self._steps: list[_Replay[V1ModelPart]] = [
            _Replay(
                [p if isinstance(p, Exception) else parse_v1_part(p) for p in step],
                part_delay,
            )
            for step in steps
        ]
        self.provider = provider
        self.model_id = model_id
        self.calls: list[ModelCall] = []
        """Every call received, in order."""

    def do_stream(self, call: ModelCall) -> Observable[V1ModelPart]:
        """Replay the next scripted step."""

        def subscribe(
            observer: abc.ObserverBase[V1ModelPart], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            index = len(self.calls)
            self.calls.append(call)
            if index >= len(self._steps):
                observer.on_error(_exhausted("ScriptedModelV1", index, len(self._steps)))
                return Disposable()
            return self._steps[index].run(observer)

        return lean(subscribe)


@final
class FunctionModel:
    """A v2 model that calls ``fn(call)`` for every model call.

    ``fn`` returns or yields parts (wire dicts or part models): a list, a generator, an
    awaitable of a list, or an async generator. Sync results are emitted from one event-loop
    callback; async ones from one task, cancelled when the subscription is disposed.

    Example:
        >>> def echo(call):
        ...     text = call.prompt[-1]["content"][0]["text"]
        ...     return [{"type": "text-start", "id": "t"},
        ...             {"type": "text-delta", "id": "t", "delta": text},
        ...             {"type": "text-end", "id": "t"},
        ...             {"type": "finish", "finishReason": "stop"}]
        >>> model = FunctionModel(echo)
    """

    specification_version: Literal["v2"] = "v2"

    def __init__(
        self,
        fn: Callable[[ModelCall], FunctionResult],
        *,
        provider: str = "function",
        model_id: str = "function-model",
    ) -> None:
        if not callable(fn):
            raise ConfigurationError("FunctionModel takes a function fn(call) -> parts")
        self._fn = fn
        self.provider = provider
        self.model_id = model_id
        self.calls: list[ModelCall] = []
        """Every call received, in order."""

    def do_stream(self, call: ModelCall) -> Observable[ModelPart]:
        """Call the function and stream the parts it gives."""

        def subscribe(
            observer: abc.ObserverBase[ModelPart], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            self.calls.append(call)
            loop = asyncio.get_running_loop()
            disposed = _Flag()
            task: asyncio.Task[None] | None = None

            async def run_async(result: Any) -> None:
                try:
                    if inspect.isawaitable(result):
                        result = await result
                    if isinstance(result, AsyncIterable):
                        async for part in result:
                            if disposed.is_set():
                                return
                            observer.on_next(parse_part(part))
                    else:
                        for part in result:
                            if disposed.is_set():
                                return
                            observer.on_next(parse_part(part))
                except Exception as err:
                    if not disposed.is_set():
                        observer.on_error(err)
                    return
                if not disposed.is_set():
                    observer.on_completed()

            def start() -> None:
                nonlocal task
                if disposed.is_set():
                    return
                try:
                    result = self._fn(call)
                    if inspect.isawaitable(result) or isinstance(result, AsyncIterable):
                        task = loop.create_task(run_async(result))
                        return
                    for part in result:
                        if disposed.is_set():
                            return
                        observer.on_next(parse_part(part))
                except Exception as err:
                    if not disposed.is_set():
                        observer.on_error(err)
                    return
                if not disposed.is_set():
                    observer.on_completed()

            handle = loop.call_soon(start)

            def dispose() -> None:
                disposed.set()
                handle.cancel()
                if task is not None and not task.done():
                    task.cancel()

            return Disposable(dispose)

        return lean(subscribe)
