"""Helpers shared by the operators: scheduler resolution and argument and item checks."""

from __future__ import annotations

import asyncio
import math

from reactivex import abc
from reactivex.scheduler import TimeoutScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler

from rxagents.errors import InvalidInputError

__all__ = (
    "check_positive_int",
    "check_prefix",
    "check_seconds",
    "not_a_chunk",
    "resolve_scheduler",
)


def resolve_scheduler(
    explicit: abc.SchedulerBase | None, subscribed: abc.SchedulerBase | None
) -> abc.SchedulerBase:
    """Pick the scheduler a time-based operator uses for one subscription.

    In order: the operator's ``scheduler`` argument, the scheduler given to ``subscribe``, an
    :class:`AsyncIOScheduler` on the running event loop (so timers fire on the loop thread, next
    to the events), and :class:`TimeoutScheduler` when no loop is running.
    """
    if explicit is not None:
        return explicit
    if subscribed is not None:
        return subscribed
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return TimeoutScheduler.singleton()
    return AsyncIOScheduler(loop)


def check_seconds(operator: str, seconds: object) -> float:
    """Return ``seconds`` as a float, or raise if it is not a positive finite number."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds <= 0
    ):
        raise InvalidInputError(f"{operator}() needs a positive number of seconds, got {seconds!r}")
    return float(seconds)


def not_a_chunk(operator: str, value: object) -> InvalidInputError:
    """Return the error an operator sends downstream when a source item is not a typed chunk."""
    return InvalidInputError(
        f"{operator}() expects typed chunks, got {type(value).__name__}; "
        "parse wire data first with ops.map(parse_chunk)"
    )


def check_prefix(operator: str, prefix: object) -> str:
    """Return ``prefix``, or raise if it is not a non-empty string."""
    if not isinstance(prefix, str) or not prefix:
        raise InvalidInputError(
            f"{operator}() needs a non-empty str prefix such as 'agent-execution-event-', "
            f"got {prefix!r}"
        )
    return prefix


def check_positive_int(operator: str, name: str, value: object) -> int | None:
    """Return ``value``, or raise if it is neither a positive int nor ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(
            f"{operator}() {name} must be a positive int or None, got {value!r}"
        )
    return value
