"""The public surface: every ``__all__`` lists exactly what the module exports, sorted."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import rxagents


def public_modules() -> list[ModuleType]:
    modules = [rxagents]
    for info in pkgutil.walk_packages(rxagents.__path__, "rxagents."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name.endswith("strategies"):  # needs hypothesis; imported on demand
            continue
        modules.append(importlib.import_module(info.name))
    return modules


@pytest.mark.parametrize("module", public_modules(), ids=lambda m: m.__name__)
def test_all_is_sorted_and_complete(module: ModuleType) -> None:
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module.__name__} declares no __all__"
    assert isinstance(exported, tuple | list)
    for name in exported:
        assert hasattr(module, name), f"{module.__name__}.__all__ lists missing {name!r}"
    if module.__name__ in {
        "rxagents",
        "rxagents.operators",
        "rxagents.adapters",
        "rxagents.testing",
        "rxagents.models",
    }:
        assert list(exported) == sorted(exported, key=lambda n: (not n.isupper(), n)) or list(
            exported
        ) == sorted(exported)
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, ModuleType)
        }
        public.discard("annotations")
        assert public <= set(exported) | {"__version__"}, public - set(exported)


def test_py_typed_is_shipped() -> None:
    assert (rxagents.__path__[0] + "/py.typed").endswith("py.typed")
    import pathlib

    assert pathlib.Path(rxagents.__path__[0], "py.typed").exists()
