"""Fixtures for provider tests: fake provider servers, a retry policy that never waits."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest

from rxagents.models.providers import RetryPolicy


def _load_fakes() -> ModuleType:
    # --import-mode=importlib: test folders are not packages, so load the module by path.
    name = "rxagents_tests_provider_fakes"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fakes.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_FAKES = _load_fakes()


@pytest.fixture
def fakes() -> ModuleType:
    """The fake-server module: ``Reply``, ``openai_text``, ``anthropic_reply`` …"""
    return _FAKES


@pytest.fixture
async def openai_server() -> AsyncIterator[object]:
    server = await _FAKES.FakeProviderServer().start()
    yield server
    await server.close()


@pytest.fixture
async def anthropic_server() -> AsyncIterator[object]:
    server = await _FAKES.FakeProviderServer().start()
    yield server
    await server.close()


class SleepRecorder:
    """A retry ``sleep`` that records the requested waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def retry(sleeps: SleepRecorder) -> RetryPolicy:
    """Three attempts, no jitter, no real waiting."""
    return RetryPolicy(max_attempts=3, jitter=0.0, sleep=sleeps)
