"""``ScriptedRouter``: a network's routing and completion calls, scripted as plain data.

A network's model answers two kinds of calls: routing (structured output with a
``primitiveId``) and completion checks (``isComplete``). This model tells them apart by their
response format and answers each from its own script, so a network runs deterministically
without writing model parts by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, final

from pydantic import BaseModel
from reactivex import Observable

from rxagents.errors import ConfigurationError
from rxagents.models._parts import ModelPart
from rxagents.models._protocol import ModelCall
from rxagents.models._scripted import FunctionModel

__all__ = ("RouterCall", "ScriptedRouter")

Answer: TypeAlias = Mapping[str, Any] | BaseModel
"""A routing decision or a completion verdict: a wire dict (camelCase) or a model."""
Script: TypeAlias = Sequence[Answer] | Callable[[int], Answer]
"""Answers in order, or a function of the iteration (0-based) returning the answer."""


@dataclass(frozen=True)
class RouterCall:
    """One call the router answered."""

    kind: Literal["route", "check"]
    """A routing call or a completion check."""
    iteration: int
    """The network iteration it belongs to (0-based)."""
    call: ModelCall
    """What the network sent."""


@final
class ScriptedRouter:
    """A v2 model answering a network's routing calls and completion checks from scripts.

    Routing decisions are ``{primitiveId, primitiveType, prompt, selectionReason}``; verdicts
    ``{isComplete, completionReason, finalResult?}``. Each script is a list, answered in order,
    or a function of the network iteration (0-based: every iteration starts with one routing
    call, and its completion check belongs to it). A list that runs out ends the call with an
    error part that says so (the network records the failure and goes on), never a
    ``StopIteration``.

    Example:
        >>> router = ScriptedRouter(
        ...     routes=[{"primitiveId": "research", "primitiveType": "agent",
        ...              "prompt": "How do dolphins sleep?", "selectionReason": "facts"}],
        ...     checks=[{"isComplete": True, "completionReason": "done"}],
        ... )
        >>> coordinator = Agent("coordinator", model=router, agents={"research": research},
        ...                     memory=Memory())  # doctest: +SKIP
        >>> [(c.kind, c.iteration) for c in router.calls]  # after a run  # doctest: +SKIP
        [('route', 0), ('check', 0)]
    """

    specification_version: Literal["v2"] = "v2"

    def __init__(
        self,
        routes: Script,
        checks: Script = (),
        *,
        route_usage: tuple[int, int] = (100, 20),
        check_usage: tuple[int, int] = (60, 12),
        provider: str = "scripted-router",
        model_id: str = "scripted-router",
    ) -> None:
        """Script a router.

        Args:
            routes: The routing decisions, in order or by iteration.
            checks: The completion verdicts, in order or by iteration.
            route_usage: ``(input, output)`` tokens reported per routing call.
            check_usage: ``(input, output)`` tokens reported per completion check.
            provider: The provider name on step metadata.
            model_id: The model id on step metadata.
        """
        for name, script in (("routes", routes), ("checks", checks)):
            if not callable(script) and not isinstance(script, Sequence):
                raise ConfigurationError(f"ScriptedRouter {name} must be a list or a function")
        self._routes = routes
        self._checks = checks
        self._usage = {"route": route_usage, "check": check_usage}
        self._model = FunctionModel(self._answer, provider=provider, model_id=model_id)
        self.provider = provider
        self.model_id = model_id
        self.calls: list[RouterCall] = []
        """Every call answered, with its kind and iteration."""

    def do_stream(self, call: ModelCall) -> Observable[ModelPart]:
        """Answer one routing call or completion check."""
        return self._model.do_stream(call)

    def _answer(self, call: ModelCall) -> list[dict[str, Any]]:
        schema = (call.response_format or {}).get("schema") or {}
        kind: Literal["route", "check"] = (
            "route" if "primitiveId" in schema.get("properties", {}) else "check"
        )
        # every iteration starts with one routing call; a check belongs to the latest one
        routed = sum(1 for c in self.calls if c.kind == "route")
        iteration = routed if kind == "route" else max(routed - 1, 0)
        position = sum(1 for c in self.calls if c.kind == kind)
        self.calls.append(RouterCall(kind, iteration, call))
        script = self._routes if kind == "route" else self._checks
        if callable(script):
            answer: Answer = script(iteration)
        elif position < len(script):
            answer = script[position]
        else:
            what = "routing decisions" if kind == "route" else "completion verdicts"
            return [
                {
                    "type": "error",
                    "error": {
                        "name": "ScriptExhaustedError",
                        "message": f"ScriptedRouter has {len(script)} {what}; the network asked "
                        f"for one more (iteration {iteration}): add one, or lower max_steps",
                    },
                },
                {"type": "finish", "finishReason": "error", "usage": _usage(0, 0)},
            ]
        data = answer.model_dump(by_alias=True) if isinstance(answer, BaseModel) else dict(answer)
        text = json.dumps(data)
        return [
            {"type": "text-start", "id": "t"},
            {"type": "text-delta", "id": "t", "delta": text},
            {"type": "text-end", "id": "t"},
            {"type": "finish", "finishReason": "stop", "usage": _usage(*self._usage[kind])},
        ]


def _usage(i: int, o: int) -> dict[str, int]:
    return {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}
