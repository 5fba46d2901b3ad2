"""Every repository path and Python module the README, docs/ and the code's comments and
docstrings name exists, so the prose keeps up with moves such as the feature-folder layout."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
TOP = r"(?:bridge|policy|provisioning|tests|config|synapse|deploy|webclient|bench|docs|\.ci)"
PATH = re.compile(rf"(?<![\w/.-])({TOP}/[\w./*-]*)")
# In backticks in the docs; anywhere in comments and docstrings.
MODULE = re.compile(r"`((?:bridge|policy|provisioning)(?:\.\w+)+)`")
PROSE_MODULE = re.compile(r"(?<![\w./-])((?:bridge|policy|provisioning)(?:\.[A-Za-z_]\w*)+)")
CODE_DIRS = ("bridge", "policy", "provisioning", "bench", "tests")
# `policy.json`, `bridge.out`: files, not modules.
FILE_SUFFIXES = {"json", "yaml", "yml", "out", "md", "py", "db", "log"}
# `bridge.port`, `policy.channel_creators`: keys of the settings or org file, not modules.
CONFIG_EXAMPLES = (ROOT / "config" / "carebridge.example.yaml", ROOT / "config" / "org.example.yaml")
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


def _config_keys() -> set[str]:
    keys: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                keys.add(f"{prefix}{key}")
                walk(value, f"{prefix}{key}.")

    for example in CONFIG_EXAMPLES:
        walk(yaml.safe_load(example.read_text(encoding="utf-8")), "")
    return keys


def _names_something(dotted: str, config_keys: set[str]) -> bool:
    """A module (or something it defines), a file name, or a settings/org-file key."""
    return dotted.rsplit(".", 1)[-1] in FILE_SUFFIXES or dotted in config_keys or _module_exists(dotted)


def _prose_names(source: str) -> list[tuple[int, str]]:
    """The dotted names in a Python file's comments and docstrings, with their line numbers."""
    prose = [
        (tok.start[0], tok.string)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring is not None:
                prose.append((node.body[0].lineno, docstring))
    return [
        (first + text.count("\n", 0, match.start()), match.group(1).rstrip("."))
        for first, text in prose
        for match in PROSE_MODULE.finditer(text)
    ]


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
    config_keys = _config_keys()
    missing = [f"{where}: {dotted}" for where, dotted in named if not _names_something(dotted, config_keys)]
    # Data directories written before the structure change name the old module (upgrades).
    missing = [m for m in missing if not m.endswith("policy.synapse_module.CarebridgeModule")]
    assert missing == []


def test_every_module_a_comment_or_docstring_names_exists() -> None:
    """`see bridge.archive.intake` in a docstring names a module that is there, not where it
    was before it moved."""
    config_keys = _config_keys()
    named = [
        (f"{path.relative_to(ROOT)}:{line}", dotted)
        for top in CODE_DIRS
        for path in sorted((ROOT / top).rglob("*.py"))
        for line, dotted in _prose_names(path.read_text(encoding="utf-8"))
    ]
    assert len(named) > 20, "the pattern no longer finds the modules comments name"
    missing = [f"{where}: {dotted}" for where, dotted in named if not _names_something(dotted, config_keys)]
    # The authentication safeguard recognises data directories that name the old module.
    missing = [m for m in missing if not m.endswith("policy.synapse_module.CarebridgeModule")]
    assert missing == []


# `e2e/test_x.py::test_name` (or with a tests/ prefix): a test the docs cite as evidence.
CITED_TEST = re.compile(r"`(?:tests/)?((?:unit|db|e2e)/test_\w+\.py)::(test_\w+)")


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_every_test_the_docs_cite_exists() -> None:
    """A test named as evidence (the threat model, the compliance report) is a real test:
    a renamed or deleted test must not leave a claim without its proof."""
    missing = []
    for page in PAGES:
        if page in HISTORY:
            continue
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for match in CITED_TEST.finditer(line):
                file, name = match.groups()
                path = ROOT / "tests" / file
                if not path.is_file() or name not in _test_functions(path):
                    missing.append(f"{page.relative_to(ROOT)}:{number}: {file}::{name}")
    assert missing == []
