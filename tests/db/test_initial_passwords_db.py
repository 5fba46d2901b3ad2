"""Initial-password marks (migration 0016) and the `!passwords` table, on SQLite and
PostgreSQL."""

from __future__ import annotations

from mautrix.types import UserID

from bridge.commands.passwords import initial_password_table
from bridge.db.directory import Directory, DirectoryUser
from bridge.db.engine import create_engine, migrate
from bridge.db.initial_passwords import InitialPasswords


def user(name: str, active: bool = True) -> DirectoryUser:
    return DirectoryUser(
        UserID(f"@{name}:x"),
        name,
        name.title(),
        f"{name}@x.example",
        "staff",
        ("nurses",),
        None,
        active,
        "org",
        1,
        1,
    )


async def test_marks_are_set_again_cleared_and_listed_for_active_accounts(db_url: str) -> None:
    """Provisioning marks accounts (again on a reset, without a duplicate row); a password
    change clears one; the bot's table lists only active accounts still marked."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        marks = InitialPasswords(engine)
        directory = Directory(engine)
        await directory.upsert_users([user("ann"), user("bob"), user("old", active=False)])
        await marks.mark(["@ann:x", "@bob:x", "@old:x"], ts=1)
        await marks.mark(["@ann:x"], ts=2)
        assert await marks.all() == {"@ann:x", "@bob:x", "@old:x"}
        await marks.clear("@bob:x")
        await marks.clear("@nobody:x")
        assert await marks.has_initial("@ann:x") and not await marks.has_initial("@bob:x")
        table = await initial_password_table(directory, marks)
        assert table.rows == (("@ann:x", "nurses"),)
        await marks.mark([])
        assert await marks.all() == {"@ann:x", "@old:x"}
    finally:
        await engine.dispose()
