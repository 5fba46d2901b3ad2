"""The migration graph stays linear: one head, every revision reachable from it, and the
files in `bridge/db/migrations/versions/` sorted by name in the order they apply."""

from __future__ import annotations

import re
from pathlib import Path

from alembic.script import Script, ScriptDirectory

from bridge.db.engine import MIGRATIONS_DIR, script_heads

VERSIONS_DIR = MIGRATIONS_DIR / "versions"
FILE_NAME = re.compile(r"^(?P<number>\d{4})_[a-z0-9_]+\.py$")

# Three files were renamed to follow the chain; their revision ids are the ones databases
# already record, so they differ from the file numbers. Every other file is named by its id.
HISTORIC_IDS = {"0008": "0017", "0009": "0016", "0010": "0014"}


def _scripts_by_file() -> dict[str, Script]:
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    return {Path(str(rev.path)).name: rev for rev in scripts.walk_revisions()}


def _parents(rev: Script) -> tuple[str, ...]:
    down = rev.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def test_the_migration_graph_has_exactly_one_head() -> None:
    """Two migrations naming the same parent would give two heads, and `migrate` would fail."""
    assert len(script_heads()) == 1, f"several heads: {script_heads()}"


def test_every_revision_is_an_ancestor_of_the_head() -> None:
    """No revision is left on a side branch that upgrading to the head would skip."""
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    (head,) = scripts.get_heads()
    on_path = {rev.revision for rev in scripts.walk_revisions("base", head)}
    every = {rev.revision for rev in scripts.walk_revisions()}
    assert on_path == every
    assert {"0001", "0007"} <= every


def test_every_file_is_one_revision_named_number_slug() -> None:
    """A file Alembic skipped, or two files with one revision id, would not be in the map."""
    files = sorted(p.name for p in VERSIONS_DIR.glob("*.py"))
    assert files, VERSIONS_DIR
    assert [f for f in files if not FILE_NAME.match(f)] == []
    assert sorted(_scripts_by_file()) == files


def test_file_order_is_chain_order() -> None:
    """Sorted by name, every file comes after the files of the revisions it follows.

    On the linear part of the chain this makes the file order the upgrade order, so the last
    file is the head.
    """
    by_file = _scripts_by_file()
    file_of = {rev.revision: name for name, rev in by_file.items()}
    seen: set[str] = set()
    for name in sorted(by_file):
        later = [file_of[parent] for parent in _parents(by_file[name]) if parent not in seen]
        assert later == [], f"{name} follows {later}, which sort after it"
        seen.add(by_file[name].revision)
    (head,) = script_heads()
    assert file_of[head] == max(by_file)


def test_file_number_is_the_revision_id_except_the_renamed_three() -> None:
    """A new migration is named by its revision id (the next one after the highest in use)."""
    for name, rev in _scripts_by_file().items():
        match = FILE_NAME.match(name)
        assert match is not None
        number = match["number"]
        assert rev.revision == HISTORIC_IDS.get(number, number), name
