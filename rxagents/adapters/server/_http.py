"""HTTP plumbing of the server: JSON errors, bearer auth, CORS, and bounded body reading.

Every refusal is a JSON body ``{"error": "...", "issues"?: [...]}`` with a 4xx status, sent
before any stream starts. Nothing here logs request bodies or headers (they may hold secrets).
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import pydantic_core
from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

__all__ = (
    "MAX_REQUEST_LINE",
    "MAX_URL",
    "ApiError",
    "CorsPolicy",
    "ProtocolErrorLog",
    "auth_middleware",
    "error_middleware",
    "json_error",
    "read_json",
    "validation_issues",
)

_log = logging.getLogger("rxagents.adapters.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REASONS: Final = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    413: "request body too large",
    415: "unsupported media type",
}


class ApiError(Exception):
    """A refusal answered with a JSON error and a 4xx status, before any stream starts."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        issues: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.issues = list(issues) if issues is not None else None
        self.headers = dict(headers or {})


def json_error(
    status: int,
    message: str,
    *,
    issues: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """Build a JSON error response ``{"error": message, "issues"?: [...]}``."""
    body: dict[str, Any] = {"error": message}
    if issues is not None:
        body["issues"] = list(issues)
    return web.Response(
        status=status,
        body=pydantic_core.to_json(body),
        content_type="application/json",
        headers=headers,
    )


def validation_issues(err: ValidationError, *, prefix: Sequence[str | int] = ()) -> list[Any]:
    """Turn a pydantic error into ``[{"path": [...], "message": ...}]`` (no input values)."""
    return [
        {"path": [*prefix, *detail["loc"]], "message": detail["msg"]}
        for detail in err.errors(include_url=False, include_input=False, include_context=False)
    ]


MAX_URL: Final = 8190
"""The longest request target answered normally; a longer one gets 414 JSON."""
MAX_REQUEST_LINE: Final = 65536
"""What the HTTP parser reads of a request line, so URLs up to here reach the JSON answer.

Beyond it aiohttp itself answers 400 (plain text) before the application runs; its log line is
kept to one line by :class:`ProtocolErrorLog`.
"""


class ProtocolErrorLog(logging.LoggerAdapter[logging.Logger]):
    """The HTTP protocol's logger: a malformed request is one warning line, never a traceback.

    aiohttp logs a request it cannot parse (a request line over the limit, a bad header) with
    ``logger.exception``; for a server facing the internet that is noise, and the traceback
    would echo the offending bytes.
    """

    def __init__(self) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log one line: the message and the error's class, without its traceback."""
        error = kwargs.pop("exc_info", None)
        name = type(error).__name__ if isinstance(error, BaseException) else "error"
        self.logger.warning("%s (%s)", str(msg) % args if args else msg, name)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer refusals and unexpected failures (before streaming) with JSON errors."""
    if len(request.raw_path) > MAX_URL:
        _log.warning("refused a request whose URL has %d bytes", len(request.raw_path))
        return json_error(414, f"the URL is too long: the limit is {MAX_URL} bytes")
    try:
        return await handler(request)
    except ApiError as err:
        response = json_error(err.status, err.message, issues=err.issues, headers=err.headers)
        if err.status == 413:
            response.force_close()  # the rest of the body is not read
        return response
    except web.HTTPException as err:
        if err.status < 400:
            raise
        message = _REASONS.get(err.status, err.reason.lower())
        headers = {k: v for k, v in err.headers.items() if k.lower() == "allow"}
        return json_error(err.status, message, headers=headers)
    except Exception:
        # A bug before any byte was streamed. Only the route is logged: bodies may hold secrets.
        _log.exception("request %s %s failed", request.method, request.path)
        return json_error(500, "internal server error")


def auth_middleware(token: str) -> Middleware:
    """Require ``Authorization: Bearer <token>`` on every request except CORS preflights."""
    expected = token.encode()

    @web.middleware
    async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "OPTIONS":
            header = request.headers.get("Authorization", "")
            scheme, _, given = header.partition(" ")
            is_valid = scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), expected
            )
            if not is_valid:
                message = "missing bearer token" if not header else "invalid bearer token"
                raise ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return check_token


class CorsPolicy:
    """Which browser origins may call the server, and the headers that say so."""

    def __init__(self, origins: str | Iterable[str]) -> None:
        """Allow ``"*"`` (any origin), one origin, or a list of origins."""
        values = [origins] if isinstance(origins, str) else list(origins)
        self.is_any = "*" in values
        self.origins = frozenset(o.rstrip("/") for o in values if o != "*")

    def allows(self, origin: str) -> bool:
        """Whether ``origin`` may read responses."""
        return self.is_any or origin.rstrip("/") in self.origins

    def install(self, app: web.Application) -> None:
        """Add the CORS headers to every response and answer preflight requests."""
        app.on_response_prepare.append(self._add_headers)
        app.router.add_route("OPTIONS", "/{tail:.*}", self._preflight)

    async def _add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin is None or not self.allows(origin):
            return
        response.headers["Access-Control-Allow-Origin"] = "*" if self.is_any else origin
        response.headers["Access-Control-Expose-Headers"] = (
            "x-vercel-ai-ui-message-stream, X-Run-Id, X-Run-Offset"
        )
        if not self.is_any:
            response.headers["Vary"] = "Origin"

    async def _preflight(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or not self.allows(origin):
            raise ApiError(403, "origin not allowed")
        requested = request.headers.get("Access-Control-Request-Headers")
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": requested or "content-type, authorization",
                "Access-Control-Max-Age": "600",
            },
        )


async def read_json(request: web.Request, max_body: int) -> Any:
    """Read and parse a JSON body of at most ``max_body`` bytes; an empty body is ``{}``.

    A ``Content-Length`` over the limit is refused before reading; a chunked body is refused as
    soon as it passes the limit, without reading the rest.

    Raises:
        ApiError: 413 when the body is too large, 400 when it is not JSON.
    """
    length = request.content_length
    if length is not None and length > max_body:
        raise ApiError(413, f"request body too large: the limit is {max_body} bytes")
    body = bytearray()
    try:
        async for piece in request.content.iter_chunked(1 << 16):
            body += piece
            if len(body) > max_body:
                raise ApiError(413, f"request body too large: the limit is {max_body} bytes")
    except ConnectionError:
        raise ApiError(400, "the request body was cut off (the connection closed)") from None
    if not body.strip():
        return {}
    try:
        value = pydantic_core.from_json(body)
    except ValueError as err:
        raise ApiError(400, f"the request body is not valid JSON: {err}") from None
    where = _non_finite(value, ())
    if where is not None:
        path = ".".join(str(part) for part in where) or "<body>"
        raise ApiError(
            400,
            f"{path}: NaN, Infinity and out-of-range numbers are not valid JSON numbers",
            issues=[{"path": list(where), "message": "not a finite number"}],
        )
    return value


def _non_finite(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The path of the first NaN or infinity in parsed JSON (``1e400`` parses to infinity)."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            found = _non_finite(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _non_finite(item, (*path, index))
            if found is not None:
                return found
    return None
