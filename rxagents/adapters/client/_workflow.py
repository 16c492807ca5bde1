"""Remote workflows: ``RemoteWorkflow`` → ``create_run()`` → ``stream()`` / ``resume_stream()``.

A remote run's stream is the same :class:`~rxagents.workflow.WorkflowStream` a local run gives
(``status``, ``result``, ``usage``, replay for every reader), fed by the server's records.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import MISSING
from reactivex import Observable, abc

from rxagents._core.http import RetryPolicy
from rxagents.adapters.client._endpoint import Endpoint, is_name
from rxagents.errors import ConfigurationError, MalformedStreamError, RxAgentsError
from rxagents.events import (
    Chunk,
    ErrorInfo,
    WorkflowChunk,
    WorkflowFinish,
    WorkflowFinishOutput,
    WorkflowFinishPayload,
    WorkflowStart,
    WorkflowStartPayload,
    WorkflowStatus,
)
from rxagents.operators import usage_of
from rxagents.usage import Usage
from rxagents.workflow import StepRecord, WorkflowResult, WorkflowStream

if TYPE_CHECKING:
    import aiohttp

__all__ = ("RemoteWorkflow", "RemoteWorkflowRun")

_OPENINGS = ("workflow-step-start", "workflow-step-waiting")
_ENDINGS = ("workflow-step-result", "workflow-step-suspended")
_STEP_KINDS = (*_OPENINGS, *_ENDINGS)


_log = logging.getLogger("rxagents.adapters.client")


class _RemoteExecution:
    """What :class:`WorkflowStream` reads of an execution, for a remote stream."""

    def __init__(
        self,
        source: Observable[Chunk],
        run_id: str,
        workflow_id: str,
        input_data: Any,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self._on_cancel = on_cancel
        self.workflow_id = workflow_id
        self.input = input_data
        self.usage = Usage.zero
        self._source = source
        self._status: WorkflowStatus | None = None
        self._output: Any = None
        self._started = False
        self._steps: dict[str, StepRecord] = {}
        self._path: list[str] = []
        self._suspended: list[list[str]] = []
        self._error: ErrorInfo | None = None

    def observable(self) -> Observable[WorkflowChunk]:
        """The remote stream, with the run's state tracked as chunks pass."""

        def subscribe(
            observer: abc.ObserverBase[WorkflowChunk], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            def on_next(chunk: Any) -> None:
                self._track(chunk)
                observer.on_next(chunk)

            return self._source.subscribe(on_next, observer.on_error, observer.on_completed)

        return Observable(subscribe)

    def _track(self, chunk: Any) -> None:
        kind = chunk.type
        payload = chunk.payload
        counted = usage_of(chunk)
        if counted is not None:
            self.usage = self.usage + counted
        if kind == "workflow-start":
            self._started = True
        elif kind in _STEP_KINDS:
            data = payload.model_dump(by_alias=True)
            previous = self._steps.get(payload.id)
            if previous is not None and kind in _ENDINGS:
                # a foreach's or a sleep's ending is thin: keep what its start said
                data = {**previous.to_json(), **data}
            self._steps[payload.id] = StepRecord.from_json(data)
            if kind in _OPENINGS:
                self._path.append(payload.id)
            elif kind == "workflow-step-suspended":
                self._suspended.append(payload.id.split("."))
            elif payload.status == "failed" and isinstance(payload.error, ErrorInfo):
                self._error = payload.error
        elif kind == "workflow-finish":
            self._status = payload.workflow_status
            self._output = payload.final_workflow_result
            self.usage = payload.output.usage

    def closing_chunks(self) -> list[WorkflowChunk]:
        """``workflow-finish`` with status ``canceled`` (after ``workflow-start`` if needed).

        Also asks the server to cancel the run (``on_cancel``).
        """
        if self._status is not None:
            return []
        if self._on_cancel is not None:
            self._on_cancel()
        self._status = "canceled"
        chunks: list[WorkflowChunk] = []
        if not self._started:
            self._started = True
            chunks.append(
                WorkflowStart(
                    run_id=self.run_id, payload=WorkflowStartPayload(workflow_id=self.workflow_id)
                )
            )
        finish = WorkflowFinishPayload(
            workflow_status="canceled", output=WorkflowFinishOutput(usage=self.usage)
        )
        chunks.append(WorkflowFinish(run_id=self.run_id, payload=finish))
        return chunks

    def result(self) -> WorkflowResult:
        """The run's result, from what the stream said."""
        status = self._status or "failed"
        return WorkflowResult(
            run_id=self.run_id,
            workflow_id=self.workflow_id,
            status=status,
            input=self.input,
            result=self._output if status == "success" and _given(self._output) else None,
            error=self._error,
            steps=dict(self._steps),
            step_execution_path=list(self._path),
            suspended=[path for path in self._suspended if status == "suspended"],
        )


def _given(value: Any) -> bool:
    return value is not MISSING


def _ends_with_finish(source: Observable[Chunk]) -> Observable[Chunk]:
    """Fail a record stream that ended without ``workflow-finish`` (a cut connection)."""

    def subscribe(
        observer: abc.ObserverBase[Chunk], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        last: list[str] = [""]

        def on_next(chunk: Chunk) -> None:
            last[0] = chunk.type
            observer.on_next(chunk)

        def on_completed() -> None:
            if last[0] != "workflow-finish":
                observer.on_error(
                    MalformedStreamError(
                        "the workflow stream ended without 'workflow-finish' "
                        "(the server stopped early or the connection was cut)"
                    )
                )
                return
            observer.on_completed()

        return source.subscribe(on_next, observer.on_error, on_completed)

    return Observable(subscribe)


class RemoteWorkflowRun:
    """One run of a remote workflow (from :meth:`RemoteWorkflow.create_run`)."""

    def __init__(self, endpoint: Endpoint, workflow_id: str, run_id: str) -> None:
        self._endpoint = endpoint
        self.workflow_id = workflow_id
        self.run_id = run_id
        self._cancels: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"RemoteWorkflowRun({self.workflow_id!r}, run_id={self.run_id!r})"

    def _url(self, route: str) -> str:
        return self._endpoint.url("workflows", self.workflow_id, route, runId=self.run_id)

    def observe(
        self, input_data: Any = None, *, initial_state: Mapping[str, Any] | None = None
    ) -> Observable[Chunk]:
        """Start the run when subscribed (``POST /workflows/{id}/stream?runId=``); cold."""
        body: dict[str, Any] = {"inputData": input_data}
        if initial_state is not None:
            body["initialState"] = dict(initial_state)
        source = self._endpoint.stream(self._url("stream"), body, "records", resume=self._at)
        return _ends_with_finish(source)

    def _at(self, position: int) -> tuple[str, dict[str, Any]]:
        url = self._endpoint.url(
            "workflows", self.workflow_id, "observe", runId=self.run_id, offset=str(position)
        )
        return url, {}

    async def observe_run(self, offset: int | None = None) -> WorkflowStream:
        """Re-attach to the run (Mastra's observe route): its chunks from ``offset``, then live.

        Positions count every chunk of the run, its resumptions included (default: from the
        start). Returns the same kind of stream as :meth:`stream`.

        Raises:
            ConfigurationError: ``offset`` is negative.
        """
        if offset is not None and (isinstance(offset, bool) or offset < 0):
            raise ConfigurationError(f"offset must be a non-negative int, got {offset!r}")
        start = offset or 0
        url, body = self._at(start)
        source = self._endpoint.stream(url, body, "records", resume=self._at, offset=start)
        return self._stream(_ends_with_finish(source), None)

    async def cancel(self) -> None:
        """Ask the server to cancel the run, wherever it runs (Mastra's cancel route).

        Raises:
            RemoteError: The server refused (404: unknown run).
        """
        url = self._endpoint.url("workflows", self.workflow_id, "runs", self.run_id, "cancel")
        await self._endpoint.json("POST", url, {})

    def observe_resume(
        self, step: str | Sequence[str] | None = None, resume_data: Any = None
    ) -> Observable[Chunk]:
        """Resume the suspended run when subscribed (``POST …/resume-stream?runId=``); cold."""
        body: dict[str, Any] = {"resumeData": resume_data}
        if step is not None:
            body["step"] = step if isinstance(step, str) else list(step)
        # the server names where the resumption starts in the run (X-Run-Offset)
        source = self._endpoint.stream(
            self._url("resume-stream"), body, "records", resume=self._at, offset=None
        )
        return _ends_with_finish(source)

    async def stream(
        self, input_data: Any = None, *, initial_state: Mapping[str, Any] | None = None
    ) -> WorkflowStream:
        """Start the run and return its :class:`WorkflowStream` (``status``, ``result`` …)."""
        source = self.observe(input_data, initial_state=initial_state)
        return self._stream(source, input_data)

    async def resume_stream(
        self, step: str | Sequence[str] | None = None, resume_data: Any = None
    ) -> WorkflowStream:
        """Resume the suspended run and return its new :class:`WorkflowStream`."""
        return self._stream(self.observe_resume(step, resume_data), None)

    async def start(self, input_data: Any = None) -> WorkflowResult:
        """Run to the end and return the result (a failed run does not raise)."""
        return await (await self.stream(input_data)).result

    async def resume(
        self, step: str | Sequence[str] | None = None, resume_data: Any = None
    ) -> WorkflowResult:
        """Resume to the end and return the result."""
        return await (await self.resume_stream(step, resume_data)).result

    def _stream(self, source: Observable[Chunk], input_data: Any) -> WorkflowStream:
        execution = _RemoteExecution(
            source, self.run_id, self.workflow_id, input_data, on_cancel=self._cancel_later
        )
        return WorkflowStream(execution)

    def _cancel_later(self) -> None:
        task = asyncio.get_running_loop().create_task(self._cancel_quietly())
        self._cancels.add(task)
        task.add_done_callback(self._cancels.discard)

    async def _cancel_quietly(self) -> None:
        try:
            await self.cancel()
        except (RxAgentsError, aiohttp.ClientError, OSError) as err:
            _log.info("could not ask the server to cancel run %s: %s", self.run_id, err)


class RemoteWorkflow:
    """A workflow served by a remote rxagents or Mastra server.

    Example:
        >>> workflow = RemoteWorkflow("http://127.0.0.1:4111", "approval")  # doctest: +SKIP
        >>> run = await workflow.create_run()  # doctest: +SKIP
        >>> stream = await run.stream(input_data={"value": "x"})  # doctest: +SKIP
        >>> await stream.status  # doctest: +SKIP
        'suspended'
    """

    def __init__(
        self,
        base_url: str,
        workflow_id: str,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        api_prefix: str = "/api",
    ) -> None:
        """Point at ``workflow_id`` on the server at ``base_url`` (arguments as RemoteAgent).

        Raises:
            ConfigurationError: ``base_url`` is not an http(s) URL or ``workflow_id`` is empty.
        """
        if not is_name(workflow_id):
            raise ConfigurationError("RemoteWorkflow needs a non-empty workflow_id")
        self._endpoint = Endpoint(
            base_url,
            headers=headers,
            token=token,
            session=session,
            retry=retry,
            timeout=timeout,
            api_prefix=api_prefix,
        )
        self.id = workflow_id

    def __repr__(self) -> str:
        return f"RemoteWorkflow({self._endpoint.base!r}, {self.id!r})"

    async def create_run(self, run_id: str | None = None) -> RemoteWorkflowRun:
        """Create a run on the server (``POST /workflows/{id}/create-run``).

        Raises:
            RemoteError: The server refused (404 for an unknown workflow).
        """
        query = {"runId": run_id} if run_id is not None else {}
        url = self._endpoint.url("workflows", self.id, "create-run", **query)
        answer = await self._endpoint.json("POST", url, {})
        given = answer.get("runId") if isinstance(answer, dict) else None
        if not isinstance(given, str) or not given:
            raise MalformedStreamError(f"create-run answered without a runId: {answer!r}")
        return RemoteWorkflowRun(self._endpoint, self.id, given)

    async def describe(self) -> dict[str, Any]:
        """Return the server's description of the workflow (``GET /workflows/{id}``)."""
        info = await self._endpoint.json("GET", self._endpoint.url("workflows", self.id))
        if not isinstance(info, dict):
            raise MalformedStreamError(f"the description of workflow {self.id!r} is not an object")
        return info
