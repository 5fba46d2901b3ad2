"""`!passwords`: who still signs in with the initial password an administrator mailed.

The same facts as the `initial_password` column of `carebridge user list`, for
administrators in their room (45 CFR 164.308(a)(5)(ii)(D), password management: follow up
with people who have not yet chosen their own password).
"""

from __future__ import annotations

from bridge.commands.framework import (
    Command,
    CommandError,
    Invocation,
    Reply,
    table_reply,
)
from bridge.core.report_table import ReportTable
from bridge.db.directory import Directory
from bridge.db.initial_passwords import InitialPasswords


async def initial_password_table(directory: Directory, marks: InitialPasswords) -> ReportTable:
    """Active accounts that still have their mailed password, by user id."""
    snapshot = await directory.snapshot()
    initial = await marks.all()
    rows = tuple(
        (u.user_id, ",".join(u.groups))
        for u in sorted(snapshot.users.values(), key=lambda u: u.user_id)
        if u.active and u.user_id in initial
    )
    note = "They are asked for a new password at their next web sign-in."
    return ReportTable("Accounts with their initial password", ("user_id", "groups"), rows, note)


def initial_password_commands(
    directory: Directory, marks: InitialPasswords, rows_in_chat: int = 50
) -> list[Command]:
    """`!passwords`: who still uses the password they were sent."""

    async def passwords(inv: Invocation) -> list[Reply]:
        if inv.args:
            raise CommandError("!passwords takes no arguments.")
        table = await initial_password_table(directory, marks)
        return [table_reply(table, rows_in_chat, "Everyone has chosen their own password.")]

    return [Command("passwords", "!passwords", "accounts still using their mailed password", passwords)]
