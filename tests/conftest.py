"""Shared test configuration: hypothesis profiles (a heavier one when ``CI`` is set), a
real ``redis-server`` per test session (``redis_server``) or per test (``own_redis_server``),
and a real PostgreSQL per session (``postgres_server``, ``postgres_dsn``).

No health check is suppressed. Without a deadline (examples that run agents vary in time on a
loaded machine) hypothesis allows 30 s, not 1 s, of input generation before ``too_slow``; the
README's snippets run outside this configuration, with hypothesis's defaults, as users run them.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings

from rxagents.storage import InMemoryStorage, PostgresStorage, SqliteStorage, Storage

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# --- a real Redis for the event-log tests (and any other test that needs one) --------------

REDIS_SERVER = Path("/usr/bin/redis-server")


def _die_with_parent() -> None:
    """Have the child killed when the test process dies, even by a timeout's ``os._exit``.

    The signal follows the thread that started the child: start servers from the main thread.
    """
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class RedisServer:
    """A ``redis-server`` of our own on a free 127.0.0.1 port, without persistence.

    ``restart()`` stops it and starts a fresh one on the same port: the data is gone, as after
    a crash of a Redis without persistence.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        process = subprocess.Popen(
            [
                str(REDIS_SERVER),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--logfile", "",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        assert process.stdout is not None
        log: list[str] = []
        for line in process.stdout:
            log.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError("redis-server did not start:\n" + "".join(log))
        # keep reading its log so that the pipe never fills
        self.drain = threading.Thread(target=process.stdout.read, daemon=True)
        self.drain.start()
        self.process = process

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.drain.join(timeout=10)
            assert self.process.stdout is not None
            self.process.stdout.close()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One Redis for the whole test session; tests keep apart by key prefix."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis for one test alone, which the test may stop or restart."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


# --- a real PostgreSQL for the whole session (tests/_services.py) ------------------------------


def _load_services() -> ModuleType:
    """Import tests/_services.py (tests is not a package; benchmarks load it the same way)."""
    spec = importlib.util.spec_from_file_location(
        "_services", Path(__file__).with_name("_services.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_services = _load_services()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A PostgreSQL server on 127.0.0.1, started once per session, stopped at the end."""
    with _services.PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres_server: Any) -> str:
    """The DSN of a fresh, empty database on the session's PostgreSQL server."""
    dsn: str = postgres_server.new_database()
    return dsn


# --- storages of every backend sharing one backend's data (another connection per open) ----

STORAGE_BACKENDS = ("memory", "sqlite", "postgres")


@pytest.fixture(params=STORAGE_BACKENDS)
async def open_storage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], Storage]]:
    """A function opening storages that share one backend's data; all closed at the end."""
    opened: list[Storage] = []
    memory = InMemoryStorage()
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else ""

    def open_one() -> Storage:
        storage: Storage
        if request.param == "memory":
            storage = memory
        elif request.param == "sqlite":
            storage = SqliteStorage(tmp_path / "storage.db")
        else:
            storage = PostgresStorage(dsn)
        opened.append(storage)
        return storage

    yield open_one
    for storage in opened:
        await storage.close()
