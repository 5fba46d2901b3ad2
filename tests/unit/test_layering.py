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


# The bridge's inner layers, lowest first: a module may import its own package and the
# layers below it, never a layer above. Feature packages (compliance, staff, health) sit
# side by side and never import each other; command definitions in bridge/commands/ sit
# with the features they serve; the assembly (service, appservice, ...) is on top.
_COMMAND_PLUMBING = ("bridge.commands.framework", "bridge.commands.matrix", "bridge.commands.consumer")
_FEATURE_PEERS = ("bridge.compliance", "bridge.staff", "bridge.health", "bridge.roles")


def _bridge_layer(module: str) -> tuple[int, str]:
    """(rank, group) of a bridge module."""
    if module.endswith(".feature") and module != "bridge.feature":
        return 5, module.rsplit(".", 1)[0]
    for rank, prefixes in (
        (0, ("bridge.core",)),
        (1, ("bridge.db",)),
        (2, ("bridge.org", "bridge.archive")),
        (3, _COMMAND_PLUMBING),
        (4, ("bridge.feature",)),
        (5, (*_FEATURE_PEERS, "bridge.commands")),
    ):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return rank, prefix
    return 6, module  # the assembly: bridge.service, bridge.appservice, bridge.main, ...


def _bridge_edges() -> set[tuple[str, str]]:
    graph = _imports()
    return {
        (mod, resolved)
        for mod, targets in graph.items()
        if mod.startswith("bridge")
        for target in targets
        if (resolved := _resolve(graph, target)) and resolved.startswith("bridge") and resolved != mod
    }


def test_bridge_layers_point_down() -> None:
    """core imports nothing of the bridge, db only core, the archive and the org view only
    those two, the command plumbing no feature, features no assembly module."""
    upward = {
        (mod, target) for mod, target in _bridge_edges() if _bridge_layer(target)[0] > _bridge_layer(mod)[0]
    }
    assert upward == set()


def test_core_and_db_import_no_feature_package() -> None:
    """The two bottom layers stand alone (spelled out, as the issue that set them asked)."""
    bad = {
        (mod, target)
        for mod, target in _bridge_edges()
        if mod.startswith(("bridge.core", "bridge.db"))
        and not target.startswith(("bridge.core", "bridge.db"))
    }
    bad |= {
        (mod, target)
        for mod, target in _bridge_edges()
        if mod.startswith("bridge.core") and target.startswith("bridge.db")
    }
    assert bad == set()


def test_feature_packages_do_not_import_each_other() -> None:
    """Compliance, staff and health share only lower layers (staff reaches the bot's
    registry through bridge/commands, not through compliance)."""
    bad = set()
    for mod, target in _bridge_edges():
        mine = next((p for p in _FEATURE_PEERS if mod.startswith(p + ".")), None)
        theirs = next((p for p in _FEATURE_PEERS if target.startswith(p + ".")), None)
        if mine and theirs and mine != theirs:
            bad.add((mod, target))
    assert bad == set()
