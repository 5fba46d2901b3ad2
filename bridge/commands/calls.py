"""The calls report as a table for `carebridge report calls` and the bot's `!calls`.

One builder for both, so the CLI's CSV and the bot's answer say the same thing. Times in
the organisation's time zone (from the org file, via the compliance roster).
"""

from __future__ import annotations

import html
from datetime import date

from bridge.commands.framework import (
    Command,
    CommandError,
    Invocation,
    Reply,
    is_date_like,
    parse_date,
    parse_user,
    table_reply,
)
from bridge.core.clock import Clock, SystemClock
from bridge.core.report_table import ReportTable
from bridge.org.roster import RosterSource
from bridge.staff.calls.report import CALL_COLUMNS, calls_on
from bridge.staff.calls.store import CallStore


async def calls_table(
    store: CallStore,
    directory: RosterSource,
    day: date | None = None,
    user_id: str | None = None,
    clock: Clock | None = None,
) -> ReportTable:
    """Calls invited on `day` (default today), optionally made or received by one person."""
    roster = await directory.roster()
    tz = roster.tz
    day = day or (clock or SystemClock()).now().astimezone(tz).date()
    rows = await calls_on(store, day, tz, user_id)
    who = f" for {user_id}" if user_id else ""
    return ReportTable(f"Calls on {day.isoformat()}{who}", CALL_COLUMNS, rows, f"Times in {roster.timezone}.")


def calls_commands(
    store: CallStore,
    directory: RosterSource,
    rows_in_chat: int = 50,
    clock: Clock | None = None,
) -> list[Command]:
    """`!calls [DATE] [@user]`: the call log of a day."""

    async def calls(inv: Invocation) -> list[Reply]:
        if len(inv.args) > 2:
            raise CommandError("Too many arguments: !calls [DATE] [@user]")
        roster = await directory.roster()
        today = (clock or SystemClock()).now().astimezone(roster.tz).date()
        day: date | None = None
        user: str | None = None
        for arg in inv.args:
            if is_date_like(arg) and day is None:
                day = parse_date(arg, today)
            else:
                user = parse_user(arg, inv.server_name)
        table = await calls_table(store, directory, day or today, user, clock)
        reply = table_reply(table, rows_in_chat, "No calls.")
        return [Reply(reply.plain, reply.html or html.escape(reply.plain))]

    return [Command("calls", "!calls [DATE] [@user]", "calls on a day: who, kind, outcome, duration", calls)]
