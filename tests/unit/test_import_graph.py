"""The shape of the package, read from its source: data flows one way.

Every ``import`` of every module under ``leakguard/`` counts, wherever it sits: at the top, inside
a function (a lazy import) or under ``TYPE_CHECKING``. Two rules:

* the sources, the engine and the scan core (``leakguard/scanner.py`` and every module it
  imports, directly or not) never import the store: state reaches them as a value
  (``ScanOptions.state``) and leaves in the result (``ScanResult.state``);
* no cycle between the top-level parts (each subpackage, each top-level module).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import leakguard

PACKAGE = Path(leakguard.__file__).parent
NO_STORE_PACKAGES = ("leakguard.sources", "leakguard.engine")
CORE = "leakguard.scanner"
STORE = "leakguard.store"

Graph = Mapping[str, frozenset[str]]


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every dotted name an ``import`` or ``from ... import`` in ``source`` can refer to
    (``from a.b import c`` gives ``a.b`` and ``a.b.c``), relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(root: Path = PACKAGE) -> dict[str, frozenset[str]]:
    """Module -> the modules of the package it imports."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph = {}
    for name, path in paths.items():
        names = imported_names(path.read_text("utf-8"), name, is_package=path.name == "__init__.py")
        graph[name] = frozenset(n for n in names if n in paths and n != name)
    return graph


def part_of(module: str) -> str:
    """``leakguard.sources.git`` -> ``sources``; ``leakguard.scanner`` -> ``scanner``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def part_graph(graph: Graph) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = {}
    for module, imports in graph.items():
        edges = parts.setdefault(part_of(module), set())
        edges.update(part_of(m) for m in imports)
    parts.pop("", None)  # leakguard/__init__.py (the version) is no part
    for edges in parts.values():
        edges.discard("")
    for name, edges in parts.items():
        edges.discard(name)
    return parts


def reachable(graph: Mapping[str, Iterable[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle as a path that starts and ends at the same node, or None."""
    done: set[str] = set()
    for start in sorted(graph):
        path: list[str] = []
        on_path: set[str] = set()
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in done:
                stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
                path.append(nxt)
                on_path.add(nxt)
    return None


@pytest.fixture(scope="module")
def graph() -> dict[str, frozenset[str]]:
    return import_graph()


def _store_imports(graph: Graph, modules: Iterable[str]) -> list[str]:
    return sorted(
        f"{m} imports {s}"
        for m in modules
        for s in graph[m]
        if s == STORE or s.startswith(STORE + ".")
    )


def test_sources_and_the_engine_never_import_the_store(graph: Graph) -> None:
    modules = [m for m in graph if m.startswith(NO_STORE_PACKAGES)]
    assert len(modules) > 20 and "leakguard.sources.git" in modules  # it read the package
    assert _store_imports(graph, modules) == []


def test_the_scan_core_and_all_it_imports_never_import_the_store(graph: Graph) -> None:
    core = {CORE} | reachable(graph, CORE)
    assert {"leakguard.sources.git", "leakguard.engine.matcher", "leakguard.model"} <= core
    assert _store_imports(graph, core) == []


def test_the_top_level_parts_import_each_other_without_a_cycle(graph: Graph) -> None:
    parts = part_graph(graph)
    assert {"sources", "engine", "store", "scanner", "sweep", "cli"} <= parts.keys()
    assert {"scanner", "store"} <= parts["sweep"]  # the graph holds the edges it should
    assert find_cycle(parts) is None, " -> ".join(find_cycle(parts) or [])


# -- the reader itself: it must see every kind of import, or the rules above prove nothing --


def test_lazy_type_checking_and_relative_imports_are_all_seen() -> None:
    source = """
from typing import TYPE_CHECKING
import leakguard.errors
from . import sibling
from .. import model
from ..store.cursors import StoreState
if TYPE_CHECKING:
    from leakguard.store.db import Database

def later() -> None:
    from leakguard.store import cursors
"""
    names = imported_names(source, "leakguard.sources.git")
    assert {
        "leakguard.errors",
        "leakguard.sources.sibling",
        "leakguard.model",
        "leakguard.store.cursors.StoreState",
        "leakguard.store.db",
        "leakguard.store.cursors",
    } <= names
    in_package = imported_names("from . import git", "leakguard.sources", is_package=True)
    assert "leakguard.sources.git" in in_package


def test_a_store_import_and_a_cycle_are_caught(tmp_path: Path) -> None:
    root = tmp_path / "leakguard"
    for name, text in {
        "__init__.py": "",
        "scanner.py": "from leakguard.sources import reader\n",
        "sources/__init__.py": "",
        "sources/reader.py": "def f():\n    from leakguard.store.db import Database\n",
        "store/__init__.py": "",
        "store/db.py": "import leakguard.scanner\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    graph = import_graph(root)
    core = {CORE} | reachable(graph, CORE)
    assert _store_imports(graph, core) == ["leakguard.sources.reader imports leakguard.store.db"]
    assert find_cycle(part_graph(graph)) == ["scanner", "sources", "store", "scanner"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
