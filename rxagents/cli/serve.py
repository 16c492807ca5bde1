"""``python -m rxagents serve module:runtime [--host HOST] [--port PORT]``: serve a runtime.

``--workers N`` runs N server processes on one port (``SO_REUSEPORT``: the kernel spreads the
connections); each imports the runtime itself, so they share runs only through a shared event
log (``Runtime(event_log=RedisEventLog(url))``) and a shared storage.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from rxagents.adapters.server import DEFAULT_MAX_BODY, create_app
from rxagents.agent import Agent
from rxagents.errors import ConfigurationError
from rxagents.runtime import Runtime

__all__ = ("PathOnlyAccessLogger", "serve_main")


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Log each request's method, path, status and time, never its query string.

    A query string may carry a secret passed by mistake (``?token=...``); the path is enough to
    follow what the server does.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Write one line for a finished request."""
        self.logger.info(
            "%s %s %s %s %.3fs", request.remote, request.method, request.path, response.status, time
        )


def _load(target: str) -> Runtime:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(
            f"expected module:attribute (e.g. myapp.main:runtime), got {target!r}"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: modules next to the caller import
    value: object = importlib.import_module(module_name)
    for name in attribute.split("."):
        value = getattr(value, name)
    if callable(value) and not isinstance(value, Runtime | Agent):
        value = value()  # a factory: module:make_runtime
    if isinstance(value, Agent):
        raise ConfigurationError(
            f"{target} is an Agent, not a Runtime; serve a runtime that registers it: "
            f'Runtime(agents={{"{value.id}": {attribute.rpartition(".")[2]}}})'
        )
    if not isinstance(value, Runtime):
        raise ConfigurationError(
            f"{target} is a {type(value).__name__}, not a rxagents Runtime "
            '(e.g. runtime = Runtime(agents={"my-agent": agent}, workflows={...}))'
        )
    return value


def serve_main(argv: Sequence[str]) -> int:
    """Run the server for ``module:runtime`` until interrupted; return the exit status.

    The bearer token is read from ``RXAGENTS_TOKEN`` (never from the command line, where other
    users could see it); CORS origins from ``--cors`` (repeatable, ``*`` for any).
    """
    parser = argparse.ArgumentParser(
        prog="python -m rxagents serve", description="Serve a runtime over Mastra's HTTP protocol."
    )
    parser.add_argument("target", help="module:attribute of a Runtime (or a function making one)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=4111, help="port to listen on")
    parser.add_argument("--cors", action="append", help="allowed browser origin (repeatable)")
    parser.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, help="bytes")
    parser.add_argument("--log-level", default="INFO", help="logging level")
    parser.add_argument(
        "--orphan-grace",
        type=float,
        default=30.0,
        help="seconds a run keeps going after its last reader left (0: cancel at once)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (SO_REUSEPORT)"
    )
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv))
    if args.workers < 1:
        print("rxagents serve: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1:
        return _supervise(list(argv), args.workers)
    try:
        runtime = _load(args.target)
        app = create_app(
            runtime,
            max_body=args.max_body,
            token=os.environ.get("RXAGENTS_TOKEN") or None,
            cors=args.cors,
            orphan_grace=args.orphan_grace,
        )
    except Exception as err:
        print(f"rxagents serve: cannot load {args.target}: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s")

    def announce(_: str) -> None:  # called by run_app once the server listens
        url = f"http://{args.host}:{args.port}/api"
        # one write, newline included: with PYTHONUNBUFFERED, print() writes the line and its
        # newline separately, and the banners of workers sharing one stdout interleave
        sys.stdout.write(f"rxagents serving {args.target} on {url} (Ctrl+C stops)\n")
        sys.stdout.flush()

    async def close_log(_: web.Application) -> None:
        await runtime.event_log.aclose()  # runs still open end now, as lost

    app.on_cleanup.append(close_log)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        print=announce,
        access_log_class=PathOnlyAccessLogger,
        reuse_port=args.reuse_port or None,
    )
    return 0


def _supervise(argv: list[str], workers: int) -> int:
    """Run ``workers`` server processes on one port until one stops or a signal comes."""
    child_argv = [a for a in argv if a != "--reuse-port"]
    command = [sys.executable, "-m", "rxagents", "serve", *child_argv, "--reuse-port"]
    command += ["--workers", "1"]
    children = [subprocess.Popen(command) for _ in range(workers)]

    def forward(signum: int, _: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        code = child.wait()
        status = status or code
        forward(signal.SIGTERM, None)  # one worker stopped: stop the others
    return status
