"""The code's layers hold: pure policy imports no I/O layer, the bridge never reaches into
the CLI, and no package imports itself round in a circle."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("bridge", "policy", "provisioning", "config")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every first-party module and the first-party modules it imports (at any depth)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = _module_name(path)
            graph[name]
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                targets: list[str] = []
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    targets = [node.module]
                graph[name].update(t for t in targets if t.split(".")[0] in PACKAGES)
    return graph


def test_policy_imports_neither_bridge_nor_provisioning() -> None:
    """policy/ is shared by the Synapse module and the bridge; it must stand alone."""
    bad = {
        (mod, target)
        for mod, targets in _imports().items()
        if mod.startswith("policy")
        for target in targets
        if target.split(".")[0] in {"bridge", "provisioning"}
    }
    assert bad == set()


def test_pure_policy_rules_do_not_import_the_synapse_adapters() -> None:
    """Rules in policy/*.py are pure; only policy/module/ talks to Synapse."""
    bad = {
        (mod, target)
        for mod, targets in _imports().items()
        if mod.startswith("policy.") and not mod.startswith("policy.module")
        for target in targets
        if target.startswith("policy.module")
    }
    assert bad == set()


def test_bridge_never_imports_provisioning() -> None:
    """The bridge runs without the CLI; provisioning builds on the bridge, not the reverse."""
    bad = {
        (mod, target)
        for mod, targets in _imports().items()
        if mod.startswith("bridge")
        for target in targets
        if target.startswith("provisioning")
    }
    assert bad == set()


def _resolve(graph: dict[str, set[str]], target: str) -> str | None:
    """`from a.b import c` names module a.b (or package a.b.c); map to a known module."""
    while target and target not in graph:
        target = target.rpartition(".")[0]
    return target or None


def test_no_import_cycles_between_modules() -> None:
    """Module-level imports form no cycle (a cycle forces late imports and init-order bugs)."""
    graph = _imports()
    edges = {m: {r for t in ts if (r := _resolve(graph, t)) and r != m} for m, ts in graph.items()}
    # A package __init__ importing its own submodules is not a cycle of the code's layers.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in edges.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert cycles == []
