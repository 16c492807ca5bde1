"""Workflow routes: list, describe, create runs, stream and resume them (records)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from rxagents.adapters._server_config import CONFIG, find_workflow

__all__ = ("add_workflow_routes", "describe_workflow")


def add_workflow_routes(app: web.Application) -> None:
    """Register the workflow routes under ``/api/workflows``."""
    app.router.add_get("/api/workflows", list_workflows)
    app.router.add_get("/api/workflows/{workflow_id}", get_workflow)


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
    return {
        "id": getattr(workflow, "id", key) or key,
        "name": getattr(workflow, "name", None) or getattr(workflow, "id", key) or key,
        "description": getattr(workflow, "description", "") or "",
        "steps": _steps(workflow),
    }


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
