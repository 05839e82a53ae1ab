"""The package's shape: stages as subpackages, no import cycle, own imports at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1] / "advisor"
STAGES = ("core", "ingest", "embedding", "index", "retrieve", "answer", "web", "tools")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in sorted(edges):
        if m not in index:
            visit(m)
    return out


def test_the_package_has_no_import_cycle() -> None:
    graph = grimp.build_graph("advisor")
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def test_every_stage_says_what_it_owns() -> None:
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((ROOT / stage / "__init__.py").read_text()))
        assert doc and len(doc) > 40, stage


def test_no_flat_module_is_left_beside_the_stages() -> None:
    flat = sorted(p.stem for p in ROOT.glob("*.py"))
    assert flat == ["__init__", "__main__", "cli", "evaluate", "services"]


# Entry points whose commands each import their stage when run, so `advisor --help` stays fast.
LAZY_BY_DESIGN = {"cli.py", "tools/bench.py"}


def test_own_package_imports_inside_functions_say_why() -> None:
    """An import of the package's own modules inside a function hides the graph; only a commented one may."""
    hidden = []
    for path in ROOT.rglob("*.py"):
        if path.relative_to(ROOT).as_posix() in LAZY_BY_DESIGN:
            continue
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("advisor"):
                        line = lines[inner.lineno - 1]
                        before = lines[inner.lineno - 2] if inner.lineno > 1 else ""
                        if "#" not in line and not before.strip().startswith("#"):
                            hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == [], hidden
