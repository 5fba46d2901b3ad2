"""Facts from the compliance database: archive metadata (nothing decrypted), the
directory, the sessions ledger, alerts and commands. Queries return counts, ids and times."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.archive.reader import archive_key_ids
from bridge.compliance.safeguards.model import DAY_MS, ActivityFacts, ArchiveFacts
from bridge.db.tables import (
    archive_events,
    bot_commands,
    compliance_alerts,
    consumer_cursors,
    directory_settings,
    directory_users,
    failed_logins,
    sessions,
)
from policy.event_types import EXPORT_RECORD_TYPE

AUTOMATIC = "automatic"
# Column names a deployment may use to mark accounts still on their initial password.
INITIAL_PASSWORD_COLUMNS = ("initial_password", "password_is_initial", "must_change_password")


@dataclass(frozen=True)
class LedgerAccount:
    """One directory entry with what the ledger knows about its sessions."""

    role: str
    active: bool
    created_ms: int
    open_sessions: int
    ever_signed_in: bool
    initial_password: bool | None


async def archive_facts(engine: AsyncEngine) -> ArchiveFacts:
    """Rows, head, key ids in use, last arrival (the newest row's), consumer lag, export
    records: index look-ups and one count, never a read of every row."""
    t = archive_events
    async with engine.connect() as conn:
        rows = int(await conn.scalar(select(func.count()).select_from(t)) or 0)
        newest = (
            await conn.execute(select(t.c.seq, t.c.received_ts).order_by(t.c.seq.desc()).limit(1))
        ).first()
        head, last = (newest[0], newest[1]) if newest is not None else (None, None)
        key_ids = tuple(await archive_key_ids(conn))
        cursors = (await conn.execute(select(consumer_cursors.c.name, consumer_cursors.c.seq))).all()
        # Through the partial index on export records (migration 0020): the type is a
        # literal in the statement, as SQLite needs to use it.
        is_export = t.c.event_type == bindparam("export_type", EXPORT_RECORD_TYPE, literal_execute=True)
        exports, last_export = (
            await conn.execute(select(func.count(), func.max(t.c.received_ts)).where(is_export))
        ).one()
    head_seq = int(head or 0)
    return ArchiveFacts(
        rows=int(rows),
        head_seq=head_seq,
        key_ids_used=key_ids,
        last_received_ms=int(last) if last is not None else None,
        consumer_lag={str(name): max(0, head_seq - int(seq)) for name, seq in cursors},
        exports=int(exports),
        last_export_ms=int(last_export) if last_export is not None else None,
    )


async def _initial_password_column(conn: AsyncConnection) -> str | None:
    columns = await conn.run_sync(
        lambda c: {col["name"] for col in inspect(c).get_columns("directory_users")}
    )
    return next((name for name in INITIAL_PASSWORD_COLUMNS if name in columns), None)


async def directory_people(engine: AsyncEngine) -> dict[str, LedgerAccount]:
    """Every directory user with their ledger summary, by user id."""
    u, s = directory_users, sessions
    async with engine.connect() as conn:
        users = (await conn.execute(select(u.c.user_id, u.c.role, u.c.active, u.c.created_ts))).all()
        open_rows = await conn.execute(
            select(s.c.user_id, func.count()).where(s.c.logout_ts.is_(None)).group_by(s.c.user_id)
        )
        open_by_user = {str(r[0]): int(r[1]) for r in open_rows}
        signed_in = {
            str(r[0])
            for r in await conn.execute(select(s.c.user_id).where(s.c.login_ts.is_not(None)).distinct())
        }
        flags: dict[str, bool] = {}
        column = await _initial_password_column(conn)
        if column is not None:
            # The name comes from INITIAL_PASSWORD_COLUMNS, never from input.
            query = text(f"SELECT user_id, {column} FROM directory_users")  # noqa: S608
            flags = {str(r[0]): bool(r[1]) for r in await conn.execute(query)}
    return {
        str(r.user_id): LedgerAccount(
            role=str(r.role),
            active=bool(r.active),
            created_ms=int(r.created_ts),
            open_sessions=open_by_user.get(str(r.user_id), 0),
            ever_signed_in=str(r.user_id) in signed_in,
            initial_password=flags.get(str(r.user_id)) if column else None,
        )
        for r in users
    }


async def activity_facts(engine: AsyncEngine, now_ms: int) -> ActivityFacts:
    """Session records, failed sign-ins, alerts, commands, automatic logouts, shifts."""
    s, fl, u = sessions, failed_logins, directory_users
    async with engine.connect() as conn:
        last_login, last_logout = (
            await conn.execute(select(func.max(s.c.login_ts), func.max(s.c.logout_ts)))
        ).one()
        failed, last_failed = (
            await conn.execute(select(func.count(), func.max(fl.c.ts)).where(fl.c.ts >= now_ms - 7 * DAY_MS))
        ).one()
        last_failed_any = await conn.scalar(select(func.max(fl.c.ts)))
        last_alert = await conn.scalar(select(func.max(compliance_alerts.c.sent_ts)))
        last_command = await conn.scalar(select(func.max(bot_commands.c.answered_ts)))
        last_auto = await conn.scalar(select(func.max(s.c.logout_ts)).where(s.c.close_reason == AUTOMATIC))
        scheduled = await conn.scalar(
            select(func.count()).where(u.c.active.is_(True), u.c.schedule.is_not(None))
        )
    records = [int(x) for x in (last_login, last_logout, last_failed_any) if x is not None]
    return ActivityFacts(
        last_session_record_ms=max(records) if records else None,
        failed_logins_7d=int(failed),
        last_failed_login_ms=_ms(last_failed if last_failed is not None else last_failed_any),
        last_alert_ms=_ms(last_alert),
        last_command_ms=_ms(last_command),
        last_automatic_logout_ms=_ms(last_auto),
        scheduled_people=int(scheduled or 0),
    )


async def organization_name(engine: AsyncEngine) -> str | None:
    """The organisation's name from the org file, as provisioning saved it."""
    async with engine.connect() as conn:
        value = await conn.scalar(
            select(directory_settings.c.value).where(directory_settings.c.key == "organization")
        )
    name = value.get("name") if isinstance(value, dict) else None
    return str(name) if name else None


def _ms(value: Any) -> int | None:
    return int(value) if value is not None else None
