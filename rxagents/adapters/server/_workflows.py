"""Workflow routes: list, describe, create runs, stream and resume them (records), results.

Runs created with ``create-run`` are remembered by the application (the most recent
:data:`MAX_PENDING_RUNS`), so ``stream?runId=`` can tell an unknown run (404) from one that
already started (409). A run that streamed keeps its snapshot in the runtime's storage, which
is where ``resume-stream`` finds it, also after a restart when the storage is SQLite.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Annotated, Any, Final

from aiohttp import web
from pydantic import Field, ValidationError

from rxagents.adapters.ai_sdk import to_ai_sdk_v5_stream
from rxagents.adapters.server._config import CONFIG, ServerConfig, find_workflow
from rxagents.adapters.server._http import ApiError, read_json, validation_issues
from rxagents.adapters.server._requests import Body, parse_body
from rxagents.adapters.server._stream import RECORDS, SSE_UI, stream_observable
from rxagents.errors import InvalidInputError, UserError
from rxagents.workflow import RunStateError

__all__ = ("MAX_PENDING_RUNS", "RUNS", "RunRegistry", "add_workflow_routes", "describe_workflow")

MAX_PENDING_RUNS: Final = 10_000
"""How many created runs the server remembers (the oldest are forgotten first)."""

_RUN_ID = Annotated[str, Field(min_length=1, max_length=200)]


class RunRegistry:
    """The runs this server created, by workflow key and run id (bounded, oldest dropped)."""

    def __init__(self, limit: int = MAX_PENDING_RUNS) -> None:
        self._runs: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._limit = limit

    def get(self, workflow_key: str, run_id: str) -> Any:
        """Return the remembered run, or ``None``."""
        return self._runs.get((workflow_key, run_id))

    def add(self, workflow_key: str, run: Any) -> None:
        """Remember a run."""
        key = (workflow_key, run.run_id)
        self._runs[key] = run
        self._runs.move_to_end(key)
        while len(self._runs) > self._limit:
            self._runs.popitem(last=False)


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
    app.router.add_get("/api/workflows/{workflow_id}/runs/{run_id}", run_result)


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
    request.app[RUNS].add(key, run)
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
    return await stream_observable(
        request,
        stream.observable,
        RECORDS,
        request.app[CONFIG].stream,
        run_id=run_id,
        on_abandon=stream.cancel,
    )


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
    return await stream_observable(
        request,
        stream.observable,
        RECORDS,
        request.app[CONFIG].stream,
        run_id=run_id,
        on_abandon=stream.cancel,
    )


async def chat_run(request: web.Request) -> web.StreamResponse:
    """``POST /api/workflows/{id}/chat``: a workflow run as an AI SDK v5 UI message stream.

    ``inputData`` starts a new run; ``runId`` with ``resumeData`` (and ``step``) resumes one.
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
            request.app[RUNS].add(key, run)
            stream = await run.stream(body.input_data, initial_state=body.initial_state)
    except UserError as err:
        field = "resumeData" if body.resume_data is not None else "inputData"
        raise _refusal(err, field=field) from None
    return await stream_observable(
        request,
        to_ai_sdk_v5_stream(stream.observable, "workflow"),
        SSE_UI,
        request.app[CONFIG].stream,
        on_abandon=stream.cancel,
    )


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
