"""``python -m rxagents serve module:runtime [--host HOST] [--port PORT]``: serve a runtime."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from rxagents.adapters.server import DEFAULT_MAX_BODY, create_app

__all__ = ("serve_main",)


def _load(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected module:attribute (e.g. myapp.main:runtime), got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: modules next to the caller import
    value: object = importlib.import_module(module_name)
    for name in attribute.split("."):
        value = getattr(value, name)
    if callable(value) and not hasattr(value, "agents"):
        value = value()  # a factory: module:make_runtime
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
    args = parser.parse_args(list(argv))
    try:
        runtime = _load(args.target)
        app = create_app(
            runtime,  # type: ignore[arg-type]  # checked by create_app
            max_body=args.max_body,
            token=os.environ.get("RXAGENTS_TOKEN") or None,
            cors=args.cors,
        )
    except Exception as err:
        print(f"rxagents serve: cannot load {args.target}: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s")

    def announce(_: str) -> None:  # called by run_app once the server listens
        url = f"http://{args.host}:{args.port}/api"
        print(f"rxagents serving {args.target} on {url} (Ctrl+C stops)", flush=True)

    web.run_app(app, host=args.host, port=args.port, print=announce)
    return 0
