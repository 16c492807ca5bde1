"""Base classes shared by every chunk: wire naming, the envelope, serialised errors."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    MISSING,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from rxagents._core.wire import WireModel

__all__ = ("MISSING", "ChunkBase", "ErrorInfo", "Payload", "Source", "WireModel")

Source = Literal["AGENT", "WORKFLOW", "NETWORK", "USER", "SYSTEM"]
"""Who emitted a chunk: the ``from`` field of the envelope."""


class Payload(WireModel):
    """Base of every chunk payload."""


class ErrorInfo(WireModel):
    """A serialised error: at least ``name`` and ``message``.

    Parsing accepts the forms other implementations send: a plain string, an object with
    ``message``, or an error object nested under some key (``{"__error__": {...}}``). The original
    wire form is kept and dumped back unchanged.
    """

    name: str = "Error"
    """The error class name, e.g. ``"TypeError"``."""
    message: str = ""
    """What went wrong; never dropped."""

    _wire: Any = PrivateAttr(default=None)
    _exception: BaseException | None = PrivateAttr(default=None)

    @classmethod
    def from_exception(cls, error: BaseException) -> ErrorInfo:
        """Serialise an exception as ``{name, message}``.

        The wire form never carries a traceback (it would show file paths and source lines to
        whoever reads the stream); in process the exception itself stays reachable through
        :attr:`exception`.
        """
        info = cls(name=type(error).__name__, message=str(error))
        info._exception = error
        return info

    @classmethod
    def from_value(cls, error: Any) -> ErrorInfo:
        """Turn whatever a model or a peer reported as its error into an :class:`ErrorInfo`."""
        if isinstance(error, BaseException):
            return cls.from_exception(error)
        if isinstance(error, ErrorInfo):
            return error
        if isinstance(error, str):
            return cls(name="Error", message=error)
        try:
            return cls.model_validate(error)
        except ValidationError:
            return cls(name="Error", message=str(error))

    @property
    def exception(self) -> BaseException | None:
        """The exception this error was made from, in the process that raised it."""
        return self._exception

    @model_validator(mode="wrap")
    @classmethod
    def _accept_foreign_forms(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, str):
            info = handler({"message": data})
            info._wire = data
            return info
        if isinstance(data, dict) and "message" not in data:
            name, message = _find_error(data)
            info = handler({"name": name, "message": message})
            info._wire = data
            return info
        if isinstance(data, dict) and "name" not in data:
            info = handler(data)
            info._wire = data  # dumped back without the default name
            return info
        return handler(data)

    @model_serializer(mode="wrap")
    def _dump_foreign_forms(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        if self._wire is not None:
            return self._wire
        return handler(self)

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


def _find_error(data: dict[str, Any]) -> tuple[str, str]:
    """Find name and message in an error object that lacks a top-level ``message``.

    Mastra's ``tool-error`` keeps the message only in ``cause.message`` or
    ``details.errorMessage``; other senders nest the whole error under one key.
    """
    name = data.get("name")
    cause = data.get("cause")
    if isinstance(cause, dict) and isinstance(cause.get("message"), str):
        return str(name or cause.get("name") or "Error"), cause["message"]
    details = data.get("details")
    if isinstance(details, dict) and isinstance(details.get("errorMessage"), str):
        return str(name or "Error"), details["errorMessage"]
    for value in data.values():
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            return str(value.get("name") or name or "Error"), value["message"]
    return str(name or "Error"), ""


class ChunkBase(WireModel):
    """The envelope every chunk shares: ``{"type", "runId", "from", "payload"}``."""

    type: str
    """The chunk's kind, e.g. ``"text-delta"``."""
    run_id: str
    """The run that emitted the chunk."""
    from_: Source
    """Who emitted it (wire name ``from``)."""
    payload: Any
    """The kind-specific data."""


_ = MISSING  # re-exported for payload modules
