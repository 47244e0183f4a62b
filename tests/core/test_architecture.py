"""docs/architecture.md stays true to the package: every package is in its map, no import cycle."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gatekeeper"
DOC = ROOT / "docs" / "architecture.md"


def _packages() -> list[str]:
    return sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


def test_every_package_is_in_the_package_map() -> None:
    mapped = set(re.findall(r"^\| `([a-z_]+)/` \|", DOC.read_text(), flags=re.M))
    assert mapped == set(_packages())


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "gatekeeper" or len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1] / "__init__.py").exists() else None


def _package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).parts
        if len(rel) < 2:
            continue  # top-level modules (cli, errors, private helpers) are not packages
        source = rel[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                target = _package_of(name)
                if target and target != source:
                    edges[source].add(target)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_between_packages() -> None:
    # Function-level imports count too: a lazy import is still a dependency.
    assert _cycle(_package_edges()) is None
