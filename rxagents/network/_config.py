"""Checking a network call and building its :class:`NetworkConfig` (before anything runs)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rxagents.agent._messages import MessagesInput, normalize_messages, text_of
from rxagents.errors import ConfigurationError, InvalidInputError, InvalidInputTypeError
from rxagents.memory import MemoryRef, memory_ref
from rxagents.models import MODEL_SETTINGS
from rxagents.network._primitives import Primitives
from rxagents.network._prompts import check_system_prompt, router_system_prompt
from rxagents.network._state import NetworkConfig
from rxagents.workflow import Workflow

if TYPE_CHECKING:
    from rxagents.agent import Agent

__all__ = ("network_config",)

_MODEL_SETTINGS = MODEL_SETTINGS - {"tool_choice"}
"""Settings passed to the routing and check calls (``tool_choice`` is meaningless there)."""
_OPTIONS = _MODEL_SETTINGS | {"memory", "run_id", "instructions", "tool_choice"}


def network_config(
    agent: Agent,
    task: MessagesInput,
    max_steps: int,
    options: Mapping[str, Any],
    cache: dict[str, Any],
) -> NetworkConfig:
    """Check a network call on ``agent`` and return its configuration.

    Args:
        agent: The network agent (its model routes; its agents, workflows and tools run).
        task: A string, or messages whose last user message is the task.
        max_steps: The last iteration (iterations count from 0, as in Mastra).
        options: ``memory``, ``run_id``, ``instructions`` and model settings.
        cache: The agent's cache of prompts, reused while its primitives stay the same.

    Raises:
        TypeError: An unknown option, or a task that is not a string or messages.
        ConfigurationError: The agent has no memory, nothing to route to, or a v1 model.
        InvalidInputError: No task, or a bad ``max_steps``, ``memory`` or ``run_id``.
    """
    unknown = set(options) - _OPTIONS
    if unknown:
        raise InvalidInputTypeError(
            f"unknown option(s) {sorted(unknown)} for the network of agent {agent.id!r}; "
            f"known: {sorted(_OPTIONS | {'max_steps'})}"
        )
    if getattr(agent.model, "specification_version", None) == "v1":
        raise ConfigurationError(
            f"agent {agent.id!r} has a v1 model; a network needs a v2 model for its routing"
        )
    steps: object = max_steps
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise InvalidInputError("max_steps must be a positive int")
    memory = agent.memory
    if memory is None:
        raise ConfigurationError(
            f"agent {agent.id!r} has no memory; a network keeps its task, decisions and results "
            "in a thread: Agent(..., memory=Memory()) (or Memory(SqliteStorage(path)))"
        )
    workflows: dict[str, Workflow] = {}
    for key, workflow in agent.workflows.items():
        if not isinstance(workflow, Workflow):
            raise ConfigurationError(
                f"agent {agent.id!r}: workflow {key!r} is not a rxagents Workflow; "
                "a network runs local workflows"
            )
        workflows[key] = workflow
    primitives = Primitives(agent.agents, workflows, agent.tools)
    if not primitives:
        raise ConfigurationError(
            f"agent {agent.id!r} has no agents, workflows or tools for a network to route to"
        )
    messages = normalize_messages(task)
    users = [m for m in messages if m.get("role") == "user"]
    text = text_of(users[-1]).strip() if users else ""
    if not text:
        raise InvalidInputError("a network needs a task: a non-empty string or user message")
    value = options.get("memory")
    ref = MemoryRef(str(uuid.uuid4()), agent.id) if value is None else memory_ref(value)
    run_id = options.get("run_id")
    if run_id is not None and (not isinstance(run_id, str) or not run_id):
        raise InvalidInputError("run_id must be a non-empty string")
    instructions = options.get("instructions", agent.instructions)
    if not isinstance(instructions, str):
        raise InvalidInputError("instructions must be a string")
    router, check = _prompts(agent, primitives, instructions, cache)
    return NetworkConfig(
        network_id=agent.id,
        model=agent.model,  # type: ignore[arg-type]  # v1 models are refused by the caller
        task=text,
        task_message=users[-1],
        max_steps=max_steps,
        memory=memory,
        ref=ref,
        is_one_off=value is None,
        primitives=primitives,
        router_system=router,
        check_system=check,
        settings={k: v for k, v in options.items() if k in _MODEL_SETTINGS},
        run_id=run_id,
    )


def _prompts(
    agent: Agent, primitives: Primitives, instructions: str, cache: dict[str, Any]
) -> tuple[str, str]:
    """Return the router and check system prompts, built once per set of primitives."""
    key = (
        instructions,
        tuple((k, id(v), v.description) for k, v in primitives.agents.items()),
        tuple((k, id(v)) for k, v in primitives.workflows.items()),
        tuple((k, id(v)) for k, v in primitives.tools.items()),
    )
    if cache.get("key") != key:
        cache["key"] = key
        cache["prompts"] = (
            router_system_prompt(instructions, primitives.describe()),
            check_system_prompt(instructions),
        )
    prompts: tuple[str, str] = cache["prompts"]
    return prompts
