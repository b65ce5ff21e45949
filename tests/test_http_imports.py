"""The HTTP API's modules import each other in one direction only: no module reaches itself.

In particular ``routes`` (the task routes) and ``jobs`` (the jobs routes) must not import each
other, directly or through another module of the package: they used to, and ``routes`` had to
import ``jobs`` inside a function to get past the cycle. The modules are read with ``ast`` (every
import, also one inside a function), the list of them is the package's own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import task_scheduler.http_api as package

PACKAGE = package.__name__
FOLDER = Path(package.__file__).resolve().parent


def modules() -> dict[str, Path]:
    """Every module of the package by its short name (``__init__`` for the package itself)."""
    return {path.stem: path for path in sorted(FOLDER.glob("*.py"))}


def imported(name: str, path: Path) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    known = modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y / from . import x
                base = node.module
            elif node.level == 0 and node.module and node.module.startswith(PACKAGE + "."):
                base = node.module[len(PACKAGE) + 1 :]
            else:
                continue
            if base is None:
                found |= {alias.name for alias in node.names if alias.name in known}
            else:
                found.add(base.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name[len(PACKAGE) + 1 :].split(".")[0])
    return (found & set(known)) - {name}


def graph() -> dict[str, set[str]]:
    return {name: imported(name, path) for name, path in modules().items()}


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    """The modules ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(edges.get(name, ()))
    return seen


def test_the_graph_is_read_from_the_package():
    edges = graph()
    assert {"routes", "jobs"} <= set(edges)
    assert edges["routes"] and edges["jobs"]  # both import the package's shared modules
    assert all(found <= set(edges) for found in edges.values())


def test_routes_and_jobs_do_not_import_each_other():
    edges = graph()
    assert "jobs" not in reachable(edges, "routes")
    assert "routes" not in reachable(edges, "jobs")


def test_no_module_of_the_http_api_imports_itself_through_others():
    edges = graph()
    cycles = sorted(name for name in edges if name in reachable(edges, name))
    assert cycles == []
