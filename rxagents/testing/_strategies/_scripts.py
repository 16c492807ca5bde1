"""Scripted model responses: one list of AI SDK v5 provider parts per model call."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from rxagents.usage import Usage

from ._base import (
    DEFAULT_TOOLS,
    TEXTS,
    ModelPartDict,
    Script,
    ToolSpec,
    check_steps,
    interleave,
    tool_args,
    usages,
)

__all__ = ("agent_scripts", "draw_script")


def _split(draw: DrawFn, text: str) -> list[str]:
    """Cut ``text`` into 1-4 non-empty fragments (one empty fragment for empty text)."""
    if len(text) < 2:
        return [text]
    cuts = sorted(draw(st.sets(st.integers(1, len(text) - 1), max_size=3)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _usage_wire(usage: Usage) -> dict[str, Any]:
    return usage.model_dump(by_alias=True)


def _draw_script_step(
    draw: DrawFn,
    index: int,
    is_last: bool,
    tools: Mapping[str, SearchStrategy[Mapping[str, Any]]],
    max_tool_calls: int,
) -> list[ModelPartDict]:
    blocks: list[list[ModelPartDict]] = []
    for kind, count in (
        ("reasoning", draw(st.integers(0, 1))),
        ("text", draw(st.integers(0, 2))),
    ):
        for k in range(count):
            block_id = f"{kind}-{index}-{k}"
            deltas = draw(st.lists(TEXTS, min_size=1, max_size=3))
            blocks.append(
                [
                    {"type": f"{kind}-start", "id": block_id},
                    *({"type": f"{kind}-delta", "id": block_id, "delta": d} for d in deltas),
                    {"type": f"{kind}-end", "id": block_id},
                ]
            )
    calls = 0 if is_last else draw(st.integers(1, max_tool_calls))
    for k in range(calls):
        name = draw(st.sampled_from(sorted(tools)))
        arguments = json.dumps(dict(draw(tools[name])))
        call_id = f"call-{index}-{k}"
        call: list[ModelPartDict] = []
        if draw(st.booleans()):
            call.append({"type": "tool-input-start", "id": call_id, "toolName": name})
            call.extend(
                {"type": "tool-input-delta", "id": call_id, "delta": piece}
                for piece in _split(draw, arguments)
            )
            call.append({"type": "tool-input-end", "id": call_id})
        call.append(
            {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": arguments}
        )
        blocks.append(call)
    parts = interleave(draw, blocks) if draw(st.booleans()) else [p for b in blocks for p in b]
    parts.append(
        {
            "type": "finish",
            "finishReason": "stop" if is_last else "tool-calls",
            "usage": _usage_wire(draw(usages(max_tokens=5_000))),
        }
    )
    return parts


def draw_script(
    draw: DrawFn,
    tools: Mapping[str, SearchStrategy[Mapping[str, Any]]],
    min_steps: int,
    max_steps: int,
    max_tool_calls: int,
) -> Script:
    """Draw the model's responses for one run: every step but the last calls a tool."""
    steps = draw(st.integers(min_steps, max_steps)) if tools else 1
    return [_draw_script_step(draw, k, k == steps - 1, tools, max_tool_calls) for k in range(steps)]


def agent_scripts(
    *,
    tools: ToolSpec = DEFAULT_TOOLS,
    min_steps: int = 1,
    max_steps: int = 3,
    max_tool_calls: int = 2,
) -> SearchStrategy[Script]:
    """Return a strategy for scripted model responses (``ScriptedModel`` input).

    Each step is a list of AI SDK v5 provider parts: optional reasoning and text blocks
    (``*-start``, deltas, ``*-end``), tool calls (sometimes with streamed input:
    ``tool-input-start``, ``tool-input-delta``, ``tool-input-end``, then ``tool-call`` with the
    JSON ``input``), blocks sometimes interleaved, and a closing ``finish`` with usage. Every step
    but the last calls at least one tool and finishes with ``tool-calls``; the last finishes with
    ``stop``. Without tools there is one step.

    Args:
        tools: Tool names (arguments are JSON objects), or names mapped to a strategy for the
            arguments a tool accepts.
        min_steps: Fewest model calls.
        max_steps: Most model calls.
        max_tool_calls: Most tool calls per step.
    """
    check_steps(min_steps, max_steps)
    args = (tool_args(tools), min_steps, max_steps, max(1, max_tool_calls))
    return st.composite(lambda draw: draw_script(draw, *args))()
