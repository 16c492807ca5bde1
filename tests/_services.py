"""Real services for tests and benchmarks: a throwaway PostgreSQL server on 127.0.0.1.

``PostgresServer`` runs Debian's ``initdb`` into a temporary directory and ``pg_ctl start``
on a free loopback port with ``fsync=off``; it never touches a system service. PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` system user (through
``runuser``) in a directory it owns. ``.ci/run`` installs the ``postgresql`` package when
``/usr/lib/postgresql`` is missing.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ("PostgresServer", "postgres_bin")


def postgres_bin() -> Path:
    """Return the newest ``/usr/lib/postgresql/<version>/bin``.

    Raises:
        RuntimeError: PostgreSQL is not installed (``apt-get install -y postgresql``).
    """
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql")
    return versions[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """A PostgreSQL server in a temporary directory; ``with PostgresServer() as pg: pg.dsn``."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = _free_port()
        self._as_root = os.geteuid() == 0
        self._dir = Path(tempfile.mkdtemp(prefix="rxagents-pg-"))
        self._data = self._dir / "data"
        self._names = itertools.count()

    @property
    def dsn(self) -> str:
        """The DSN of the ``postgres`` database."""
        return self.database_dsn("postgres")

    def database_dsn(self, name: str) -> str:
        """The DSN of database ``name``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Create the cluster and start the server (returns when it accepts connections)."""
        if self._as_root:
            shutil.chown(self._dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self._data),
            "-l", str(self._dir / "log"), "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        try:
            if self._data.exists():
                self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self._data))
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def new_database(self) -> str:
        """Create a fresh empty database and return its DSN."""
        import psycopg

        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.dsn, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.database_dsn(name)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
