"""Per-run state: value slots between steps and the record tree kept in snapshots.

Records are plain JSON-ready dicts with Mastra's camelCase keys (``status``, ``payload``,
``output``, ``error``, ``startedAt``, ``endedAt``, ``suspendPayload`` …). They are kept twice by
reference: in a tree of :class:`Scope` objects mirroring the workflow's structure (what resume
walks: which steps already succeeded, what a suspended step's input was) and in a flat map by
dotted step id (what the run result and ``get_step_result`` read).
"""

from __future__ import annotations

from typing import Any, Literal

from rxagents.events import ErrorInfo

__all__ = ("Halt", "Record", "Scope", "Slot")

Record = dict[str, Any]
"""A JSON-ready record of a step (or a control-flow block) in a run."""

Halt = Literal["failed", "suspended"]
"""Why a sequence stops early."""


class Slot:
    """The value flowing between steps of one sequence, and how the sequence ended.

    A node reads its input from the slot when subscribed and writes its output there when it
    completes; ``halt`` stops the sequence (a failed or suspended step). A parallel block gives
    each child its own slot.
    """

    __slots__ = ("error", "halt", "suspend_payload", "value")

    def __init__(self, value: Any = None) -> None:
        self.value = value
        self.halt: Halt | None = None
        self.error: ErrorInfo | None = None
        self.suspend_payload: Any = None

    def fail(self, error: ErrorInfo) -> None:
        """Stop the sequence: a step failed."""
        self.halt = "failed"
        self.error = error

    def suspend(self, payload: Any) -> None:
        """Stop the sequence: a step suspended."""
        self.halt = "suspended"
        self.suspend_payload = payload


class Scope:
    """The records of one workflow body (the run's, a nested workflow's, a loop iteration's).

    ``records`` maps a node's static key to its record; ``scopes`` holds the child scopes of
    nested workflows, loop iterations and foreach items. Only those two are persisted; the
    other attributes describe where the scope sits and are set while the run walks the tree:
    ``prefix`` (dotted-id prefix), ``path`` (step ids from the root), ``workflow_id`` and
    ``init_data`` (of the workflow the scope belongs to), ``iteration`` (1-based loop
    iteration, 0 outside loops), ``resume_all`` (every suspended step here gets the resume
    data: a resumed foreach item), ``in_item`` (inside a foreach item, whose suspensions
    the foreach step reports) and ``loop_body`` (the scope of a loop's body itself, whose
    chunks carry the iteration count; not inherited).
    """

    __slots__ = (
        "in_item",
        "init_data",
        "iteration",
        "loop_body",
        "path",
        "prefix",
        "records",
        "resume_all",
        "scopes",
        "workflow_id",
    )

    def __init__(
        self,
        prefix: str = "",
        path: tuple[str, ...] = (),
        workflow_id: str = "",
        init_data: Any = None,
    ) -> None:
        self.records: dict[str, Record] = {}
        self.scopes: dict[str, Scope] = {}
        self.prefix = prefix
        self.path = path
        self.workflow_id = workflow_id
        self.init_data = init_data
        self.iteration = 0
        self.resume_all = False
        self.in_item = False
        self.loop_body = False

    def child(self, key: str, prefix: str, path: tuple[str, ...], *, fresh: bool = False) -> Scope:
        """Return the child scope under ``key`` (a new one when absent or ``fresh``).

        The child inherits where it sits (workflow, iteration, item flags); callers change
        what differs.
        """
        scope = None if fresh else self.scopes.get(key)
        if scope is None:
            scope = self.scopes[key] = Scope(prefix, path)
        else:
            scope.prefix = prefix
            scope.path = path
        scope.workflow_id = self.workflow_id
        scope.init_data = self.init_data
        scope.iteration = self.iteration
        scope.resume_all = self.resume_all
        scope.in_item = self.in_item
        scope.loop_body = False
        return scope

    def to_json(self) -> dict[str, Any]:
        """Return the scope as JSON-ready data (records are shared, not copied)."""
        data: dict[str, Any] = {"records": self.records}
        if self.scopes:
            data["scopes"] = {key: scope.to_json() for key, scope in self.scopes.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scope:
        """Rebuild a scope from :meth:`to_json` data."""
        scope = cls()
        scope.records = dict(data.get("records", {}))
        scope.scopes = {key: cls.from_json(value) for key, value in data.get("scopes", {}).items()}
        return scope


def error_json(error: ErrorInfo) -> dict[str, Any]:
    """Return an error as it appears in records: ``{"message", "name"}`` (Mastra's order)."""
    return {"message": error.message, "name": error.name}
