"""Reading sessions and failed logins for reports (SQLAlchemy Core, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, or_, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.core.clock import from_ms
from bridge.db.tables import failed_logins, sessions
from policy.shifts import SessionFacts


class SessionRow(NamedTuple):
    """One row of `sessions` (a named tuple: reports build thousands of these, and a
    tuple is made from a database row at a fraction of a frozen dataclass's cost)."""

    id: int
    user_id: str
    device_id: str | None
    login_ts: int | None
    logout_ts: int | None
    ip: str | None
    user_agent: str | None
    method: str | None
    close_reason: str | None
    closed_by: str | None
    close_detail: str | None

    def facts(self) -> SessionFacts:
        """The shape policy.shifts evaluates."""
        return SessionFacts(
            login=from_ms(self.login_ts) if self.login_ts is not None else None,
            logout=from_ms(self.logout_ts) if self.logout_ts is not None else None,
            device_id=self.device_id,
            session_id=self.id,
        )


@dataclass(frozen=True)
class FailedRow:
    """One row of `failed_logins`."""

    user_id: str | None
    ts: int
    ip: str | None
    user_agent: str | None
    reason: str


_S = sessions.c
_COLUMNS = (
    _S.id,
    _S.user_id,
    _S.device_id,
    _S.login_ts,
    _S.logout_ts,
    _S.ip,
    _S.user_agent,
    _S.method,
    _S.close_reason,
    _S.closed_by,
    _S.close_detail,
)


def _both(query: Select[Any]) -> tuple[Select[Any], Select[Any]]:
    """The statement for everyone and for one person (`user` parameter), built once:
    constructing a statement per report costs more than SQLite takes to run it."""
    return query, query.where(_S.user_id == bindparam("user"))


_BEGAN = or_(_S.login_ts.is_(None), _S.login_ts < bindparam("end"))
_CLOSED = _both(select(*_COLUMNS).where(_S.logout_ts >= bindparam("start"), _BEGAN))
_STILL_OPEN = _both(select(*_COLUMNS).where(_S.logout_ts.is_(None), _BEGAN))
_LOGINS = _both(
    select(*_COLUMNS)
    .where(_S.login_ts >= bindparam("start"), _S.login_ts < bindparam("end"))
    .order_by(_S.login_ts, _S.id)
)
_OPEN = _both(select(*_COLUMNS).where(_S.logout_ts.is_(None)))
_SPANS = (
    select(_S.user_id, _S.login_ts, _S.logout_ts).where(_S.logout_ts >= bindparam("start"), _BEGAN),
    select(_S.user_id, _S.login_ts, _S.logout_ts).where(_S.logout_ts.is_(None), _BEGAN),
)


async def _rows(
    engine: AsyncEngine, queries: Sequence[tuple[Select[Any], Select[Any]]], params: dict[str, Any]
) -> list[SessionRow]:
    out: dict[int, SessionRow] = {}
    which = 0 if params.get("user") is None else 1
    make = SessionRow._make
    async with engine.connect() as conn:
        for query in queries:
            for r in await conn.execute(query[which], params):
                out[r[0]] = make(r)
    return sorted(out.values(), key=lambda s: (s.login_ts or 0, s.id))


async def sessions_overlapping(
    engine: AsyncEngine, start_ms: int, end_ms: int, user_id: str | None = None
) -> list[SessionRow]:
    """Sessions live at some instant in [start_ms, end_ms), oldest first.

    Two index-friendly queries (closed sessions by logout time, open sessions) instead
    of one OR over the whole table.
    """
    return await _rows(engine, [_CLOSED, _STILL_OPEN], {"start": start_ms, "end": end_ms, "user": user_id})


Span = tuple[str, int | None, int | None]  # (user id, login ms, logout ms)


async def session_spans(engine: AsyncEngine, start_ms: int, end_ms: int) -> list[Span]:
    """(user id, login ms, logout ms) of every session live at some instant in
    [start_ms, end_ms), in no particular order: what attendance evaluates (the same
    sessions as `sessions_overlapping`, without the columns it does not read)."""
    out: list[Span] = []
    params = {"start": start_ms, "end": end_ms}
    async with engine.connect() as conn:
        for query in _SPANS:  # closed, then still open: no session is in both
            out.extend((await conn.execute(query, params)).tuples())
    return out


async def logins_between(
    engine: AsyncEngine, start_ms: int, end_ms: int, user_id: str | None = None
) -> list[SessionRow]:
    """Sessions that began in [start_ms, end_ms), oldest first."""
    query = _LOGINS[0 if user_id is None else 1]
    params = {"start": start_ms, "end": end_ms, "user": user_id}
    async with engine.connect() as conn:
        return list(map(SessionRow._make, await conn.execute(query, params)))


async def open_sessions(engine: AsyncEngine, user_id: str | None = None) -> list[SessionRow]:
    """Sessions not ended yet (as far as the records tell)."""
    return await _rows(engine, [_OPEN], {"user": user_id})


async def failed_between(
    engine: AsyncEngine, start_ms: int, end_ms: int, user_id: str | None = None
) -> list[FailedRow]:
    """Failed login attempts in [start_ms, end_ms), oldest first."""
    f = failed_logins.c
    query = (
        select(f.user_id, f.ts, f.ip, f.user_agent, f.reason)
        .where(f.ts >= start_ms, f.ts < end_ms, f.user_id == user_id if user_id is not None else true())
        .order_by(f.ts, f.id)
    )
    async with engine.connect() as conn:
        return [FailedRow(*r) for r in await conn.execute(query)]
