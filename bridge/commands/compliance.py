"""The compliance commands: !online !logins !missing !sessions !report !verify.

Answers are tables (HTML with a plain-text fallback); `!report` also posts the CSV file,
the very bytes `carebridge report day|week --format csv` prints.
45 CFR 164.308(a)(1)(ii)(D) information system activity review; 164.312(b) audit controls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridge.commands.framework import (
    Attachment,
    Command,
    CommandError,
    Invocation,
    Reply,
    is_date_like,
    parse_date,
    parse_user,
    table_reply,
)
from bridge.commands.verify import ArchiveCheck, describe
from bridge.compliance.reports import Reports
from bridge.core.report_table import to_csv

MAX_DAYS = 366


def compliance_commands(
    reports: Reports,
    archive_check: ArchiveCheck,
    admin_room: Callable[[], str | None],
    rows_in_chat: int = 50,
) -> list[Command]:
    """The compliance commands."""
    limit = rows_in_chat

    async def online(inv: Invocation) -> list[Reply]:
        _no_args(inv, 0)
        return [table_reply(await reports.online(), limit, "Nobody is signed in.")]

    async def logins(inv: Invocation) -> list[Reply]:
        _no_args(inv, 2)
        today = await reports.today()
        day, user = None, None
        for arg in inv.args:
            if is_date_like(arg):
                day = parse_date(arg, today)
            else:
                user = parse_user(arg, inv.server_name)
        return [table_reply(await reports.logins(day or today, user), limit, "No sign-ins.")]

    async def missing(inv: Invocation) -> list[Reply]:
        _no_args(inv, 1)
        today = await reports.today()
        day = parse_date(inv.args[0], today) if inv.args else today
        return [table_reply(await reports.missing(day), limit, "Nobody is missing.")]

    async def sessions(inv: Invocation) -> list[Reply]:
        if not inv.args or len(inv.args) > 2:
            raise CommandError("Which person?")
        user = parse_user(inv.args[0], inv.server_name)
        days = 7
        if len(inv.args) == 2:
            if not inv.args[1].isdigit() or not 1 <= int(inv.args[1]) <= MAX_DAYS:
                raise CommandError(f"DAYS must be a number from 1 to {MAX_DAYS}")
            days = int(inv.args[1])
        return [table_reply(await reports.sessions(user, days), limit, "No sessions.")]

    async def report(inv: Invocation) -> list[Reply]:
        if not inv.args or inv.args[0] not in ("day", "week") or len(inv.args) > 2:
            raise CommandError("Say day or week.")
        today = await reports.today()
        day = parse_date(inv.args[1], today) if len(inv.args) == 2 else today
        table = await (reports.day(day) if inv.args[0] == "day" else reports.week(day))
        filename = f"carebridge-{inv.args[0]}-{day.isoformat()}.csv"
        summary = table_reply(table, min(limit, 20), "Nobody is scheduled.")
        data = to_csv(table).encode()
        return [Reply(summary.plain, summary.html, Attachment(filename, "text/csv", data))]

    async def verify(inv: Invocation) -> list[Reply]:
        _no_args(inv, 0)
        report = await archive_check.run(admin_room())
        return [Reply(describe(report, await archive_check.against_synapse(), compared=True))]

    commands: list[tuple[str, str, str, Callable[[Invocation], Awaitable[list[Reply]]]]] = [
        ("online", "!online", "who has a live session now", online),
        ("logins", "!logins [DATE] [@user]", "sign-ins and failed attempts on a day", logins),
        ("missing", "!missing [DATE]", "scheduled staff with no sign-in by start + grace", missing),
        ("sessions", "!sessions @user [DAYS]", "a person's sessions over the last DAYS days (7)", sessions),
        ("report", "!report day|week [DATE]", "attendance report as a CSV file", report),
        (
            "verify",
            "!verify",
            "check the archive: hash chain, published heads, media, and that Synapse still has it all",
            verify,
        ),
    ]
    return [Command(name, usage, summary, handler) for name, usage, summary, handler in commands]


def _no_args(inv: Invocation, most: int) -> None:
    if len(inv.args) > most:
        raise CommandError("Too many arguments.")
