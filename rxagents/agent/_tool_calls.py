"""Run one tool call: validated arguments in, a result or a serialised error out."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rxagents.agent._step_state import PendingCall
from rxagents.agent._writer import ToolWriter
from rxagents.agent.tools import Tool, ToolContext, ToolSuspended
from rxagents.errors import ToolExecutionError
from rxagents.events import ErrorInfo
from rxagents.models import Message

__all__ = ("execute_call",)

_log = logging.getLogger("rxagents.agent")


async def execute_call(
    tools: Mapping[str, Tool],
    call: PendingCall,
    model_id: str,
    run_id: str,
    *,
    writer: ToolWriter | None = None,
    resume_data: Any = None,
    suspend_payload: Any = None,
    messages: Sequence[Message] = (),
) -> tuple[Any, ErrorInfo | None]:
    """Run ``call`` and return ``(result, None)`` or ``(None, error)``; never raises.

    A tool that suspends itself gives ``(ToolSuspended, None)``. Cancellation propagates (the
    run was cancelled); every other failure is the call's error, which the model sees as the
    tool's result. ``writer`` (the call's ``ctx.writer``) is closed when the call ends;
    ``messages`` (the run's conversation so far) is the context's ``messages``.
    """
    try:
        return await _execute(
            tools, call, model_id, run_id, writer, resume_data, suspend_payload, messages
        )
    finally:
        if writer is not None:
            writer.close()


async def _execute(
    tools: Mapping[str, Tool],
    call: PendingCall,
    model_id: str,
    run_id: str,
    writer: ToolWriter | None,
    resume_data: Any,
    suspend_payload: Any,
    messages: Sequence[Message],
) -> tuple[Any, ErrorInfo | None]:
    if call.parse_error is not None:
        return None, ErrorInfo(name="ToolExecutionError", message=call.parse_error)
    tool = tools.get(call.tool_name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        return None, ErrorInfo(
            name="ToolNotFoundError",
            message=f"unknown tool {call.tool_name!r}; available tools: {known}",
        )
    try:
        context = ToolContext(
            run_id,
            call.tool_call_id,
            call.tool_name,
            resume_data=resume_data,
            suspend_payload=suspend_payload,
            suspend_schema=tool.suspend_schema,
            writer=writer,
            messages=messages,
        )
        return await tool.run(call.args, context), None
    except ToolSuspended as suspended:
        return suspended, None
    except ToolExecutionError as err:
        return None, ErrorInfo(name="ToolExecutionError", message=str(err))
    except Exception as err:
        _log.debug("tool %r (call %s) raised", call.tool_name, call.tool_call_id, exc_info=True)
        return None, _tool_failure(err, model_id)


def _tool_failure(err: Exception, model_id: str) -> ErrorInfo:
    """A thrown tool error with Mastra's extra keys (and, unlike Mastra, its message)."""
    name = type(err).__name__
    return ErrorInfo.model_validate(
        {
            "name": name,
            "message": str(err),
            "cause": {"message": str(err), "name": name},
            "id": "TOOL_EXECUTION_FAILED",
            "domain": "TOOL",
            "category": "USER",
            "details": {"errorMessage": f"{name}: {err}", "model": model_id},
        }
    )
