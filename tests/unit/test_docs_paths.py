"""Every repository path and Python module the README and docs/ name exists, so the manual
keeps up with moves such as the feature-folder layout."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
TOP = r"(?:bridge|policy|provisioning|tests|config|synapse|deploy|webclient|bench|docs|\.ci)"
PATH = re.compile(rf"(?<![\w/.-])({TOP}/[\w./*-]*)")
# Three parts or more: `policy.channel_creators` (an org-file key) or `policy.json` is no module.
MODULE = re.compile(r"`((?:bridge|policy|provisioning)(?:\.\w+){2,})`")
# Built or installed on demand, not in git.
GENERATED = ("webclient/dist", "webclient/node_modules")
# The CHANGELOG names files that existed before a move: the old names are history.
HISTORY = {ROOT / "CHANGELOG.md"}


def _named_paths() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        if page in HISTORY:
            continue
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for match in PATH.finditer(line):
                path = match.group(1).rstrip(".,:;)")
                if path and not path.startswith(GENERATED):
                    found.append((f"{page.relative_to(ROOT)}:{number}", path))
    return found


def _exists(path: str) -> bool:
    if "*" in path:
        return any(ROOT.glob(path))
    return (ROOT / path).exists()


def _module_exists(dotted: str) -> bool:
    """`a.b.c` is a module or package; or a module followed by names it defines."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if not source.is_file():
            continue
        rest = parts[cut:]
        if not rest:
            return True
        text = source.read_text(encoding="utf-8")
        return bool(re.search(rf"^\s*(?:class|def|async def)\s+{rest[0]}\b|^{rest[0]}\s*[:=]", text, re.M))
    return False


def test_every_path_the_docs_name_exists() -> None:
    """Paths such as `bridge/archive/writer.py` or `tests/e2e/...` in the README and docs/
    are files or folders of the repository."""
    named = _named_paths()
    assert len(named) > 50, "the pattern no longer finds the paths the docs name"
    missing = [f"{where}: {path}" for where, path in named if not _exists(path)]
    assert missing == []


def test_every_module_the_docs_name_exists() -> None:
    """Dotted names such as `policy.module.entry.CarebridgeModule` name a module of the
    repository (and, after it, something the module defines)."""
    named = [
        (f"{page.relative_to(ROOT)}", dotted)
        for page in PAGES
        if page not in HISTORY
        for dotted in MODULE.findall(page.read_text(encoding="utf-8"))
    ]
    assert named, "the pattern no longer finds the modules the docs name"
    missing = [f"{where}: {dotted}" for where, dotted in named if not _module_exists(dotted)]
    # Data directories written before the structure change name the old module (upgrades).
    missing = [m for m in missing if not m.endswith("policy.synapse_module.CarebridgeModule")]
    assert missing == []
