"""The compliance view (bridge.compliance.roster.RosterSource) of the organisation directory that
provisioning maintains (bridge/db/directory.py, migration 0002).

Read fresh on every call: reports and scheduler passes are infrequent, and a change made
by `carebridge provision apply` or `carebridge user` is seen at once.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.compliance.roster import Person, Roster, RosterSource
from bridge.db.directory import Directory as OrgTables
from bridge.db.tables import directory_schedules, directory_settings, directory_users
from policy.shifts import ShiftSpec, spec_from_definition

log = logging.getLogger(__name__)


class OrgRosterSource:
    """RosterSource over provisioning's tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.tables = OrgTables(engine)

    async def roster(self) -> Roster:
        """Users, schedules and the organisation's time zone, in one connection."""
        u = directory_users.c
        async with self.engine.connect() as conn:
            users = (
                await conn.execute(select(u.user_id, u.display_name, u.role, u.schedule, u.active))
            ).all()
            definitions = (await conn.execute(select(directory_schedules))).all()
            organization = await conn.scalar(
                select(directory_settings.c.value).where(directory_settings.c.key == "organization")
            )
        timezone = str((organization or {}).get("timezone") or "UTC")
        schedules: dict[str, ShiftSpec] = {}
        for row in definitions:
            try:
                schedules[row.name] = spec_from_definition(row.name, dict(row.definition), timezone)
            except (KeyError, ValueError, TypeError):
                log.error("schedule %s in the directory is unusable; ignored", row.name)
        people = {
            r.user_id: Person(r.user_id, r.display_name, r.role, r.schedule, bool(r.active)) for r in users
        }
        return Roster(timezone, people, schedules)

    async def is_admin(self, user_id: str) -> bool:
        """role: admin and active."""
        return await self.tables.is_admin(user_id)


def org_directory(engine: AsyncEngine) -> RosterSource:
    """The RosterSource compliance reads."""
    return OrgRosterSource(engine)
