"""The command line: ``python -m rxagents demo`` and ``python -m rxagents serve``."""

__all__: tuple[str, ...] = ()
