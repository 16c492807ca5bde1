"""What a network can run, and turning the router's answer into a checked plan."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from rxagents.errors import InvalidInputError, ToolExecutionError
from rxagents.network._schemas import RoutingDecision

if TYPE_CHECKING:
    from rxagents.agent import AgentLike, Tool
    from rxagents.workflow import Workflow

__all__ = ("Plan", "Primitives", "parse_decision", "strip_fences")

PlanKind = Literal["agent", "workflow", "tool", "none", "invalid"]


@dataclass(frozen=True, slots=True)
class Plan:
    """One iteration's checked decision: what runs, on what input (or why nothing does)."""

    kind: PlanKind
    """``invalid`` when the router's answer could not be used."""
    primitive_id: str
    """As the router named it (``""`` when its answer was unreadable)."""
    primitive_type: str
    """As the router typed it (``"none"`` when its answer was unreadable)."""
    prompt: str = ""
    """The router's prompt for the primitive."""
    selection_reason: str = ""
    """The router's reason, or for ``invalid`` what was wrong."""
    input: Any = None
    """The parsed and validated input of a workflow or tool."""
    target: Any = None
    """The agent, workflow or tool to run."""

    @classmethod
    def invalid(cls, reason: str, decision: RoutingDecision | None = None) -> Plan:
        """Return the plan of an unusable answer, keeping what the router said."""
        if decision is None:
            return cls("invalid", "", "none", selection_reason=reason)
        return cls(
            "invalid",
            decision.primitive_id,
            decision.primitive_type,
            decision.prompt,
            selection_reason=reason,
        )


class Primitives:
    """The agents, workflows and tools of a network, by the keys the router uses."""

    def __init__(
        self,
        agents: Mapping[str, AgentLike],
        workflows: Mapping[str, Workflow],
        tools: Mapping[str, Tool],
    ) -> None:
        self.agents = dict(agents)
        self.workflows = dict(workflows)
        self.tools = dict(tools)

    def __bool__(self) -> bool:
        return bool(self.agents or self.workflows or self.tools)

    def describe(self) -> str:
        """Describe every primitive for the router's system prompt."""
        lines: list[str] = []
        if self.agents:
            lines.append("## Agents (primitiveType: agent; prompt: the text the agent gets)")
            lines += [
                f"- {key}: {agent.description or getattr(agent, 'instructions', '') or agent.name}"
                for key, agent in self.agents.items()
            ]
        if self.workflows:
            lines.append("## Workflows (primitiveType: workflow; prompt: a JSON string)")
            for key, workflow in self.workflows.items():
                schema = workflow.input_schema
                shape = json.dumps(schema.model_json_schema()) if schema is not None else "any"
                lines.append(f"- {key}: {workflow.description or key}. Input schema: {shape}")
        if self.tools:
            lines.append("## Tools (primitiveType: tool; prompt: a JSON string)")
            for key, tool in self.tools.items():
                shape = json.dumps(tool.spec(key).input_schema)
                lines.append(f"- {key}: {tool.description or key}. Input schema: {shape}")
        return "\n".join(lines)

    def resolve(self, decision: RoutingDecision) -> Plan:
        """Check a decision: the primitive exists and the prompt fits its input schema."""
        kind = decision.primitive_type
        key = decision.primitive_id
        if kind == "none":
            return Plan("none", key, kind, decision.prompt, decision.selection_reason, target=None)
        if kind == "agent":
            agent = self.agents.get(key)
            if agent is None:
                return Plan.invalid(self._unknown(kind, key), decision)
            return Plan(kind, key, kind, decision.prompt, decision.selection_reason, target=agent)
        if kind == "workflow":
            workflow = self.workflows.get(key)
            if workflow is None:
                return Plan.invalid(self._unknown(kind, key), decision)
            raw = _json_input(decision.prompt, lenient=workflow.input_schema is None)
            if isinstance(raw, _BadJson):
                return Plan.invalid(f"the prompt for workflow {key!r} {raw.problem}", decision)
            try:
                data = workflow.validate_input(raw)
            except InvalidInputError as err:
                return Plan.invalid(f"the prompt for workflow {key!r} is invalid: {err}", decision)
            return Plan(kind, key, kind, decision.prompt, decision.selection_reason, data, workflow)
        tool = self.tools.get(key)
        if tool is None:
            return Plan.invalid(self._unknown(kind, key), decision)
        raw = _json_input(decision.prompt, lenient=False, empty={})
        if isinstance(raw, _BadJson):
            return Plan.invalid(f"the prompt for tool {key!r} {raw.problem}", decision)
        try:
            tool.validate_args(raw)
        except ToolExecutionError as err:
            return Plan.invalid(f"the prompt for tool {key!r} is invalid: {err}", decision)
        return Plan(kind, key, kind, decision.prompt, decision.selection_reason, raw, tool)

    def _unknown(self, kind: str, key: str) -> str:
        groups: dict[str, Mapping[str, object]] = {
            "agent": self.agents,
            "workflow": self.workflows,
            "tool": self.tools,
        }
        known = groups.get(kind, {})
        message = f"there is no {kind} {key!r}"
        elsewhere = [other for other, group in groups.items() if other != kind and key in group]
        if elsewhere:
            message += f" ({key!r} is a {elsewhere[0]})"
        listing = ", ".join(sorted(known)) or "none"
        return f"{message}; the {kind}s are: {listing}"


@dataclass(frozen=True, slots=True)
class _BadJson:
    problem: str


def _json_input(prompt: str, *, lenient: bool, empty: Any = None) -> Any:
    text = prompt.strip()
    if not text:
        return empty
    try:
        return json.loads(text)
    except ValueError as err:
        if lenient:
            return prompt  # a workflow without an input schema takes the text itself
        return _BadJson(f"is not valid JSON ({err})")


def parse_decision(text: str) -> RoutingDecision | str:
    """Parse the router's answer; return what is wrong with it when it cannot be used."""
    body = strip_fences(text)
    if not body:
        return "the routing answer was empty; answer with the JSON object"
    try:
        return RoutingDecision.model_validate_json(body)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<answer>'}: {e['msg']}"
            for e in err.errors(include_url=False)[:3]
        )
        return f"the routing answer is not a valid decision ({problems})"


def strip_fences(text: str) -> str:
    """Drop a Markdown code fence around JSON (some models add one despite the format)."""
    body = text.strip()
    if body.startswith("```"):
        body = body[3:]
        if body.startswith("json"):
            body = body[4:]
        if body.endswith("```"):
            body = body[:-3]
    return body.strip()
