"""Shared test configuration: hypothesis profiles (a heavier one when ``CI`` is set)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


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
