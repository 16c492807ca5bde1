"""The package's layers run one way (ARCHITECTURE.md): checked on every import in the source.

Every ``import`` of an rxagents module is read from the AST of every module, those inside
functions included (imports under ``if TYPE_CHECKING:`` are exempt: they never run).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rxagents"

LAYERS: dict[str, int] = {
    "errors": 0,
    "_core": 1,
    "usage": 2,
    "events": 3,
    "models": 4,
    "operators": 4,
    "storage": 4,
    "eventlog": 4,
    "testing": 4,
    "memory": 5,
    "agent": 6,
    "workflow": 7,
    "network": 8,
    "runtime": 9,
    "adapters": 10,
    "cli": 11,
    "__main__": 12,
    "<root>": 12,
}
"""Each top-level piece of the package and its layer: a piece imports only lower layers."""

SANCTIONED_CIRCLE = frozenset({"agent", "network"})
"""``Agent.network()``: the one circle between packages (the network package imports agent
submodules; the agent module imports network submodules)."""

LAZY_IMPORTERS = frozenset({"rxagents.__main__"})
"""Modules allowed to import inside functions: the command line loads only the command it runs."""


@dataclass(frozen=True)
class Import:
    source: str
    """The importing module, e.g. ``rxagents.agent._agent``."""
    target: str
    """The imported module (or the module a name is imported from)."""
    line: int
    in_function: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(path: Path) -> Iterator[Import]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def walk(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    yield from walk(other, in_function)
                continue
            nested = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("rxagents"):
                        yield Import(module, alias.name, child.lineno, nested)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.startswith("rxagents"):
                    yield Import(module, target, child.lineno, nested)
            yield from walk(child, nested)

    yield from walk(tree, False)


def _piece(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<root>"


ALL_IMPORTS = [found for path in sorted(PACKAGE.rglob("*.py")) for found in _imports_of(path)]


def test_the_walk_sees_the_whole_package() -> None:
    pieces = {_piece(_module_name(path)) for path in PACKAGE.rglob("*.py")}
    assert pieces <= set(LAYERS), f"pieces without a layer: {sorted(pieces - set(LAYERS))}"
    assert len(ALL_IMPORTS) > 200  # the walk really read the imports


def test_every_import_goes_down_a_layer() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if (a := _piece(i.source)) != (b := _piece(i.target))
        and LAYERS[b] >= LAYERS[a]
        and {a, b} != SANCTIONED_CIRCLE
    ]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_circle_between_packages_but_through_agent_network() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in ALL_IMPORTS:
        if (a := _piece(i.source)) != (b := _piece(i.target)):
            graph[a].add(b)
    assert "network" in graph["agent"]  # the sanctioned edge, as the walk sees it
    graph["agent"].discard("network")
    circles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert not circles, f"circles besides Agent.network(): {circles}"


def test_memory_knows_nothing_of_agents_workflows_or_networks() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if _piece(i.source) == "memory" and _piece(i.target) in {"agent", "workflow", "network"}
    ]
    assert not wrong


def test_nothing_below_the_edge_imports_adapters_or_cli() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if _piece(i.target) in {"adapters", "cli"}
        and _piece(i.source) not in {"adapters", "cli", "__main__"}
    ]
    assert not wrong


def test_no_import_hides_inside_a_function() -> None:
    wrong = [
        f"{i.source}:{i.line} imports {i.target} inside a function"
        for i in ALL_IMPORTS
        if i.in_function and i.source not in LAZY_IMPORTERS
    ]
    assert not wrong


def test_no_private_module_of_another_package_is_imported() -> None:
    wrong = []
    for i in ALL_IMPORTS:
        a, b = _piece(i.source), _piece(i.target)
        private = [p for p in i.target.split(".")[2:] if p.startswith("_")]
        if a != b and b != "_core" and private and {a, b} != SANCTIONED_CIRCLE:
            wrong.append(f"{i.source}:{i.line} imports {i.target}")
    assert not wrong, "reaches into other packages' private modules:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=_module_name)
def test_no_module_resolves_names_lazily(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
    ]
    assert not lazy, f"{_module_name(path)} defines a module __getattr__"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            found.append(component)

    for node in list(graph):
        if node not in index:
            visit(node)
    return found
