"""Human-in-the-loop agent routes: answer a paused run's tool call, list paused runs.

``POST /api/agents/{id}/approve-tool-call`` ``{runId, toolCallId}``, ``/decline-tool-call``
``{runId, toolCallId, reason?}`` and ``/resume-stream`` ``{runId, resumeData, toolCallId?}``
stream the continued run as SSE (as ``/stream``). The continuation goes through the event log
as the run's next segment: a client that leaves does not cancel it (the orphan grace applies)
and re-attaches with the observe route, whose positions run on across the run's segments (the
response's ``X-Run-Offset`` header gives the position of its first chunk).
``GET /api/agents/{id}/suspended-runs`` lists the paused runs as ``{runs, total}``, filtered by
thread, resource and dates as Mastra's.
Refusals are JSON before any stream starts: a missing id 400, an unknown run 404 (Mastra
answers 500), a run not suspended (being resumed) 409.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from rxagents.adapters.server._config import CONFIG, ServerConfig, find_agent
from rxagents.adapters.server._http import ApiError, read_json
from rxagents.adapters.server._requests import Body, parse_body
from rxagents.adapters.server._runs import SharedRun
from rxagents.adapters.server._served import serve_continuation
from rxagents.errors import InvalidInputError, RunNotFoundError, RunStateError

__all__ = ("add_approval_routes", "resume_source")


def add_approval_routes(app: web.Application) -> None:
    """Register the approval, decline, resume and suspended-runs routes."""
    app.router.add_post("/api/agents/{agent_id}/approve-tool-call", approve_tool_call)
    app.router.add_post("/api/agents/{agent_id}/decline-tool-call", decline_tool_call)
    app.router.add_post("/api/agents/{agent_id}/resume-stream", resume_stream)
    app.router.add_get("/api/agents/{agent_id}/suspended-runs", suspended_runs)


class _ToolCallBody(Body):
    run_id: str | None = None
    tool_call_id: str | None = None
    reason: str | None = None


async def _read(request: web.Request) -> tuple[Any, _ToolCallBody, dict[str, Any]]:
    config: ServerConfig = request.app[CONFIG]
    agent = find_agent(config, request.match_info["agent_id"])
    raw = await read_json(request, config.max_body)
    body = parse_body(_ToolCallBody, raw)
    if not body.run_id:
        raise ApiError(400, "Run id is required")
    return agent, body, raw


def _method(agent: Any, name: str, key: str) -> Callable[..., Awaitable[Any]]:
    method = getattr(agent, name, None)
    if not callable(method):
        raise ApiError(400, f"agent {key!r} cannot resume runs (it has no {name}())")
    return method  # type: ignore[no-any-return]  # an agent's coroutine method


async def _started(start: Awaitable[Any]) -> Any:
    """Await a continuation; its refusals become JSON errors (404, 409, 400)."""
    try:
        return await start
    except RunNotFoundError as err:
        raise ApiError(404, str(err)) from None
    except RunStateError as err:
        raise ApiError(409, str(err)) from None
    except (TypeError, InvalidInputError) as err:
        raise ApiError(400, str(err)) from None


async def resume_source(agent: Any, key: str, body: Any, resume_data: Any) -> tuple[SharedRun, str]:
    """Resume a paused run for ``/chat``: the continuation's stream object and the run id.

    The body names the run (``runId``) and, optionally, the call (``toolCallId``);
    ``resumeData`` answers it (``{"approved": bool, "reason"?: str}`` for an approval).
    """
    if not body.run_id:
        raise ApiError(400, "Run id is required")
    resume = _method(agent, "resume_stream", key)
    stream = await _started(resume(resume_data, run_id=body.run_id, tool_call_id=body.tool_call_id))
    return stream, body.run_id


async def _stream(request: web.Request, run_id: str, start: Awaitable[Any]) -> web.StreamResponse:
    """Start the continuation (refusals as JSON errors), then serve it from the log as SSE."""
    stream = await _started(start)
    return await serve_continuation(request, run_id, stream)


async def approve_tool_call(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/approve-tool-call``: run the approved call, stream the rest."""
    agent, body, _ = await _read(request)
    if not body.tool_call_id:
        raise ApiError(400, "Tool call id is required")
    approve = _method(agent, "approve_tool_call", request.match_info["agent_id"])
    assert body.run_id is not None
    return await _stream(request, body.run_id, approve(body.run_id, body.tool_call_id))


async def decline_tool_call(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/decline-tool-call``: skip the call, stream the rest."""
    agent, body, _ = await _read(request)
    if not body.tool_call_id:
        raise ApiError(400, "Tool call id is required")
    decline = _method(agent, "decline_tool_call", request.match_info["agent_id"])
    assert body.run_id is not None
    return await _stream(
        request, body.run_id, decline(body.run_id, body.tool_call_id, reason=body.reason)
    )


async def resume_stream(request: web.Request) -> web.StreamResponse:
    """``POST /api/agents/{id}/resume-stream``: answer the call with ``resumeData``."""
    agent, body, raw = await _read(request)
    if "resumeData" not in raw:
        raise ApiError(400, "resumeData is required")
    resume = _method(agent, "resume_stream", request.match_info["agent_id"])
    assert body.run_id is not None
    started = resume(raw["resumeData"], run_id=body.run_id, tool_call_id=body.tool_call_id)
    return await _stream(request, body.run_id, started)


def _positive(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if number < 0:
        raise ApiError(400, f"{name} must not be negative")
    return number


def _date(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO 8601 date") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _filters(request: web.Request, agent: Any) -> dict[str, Any]:
    """The query's ``threadId``, ``resourceId``, ``fromDate`` and ``toDate``, as arguments.

    As in Mastra, a ``threadId`` needs the agent's memory to hold that thread (403 otherwise),
    and ``fromDate`` may not be after ``toDate`` (400).
    """
    filters: dict[str, Any] = {}
    thread_id = request.query.get("threadId") or None
    if thread_id is not None:
        memory = getattr(agent, "memory", None)
        if memory is None:
            raise ApiError(
                403, "Access denied: agent has no memory configured to validate thread ownership"
            )
        if await memory.get_thread(thread_id) is None:
            raise ApiError(403, "Access denied: thread not found")
        filters["thread_id"] = thread_id
    resource_id = request.query.get("resourceId") or None
    if resource_id is not None:
        filters["resource_id"] = resource_id
    from_date, to_date = _date(request, "fromDate"), _date(request, "toDate")
    if from_date is not None and to_date is not None and from_date > to_date:
        raise ApiError(400, "fromDate must not be after toDate")
    if from_date is not None:
        filters["from_date"] = from_date
    if to_date is not None:
        filters["to_date"] = to_date
    return filters


async def suspended_runs(request: web.Request) -> web.StreamResponse:
    """``GET /api/agents/{id}/suspended-runs``: ``{runs, total}``, newest first.

    ``threadId``, ``resourceId``, ``fromDate`` and ``toDate`` (ISO 8601) filter the runs;
    ``perPage`` and ``page`` (from 0) page them; ``total`` counts every run that matched.
    """
    key = request.match_info["agent_id"]
    agent = find_agent(request.app[CONFIG], key)
    listing = _method(agent, "list_suspended_runs", key)
    per_page, page = _positive(request, "perPage"), _positive(request, "page") or 0
    filters = await _filters(request, agent)
    runs = [wire_run(run) for run in await listing(**filters)]
    shown = runs if per_page is None else runs[page * per_page : (page + 1) * per_page]
    return web.json_response({"runs": shown, "total": len(runs)})


def wire_run(run: Any) -> dict[str, Any]:
    """A listed paused run in Mastra's JSON shape (camelCase, ``suspendedAt`` as ISO text)."""
    calls = []
    for call in run["tool_calls"]:
        item: dict[str, Any] = {"toolCallId": call["tool_call_id"], "toolName": call["tool_name"]}
        if "args" in call:
            item["args"] = call["args"]
        item["requiresApproval"] = call["requires_approval"]
        if "suspend_payload" in call:
            item["suspendPayload"] = call["suspend_payload"]
        calls.append(item)
    moment = datetime.fromtimestamp(run["suspended_at"] / 1000, tz=UTC)
    wire: dict[str, Any] = {"runId": run["run_id"], "status": run["status"]}
    if "thread_id" in run:
        wire["threadId"] = run["thread_id"]
    if "resource_id" in run:
        wire["resourceId"] = run["resource_id"]
    return {
        **wire,
        "suspendedAt": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "toolCalls": calls,
    }
