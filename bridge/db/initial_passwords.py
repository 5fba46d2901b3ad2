"""Which accounts still have the initial password provisioning mailed them.

Provisioning marks an account when it sets a password nobody but the mail's reader
knows (a new account, a reactivation, `carebridge user reset-password`); the web
client's password change clears the mark. The web client asks at sign-in and sends the
person straight to choosing their own password (45 CFR 164.308(a)(5)(ii)(D), password
management); administrators list who has not done so yet.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.core.clock import now_ms
from bridge.db.tables import initial_passwords


class InitialPasswords:
    """Reads and writes of the ``initial_passwords`` table (SQLite and PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def mark(self, user_ids: Iterable[str], ts: int | None = None) -> None:
        """Record that these accounts were just given a mailed password."""
        ids = sorted(set(user_ids))
        if not ids:
            return
        when = now_ms() if ts is None else ts
        async with self.engine.begin() as conn:
            await conn.execute(delete(initial_passwords).where(initial_passwords.c.user_id.in_(ids)))
            await conn.execute(initial_passwords.insert(), [{"user_id": u, "set_ts": when} for u in ids])

    async def clear(self, user_id: str) -> None:
        """The person chose their own password."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(initial_passwords).where(initial_passwords.c.user_id == user_id))

    async def has_initial(self, user_id: str) -> bool:
        async with self.engine.connect() as conn:
            query = select(initial_passwords.c.user_id).where(initial_passwords.c.user_id == user_id)
            row = (await conn.execute(query)).first()
        return row is not None

    async def all(self) -> set[str]:
        """Every account that still has its initial password."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(initial_passwords.c.user_id))).all()
        return {r.user_id for r in rows}
