"""``python -m rxagents demo`` | ``python -m rxagents serve module:runtime --host --port``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m rxagents demo [--fast]
       python -m rxagents serve module:runtime [--host HOST] [--port PORT]"""


def main(argv: list[str] | None = None) -> int:
    """Dispatch the subcommands."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "demo":
        from rxagents.cli.demo import main as demo

        return demo(rest)
    if command == "serve":
        from rxagents.cli.serve import serve_main

        return serve_main(rest)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
