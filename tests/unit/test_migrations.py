"""The migration graph stays linear: one head, every revision reachable from it."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from bridge.db.engine import MIGRATIONS_DIR, script_heads


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
