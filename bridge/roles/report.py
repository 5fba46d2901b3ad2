"""Reports of roles and urgent messages, one builder for the CLI (`carebridge role list`,
`carebridge report urgent`) and the bot, so both say the same thing. Times in the
organisation's time zone. 45 CFR 164.312(b) audit controls.
"""

from __future__ import annotations

from datetime import date, tzinfo

from bridge.core.clock import day_bounds, fmt_ts
from bridge.core.report_table import ReportTable
from bridge.org.roster import Roster
from bridge.roles.store import RoleStore
from bridge.roles.urgent_store import UrgentStore
from policy.roles import Away, who_holds

URGENT_COLUMNS = (
    "Sent",
    "From",
    "To",
    "Recipients",
    "Read by",
    "Read at",
    "Time to read",
    "Alerts",
    "Escalated to",
    "Escalated after",
)
ROLE_COLUMNS = ("Role", "Name", "Held by", "Since", "Until", "How", "Backup")


def _span(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = ms // 1000
    return f"{seconds // 60}m {seconds % 60:02d}s"


def _names(roster: Roster, user_ids: tuple[str, ...] | list[str] | None) -> str:
    return ", ".join(roster.name(u) or u for u in user_ids or ())


async def urgent_table(store: UrgentStore, roster: Roster, day: date) -> ReportTable:
    """Every urgent message sent on `day`: who to whom, read by whom and how fast, how many
    repeat alerts, and whether (and to whom) it escalated."""
    tz = roster.tz
    start, end = day_bounds(day, tz)
    rows = []
    for r in await store.between(start, end):
        to = f"role {r.role}" if r.role else r.kind
        if r.escalated_from:
            to += " (forwarded copy)"
        rows.append(
            (
                fmt_ts(r.sent_ts, tz),
                roster.name(r.sender) or r.sender,
                to,
                _names(roster, list(r.recipients)),
                roster.name(r.read_by) or r.read_by if r.read_by else "",
                fmt_ts(r.read_ts, tz) if r.read_ts else "",
                _span(r.read_ts - r.sent_ts) if r.read_ts else "unread",
                str(r.alerts),
                _names(roster, list(r.escalated_to or ())) or ("administrators" if r.escalated_ts else ""),
                _span(r.escalated_ts - r.sent_ts) if r.escalated_ts else "",
            )
        )
    return ReportTable(
        f"Urgent messages on {day.isoformat()}", URGENT_COLUMNS, tuple(rows), f"Times in {roster.timezone}."
    )


async def roles_table(
    store: RoleStore, roster: Roster, now_ms: int, tz: tzinfo, only: str | None = None
) -> ReportTable:
    """Every role (or one) with who holds it at `now_ms` and until when."""
    facts = await store.facts(now_ms)
    away: dict[str, Away] = await store.away(now_ms)
    rows = []
    for name, role in sorted(facts.items()):
        if only is not None and name != only:
            continue
        holding = who_holds(role, now_ms, away)
        holders = [
            (roster.name(u) or u) + (" (away)" if u in holding.away else "") for u in holding.assigned_to
        ]
        since = min((c.start_ms for c in holding.covers), default=None)
        until = max((c.end_ms for c in holding.covers), default=None)
        rows.append(
            (
                name,
                role.spec.display_name,
                ", ".join(holders) or "nobody",
                fmt_ts(since, tz) if since is not None else "",
                fmt_ts(until, tz) if until is not None else "",
                holding.reason.value,
                role.spec.backup or "administrators' room",
            )
        )
    title = f"Role {only}" if only else "Roles now"
    return ReportTable(title, ROLE_COLUMNS, tuple(rows), "Times in the organisation's time zone.")
