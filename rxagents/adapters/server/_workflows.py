"""Workflow routes: list, describe, create, stream, resume, chat, observe, cancel, results.

Streams use Mastra's record framing; ``/chat`` the AI SDK v5 UI message stream.

Runs created with ``create-run`` and not started yet are remembered by the application (at most
:data:`MAX_PENDING_RUNS` per workflow, each for :data:`PENDING_RUN_TTL` seconds; when a
workflow's quota is full, ``create-run`` is refused with 503 instead of forgetting another
client's run), so ``stream?runId=`` can tell an unknown run (404) from one that already started
(409, from storage). A started run is no longer remembered here: its chunks go through the
runtime's event log (one stream segment per ``stream`` or ``resume-stream``: the run id, then
``<runId>~1``, ``<runId>~2``…), and its snapshot is in the runtime's storage, which is where
``resume-stream`` finds it, also after a restart when the storage is SQLite, and from another
process when the storage is shared.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Annotated, Any, Final

from aiohttp import web
from pydantic import Field, ValidationError

from rxagents.adapters.server._config import CONFIG, ServerConfig, find_workflow
from rxagents.adapters.server._http import ApiError, read_json, validation_issues
from rxagents.adapters.server._requests import Body, parse_body
from rxagents.adapters.server._runs import ServedRuns
from rxagents.adapters.server._served import (
    check_run,
    observe_offset,
    own_continuation,
    serve_frames,
    serve_ui,
)
from rxagents.adapters.server._stream import RECORDS, record_log_frames
from rxagents.errors import InvalidInputError, RunNotFoundError, UserError
from rxagents.workflow import RunStateError

__all__ = (
    "MAX_PENDING_RUNS",
    "PENDING_RUN_TTL",
    "RUNS",
    "RunRegistry",
    "add_workflow_routes",
    "describe_workflow",
)

MAX_PENDING_RUNS: Final = 10_000
"""How many created, not yet started runs the server remembers per workflow."""

PENDING_RUN_TTL: Final = 3600.0
"""Seconds a created run that never started is remembered."""

_RUN_ID = Annotated[str, Field(min_length=1, max_length=200)]


class RunRegistry:
    """Created runs not started yet, by workflow key and run id (bounded per workflow, TTL)."""

    def __init__(self, limit: int = MAX_PENDING_RUNS, ttl: float = PENDING_RUN_TTL) -> None:
        self._runs: dict[str, OrderedDict[str, tuple[float, Any]]] = {}
        self._limit = limit
        self._ttl = ttl

    def get(self, workflow_key: str, run_id: str) -> Any:
        """Return the remembered run, or ``None``."""
        runs = self._runs.get(workflow_key)
        if runs is None:
            return None
        self._expire(runs)
        entry = runs.get(run_id)
        return None if entry is None else entry[1]

    def add(self, workflow_key: str, run: Any) -> None:
        """Remember a run.

        Raises:
            ApiError: 503 when the workflow already has its quota of pending runs.
        """
        runs = self._runs.setdefault(workflow_key, OrderedDict())
        self._expire(runs)
        if run.run_id not in runs and len(runs) >= self._limit:
            raise ApiError(
                503, f"workflow {workflow_key!r} has too many runs waiting to start; retry later"
            )
        runs[run.run_id] = (time.monotonic() + self._ttl, run)
        runs.move_to_end(run.run_id)

    def remove(self, workflow_key: str, run_id: str) -> None:
        """Forget a run (it started, or was cancelled)."""
        runs = self._runs.get(workflow_key)
        if runs is not None:
            runs.pop(run_id, None)
            if not runs:
                del self._runs[workflow_key]

    def __len__(self) -> int:
        return sum(len(runs) for runs in self._runs.values())

    def _expire(self, runs: OrderedDict[str, tuple[float, Any]]) -> None:
        now = time.monotonic()
        while runs:
            run_id, (deadline, _) = next(iter(runs.items()))
            if deadline > now:
                return
            del runs[run_id]


RUNS: web.AppKey[RunRegistry] = web.AppKey("rxagents_server_runs", RunRegistry)
"""Where the application keeps its :class:`RunRegistry`."""


class StreamBody(Body):
    """The body of ``/stream`` (and of ``/chat`` for a new run)."""

    input_data: Any = None
    initial_state: dict[str, Any] | None = None


class ResumeBody(Body):
    """The body of ``/resume-stream``."""

    step: str | list[str] | None = None
    resume_data: Any = None


class ChatBody(StreamBody):
    """The body of a workflow's ``/chat``: a new run, or a resumption with ``resumeData``."""

    run_id: _RUN_ID | None = None
    step: str | list[str] | None = None
    resume_data: Any = None


def add_workflow_routes(app: web.Application) -> None:
    """Register the workflow routes under ``/api/workflows``."""
    app[RUNS] = RunRegistry()
    app.router.add_get("/api/workflows", list_workflows)
    app.router.add_get("/api/workflows/{workflow_id}", get_workflow)
    app.router.add_post("/api/workflows/{workflow_id}/create-run", create_run)
    app.router.add_post("/api/workflows/{workflow_id}/stream", stream_run)
    app.router.add_post("/api/workflows/{workflow_id}/resume-stream", resume_run)
    app.router.add_post("/api/workflows/{workflow_id}/chat", chat_run)
    app.router.add_get("/api/workflows/{workflow_id}/chat/{run_id}/stream", observe_chat)
    app.router.add_get("/api/workflows/{workflow_id}/runs/{run_id}", run_result)
    app.router.add_post("/api/workflows/{workflow_id}/observe", observe_run)
    app.router.add_post("/api/workflows/{workflow_id}/runs/{run_id}/cancel", cancel_run)


# --- descriptions ---------------------------------------------------------------------------


def _steps(workflow: object) -> dict[str, Any]:
    steps = getattr(workflow, "steps", None)
    if isinstance(steps, Mapping):
        items = list(steps.items())
    elif isinstance(steps, list | tuple):
        items = [(getattr(s, "id", str(i)), s) for i, s in enumerate(steps)]
    else:
        return {}
    return {
        str(key): {"id": str(key), "description": getattr(step, "description", "") or ""}
        for key, step in items
    }


def describe_workflow(key: str, workflow: object) -> dict[str, Any]:
    """Describe a workflow as Mastra's ``GET /api/workflows`` does."""
    info: dict[str, Any] = {
        "id": getattr(workflow, "id", key) or key,
        "name": getattr(workflow, "id", None) or key,
        "description": getattr(workflow, "description", "") or "",
        "steps": _steps(workflow),
    }
    for name, attribute in (("inputSchema", "input_schema"), ("outputSchema", "output_schema")):
        schema = getattr(workflow, attribute, None)
        if schema is not None and hasattr(schema, "model_json_schema"):
            info[name] = schema.model_json_schema()
    return info


async def list_workflows(request: web.Request) -> web.StreamResponse:
    """``GET /api/workflows``: every workflow, keyed by id."""
    workflows = request.app[CONFIG].runtime.workflows
    return web.json_response(
        {key: describe_workflow(key, workflow) for key, workflow in workflows.items()}
    )


async def get_workflow(request: web.Request) -> web.StreamResponse:
    """``GET /api/workflows/{id}``: one workflow."""
    key = request.match_info["workflow_id"]
    return web.json_response(describe_workflow(key, find_workflow(request.app[CONFIG], key)))


# --- runs -----------------------------------------------------------------------------------


def _run_id(request: web.Request, *, required: bool) -> str | None:
    run_id = request.query.get("runId") or None
    if run_id is None:
        if required:
            raise ApiError(400, "the runId query parameter is required (from create-run)")
        return None
    if len(run_id) > 200:
        raise ApiError(400, "runId is too long (at most 200 characters)")
    return run_id


async def _find_run(request: web.Request, key: str, workflow: Any, run_id: str) -> Any:
    """Return a run this server created, or one in storage; refuse an unknown one with 404."""
    run = request.app[RUNS].get(key, run_id)
    if run is not None:
        return run
    run = await workflow.create_run(run_id)  # reads the run's snapshot, if it has one
    if run.status == "pending":
        raise ApiError(404, f"run {run_id!r} of workflow {key!r} not found; call create-run")
    return run


def _refusal(err: Exception, *, field: str) -> ApiError:
    if isinstance(err, InvalidInputError):
        cause = err.__cause__
        issues = (
            validation_issues(cause, prefix=(field,))
            if isinstance(cause, ValidationError)
            else None
        )
        return ApiError(400, str(err), issues=issues)
    if isinstance(err, RunStateError):
        return ApiError(409, str(err))
    return ApiError(400, str(err))


async def create_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/workflows/{id}/create-run[?runId=]``: ``{"runId": ...}``."""
    config: ServerConfig = request.app[CONFIG]
    key = request.match_info["workflow_id"]
    workflow = find_workflow(config, key)
    await read_json(request, config.max_body)  # client-js sends {}; the body is not used
    run_id = _run_id(request, required=False)
    run = request.app[RUNS].get(key, run_id) if run_id is not None else None
    if run is None:
        try:
            run = await workflow.create_run(run_id)
        except UserError as err:
            raise ApiError(400, str(err)) from None
        request.app[RUNS].add(key, run)
    return web.json_response({"runId": run.run_id})


async def _start(request: web.Request) -> tuple[str, Any, Any]:
    config: ServerConfig = request.app[CONFIG]
    key = request.match_info["workflow_id"]
    workflow = find_workflow(config, key)
    raw = await read_json(request, config.max_body)
    return key, workflow, raw


async def stream_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/workflows/{id}/stream?runId=``: the run's chunks as records."""
    key, workflow, raw = await _start(request)
    body = parse_body(StreamBody, raw)
    run_id = _run_id(request, required=True)
    assert run_id is not None
    run = await _find_run(request, key, workflow, run_id)
    try:
        stream = await run.stream(body.input_data, initial_state=body.initial_state)
    except UserError as err:
        raise _refusal(err, field="inputData") from None
    request.app[RUNS].remove(key, run_id)
    return await _serve_new_segment(request, run_id, stream)


async def resume_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/workflows/{id}/resume-stream?runId=``: the resumed run's chunks as records."""
    key, workflow, raw = await _start(request)
    body = parse_body(ResumeBody, raw)
    run_id = _run_id(request, required=True)
    assert run_id is not None
    run = await _find_run(request, key, workflow, run_id)
    try:
        stream = await run.resume_stream(body.step, body.resume_data)
    except UserError as err:
        raise _refusal(err, field="resumeData") from None
    request.app[RUNS].remove(key, run_id)
    return await _serve_new_segment(request, run_id, stream)


async def _serve_new_segment(request: web.Request, run_id: str, stream: Any) -> web.StreamResponse:
    """Put a started stream into the log (a new segment of the run) and serve it as records.

    The response's ``X-Run-Offset`` is the run position of the segment's first chunk.
    """
    runs: ServedRuns = request.app[CONFIG].runs
    segment, base = await own_continuation(runs, run_id, "workflow", stream)
    return await serve_frames(
        request,
        runs,
        run_id,
        runs.read_segment_batches(segment, base),
        framing=RECORDS,
        encode=record_log_frames,
        source="WORKFLOW",
        offset=base,
    )


async def _serve(
    request: web.Request, runs: ServedRuns, run_id: str, offset: int
) -> web.StreamResponse:
    """Serve the whole run (every segment) from ``offset`` as records."""
    await check_run(runs, run_id, "Workflow run not found")
    return await serve_frames(
        request,
        runs,
        run_id,
        runs.read_json_batches(run_id, offset, segments=True),
        framing=RECORDS,
        encode=record_log_frames,
        source="WORKFLOW",
        offset=offset,
    )


async def observe_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/workflows/{id}/observe?runId=&offset=``: a run's records from ``offset``.

    Mastra's route: the run (every segment: the first stream and each resumption) from
    ``offset`` (a 0-based chunk index; default 0), then live, from any process sharing the
    event log; 404 JSON when the run is unknown or expired.
    """
    config: ServerConfig = request.app[CONFIG]
    find_workflow(config, request.match_info["workflow_id"])
    run_id = _run_id(request, required=True)
    assert run_id is not None
    raw_offset = request.query.get("offset")
    offset: object = None
    if raw_offset is not None and raw_offset != "":
        try:
            offset = int(raw_offset)
        except ValueError:
            raise ApiError(
                400, f"offset must be a non-negative integer, got {raw_offset!r}"
            ) from None
    first = observe_offset(request, offset)
    return await _serve(request, config.runs, run_id, first)


async def cancel_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/workflows/{id}/runs/{runId}/cancel``: stop a run wherever it runs.

    Answers Mastra's ``{"message": "Workflow run cancelled"}``; a created run that never
    started is cancelled here; 404 JSON for an unknown run.
    """
    config: ServerConfig = request.app[CONFIG]
    key = request.match_info["workflow_id"]
    find_workflow(config, key)
    run_id = request.match_info["run_id"]
    try:
        await config.runs.cancel(run_id)
    except RunNotFoundError:
        pending = request.app[RUNS].get(key, run_id)
        if pending is None:
            raise ApiError(404, "Workflow run not found") from None
        pending.cancel()
        request.app[RUNS].remove(key, run_id)
    return web.json_response({"message": "Workflow run cancelled"})


async def chat_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/workflows/{id}/chat``: a workflow run as an AI SDK v5 UI message stream.

    ``inputData`` starts a new run; ``runId`` with ``resumeData`` (and ``step``) resumes one.
    The run (or its resumption: a new segment) goes through the event log, as ``/stream``'s;
    ``GET /api/workflows/{id}/chat/{runId}/stream`` re-attaches to the response.
    """
    key, workflow, raw = await _start(request)
    body = parse_body(ChatBody, raw)
    try:
        if body.resume_data is not None:
            if body.run_id is None:
                raise ApiError(400, "resuming needs the runId of the suspended run")
            run = await _find_run(request, key, workflow, body.run_id)
            stream = await run.resume_stream(body.step, body.resume_data)
        else:
            run = await workflow.create_run(body.run_id)
            stream = await run.stream(body.input_data, initial_state=body.initial_state)
    except UserError as err:
        field = "resumeData" if body.resume_data is not None else "inputData"
        raise _refusal(err, field=field) from None
    runs: ServedRuns = request.app[CONFIG].runs
    segment, _ = await own_continuation(runs, run.run_id, "workflow", stream)
    return await serve_ui(request, runs, run.run_id, segment, "workflow")


async def observe_chat(request: web.Request) -> web.StreamResponse:
    """``GET /api/workflows/{id}/chat/{runId}/stream``: re-attach to a ``/chat`` response.

    The run's latest segment from its start, then live, as the UI message stream ``/chat``
    sent (its ``X-Run-Id`` header names the run); 404 JSON when unknown or expired.
    """
    config: ServerConfig = request.app[CONFIG]
    find_workflow(config, request.match_info["workflow_id"])
    run_id = request.match_info["run_id"]
    await check_run(config.runs, run_id, "Workflow run not found")
    try:
        segment = await config.runs.latest_segment(run_id)
    except RunNotFoundError:
        raise ApiError(404, "Workflow run not found") from None
    return await serve_ui(request, config.runs, run_id, segment, "workflow")


async def run_result(request: web.Request) -> web.StreamResponse:
    """``GET /api/workflows/{id}/runs/{runId}``: the run's result (Mastra's JSON shape)."""
    config: ServerConfig = request.app[CONFIG]
    key = request.match_info["workflow_id"]
    workflow = find_workflow(config, key)
    run_id = request.match_info["run_id"]
    result = await workflow.get_run_result(run_id)
    if result is None:
        run = request.app[RUNS].get(key, run_id)
        if run is None:
            raise ApiError(404, f"run {run_id!r} of workflow {key!r} not found")
        return web.json_response({"runId": run_id, "status": run.status})
    return web.json_response({"runId": run_id, **result.to_json()})
