"""The roster (bridge.org.roster.RosterSource) read from the organisation directory that
provisioning maintains (bridge/db/directory.py, migration 0002).

The roster is kept as a snapshot and re-read only when provisioning has written since
(`carebridge provision apply`, `carebridge user`: every directory write replaces the
revision row in the same transaction), so a small report does not re-read 1,000 people,
and a change is still seen by the next report. A directory never written by a
revision-stamping version has no revision: then it is read fresh every time.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.db.directory import REVISION_KEY, Directory
from bridge.db.tables import directory_schedules, directory_settings, directory_users
from bridge.org.roster import Person, Roster, RosterSource
from policy.shifts import ShiftSpec, spec_from_definition

log = logging.getLogger(__name__)

_REVISION = select(directory_settings.c.value).where(directory_settings.c.key == REVISION_KEY)


class OrgRosterSource:
    """RosterSource over provisioning's tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.directory = Directory(engine)
        self._snapshot: tuple[object, Roster] | None = None

    async def roster(self) -> Roster:
        """Users, schedules and the organisation's time zone (the snapshot while the
        directory's revision is unchanged)."""
        u = directory_users.c
        async with self.engine.connect() as conn:
            revision = await conn.scalar(_REVISION)
            if revision is not None and self._snapshot is not None and self._snapshot[0] == revision:
                return self._snapshot[1]
            users = (
                await conn.execute(
                    select(
                        u.user_id,
                        u.display_name,
                        u.role,
                        u.schedule,
                        u.active,
                        u.created_ts,
                        u.active_since_ts,
                        u.deactivated_ts,
                        u.schedule_since_ts,
                    )
                )
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
            r.user_id: Person(
                r.user_id,
                r.display_name,
                r.role,
                r.schedule,
                bool(r.active),
                active_from_ms=r.active_since_ts if r.active_since_ts is not None else r.created_ts or None,
                active_until_ms=None if r.active else r.deactivated_ts,
                schedule_since_ms=r.schedule_since_ts,
            )
            for r in users
        }
        roster = Roster(timezone, people, schedules)
        self._snapshot = (revision, roster) if revision is not None else None
        return roster

    async def is_admin(self, user_id: str) -> bool:
        """role: admin and active."""
        return await self.directory.is_admin(user_id)


def org_directory(engine: AsyncEngine) -> RosterSource:
    """The RosterSource compliance reads."""
    return OrgRosterSource(engine)
