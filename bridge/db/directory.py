"""The organisation directory in the Carebridge database: who works here, in which role,
on which schedule, and which rooms are channels with which rights.

Written by provisioning (`carebridge provision apply`, `carebridge user ...`); read by the
bridge and the reports (is this user an admin? what is their shift? is this room a
channel, and who in it may only reply?). Tables: bridge/db/tables.py, migration 0002.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mautrix.types import RoomID, UserID
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.core.clock import now_ms
from bridge.db.tables import (
    directory_channel_members,
    directory_channels,
    directory_schedules,
    directory_settings,
    directory_users,
)
from config.org import Schedule

ManagedBy = Literal["org", "cli", "client"]


# A settings row every provisioning write replaces (same transaction): readers that keep a
# snapshot of the directory (bridge/org/source.py) compare it to know theirs is
# still current.
REVISION_KEY = "_revision"


async def bump_revision(conn: AsyncConnection) -> None:
    """Mark the directory changed (call inside the writing transaction)."""
    value = {"token": secrets.token_hex(8)}
    t = directory_settings
    done = await conn.execute(
        update(t).where(t.c.key == REVISION_KEY).values(value=value, updated_ts=now_ms())
    )
    if not done.rowcount:
        await conn.execute(insert(t).values(key=REVISION_KEY, value=value, updated_ts=now_ms()))


@dataclass(frozen=True)
class DirectoryUser:
    """One account as Carebridge knows it."""

    user_id: UserID
    username: str
    display_name: str
    email: str
    role: str
    groups: tuple[str, ...]
    schedule: str | None
    active: bool
    managed_by: str
    created_ts: int = 0
    updated_ts: int = 0
    deactivated_ts: int | None = None
    # Start of the current active stretch (creation or last reactivation); None on an
    # update keeps the stored value.
    active_since_ts: int | None = None
    # Since when the person is on `schedule`: set by `upsert_users` (at creation, and to
    # the update's `updated_ts` when the schedule changes); read back from the table.
    schedule_since_ts: int | None = None

    @property
    def is_admin(self) -> bool:
        """Carebridge administrator (runs compliance commands); never a server admin."""
        return self.role == "admin"


@dataclass(frozen=True)
class DirectoryChannel:
    """One channel and its room."""

    room_id: RoomID
    name: str
    alias: str
    display_name: str
    topic: str
    closed: bool
    rights: Mapping[str, Any]
    managed_by: str
    created_ts: int = 0
    updated_ts: int = 0
    closed_ts: int | None = None


@dataclass(frozen=True)
class DirectorySnapshot:
    """Everything in the directory, read in one go (what planning compares against)."""

    users: dict[UserID, DirectoryUser] = field(default_factory=dict)
    channels: dict[str, DirectoryChannel] = field(default_factory=dict)
    members: dict[RoomID, dict[UserID, str]] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def _user(row: Any) -> DirectoryUser:
    return DirectoryUser(
        user_id=UserID(row.user_id),
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        role=row.role,
        groups=tuple(row.groups or ()),
        schedule=row.schedule,
        active=bool(row.active),
        managed_by=row.managed_by,
        created_ts=row.created_ts,
        updated_ts=row.updated_ts,
        deactivated_ts=row.deactivated_ts,
        active_since_ts=row.active_since_ts,
        schedule_since_ts=row.schedule_since_ts,
    )


def _channel(row: Any) -> DirectoryChannel:
    return DirectoryChannel(
        room_id=RoomID(row.room_id),
        name=row.name,
        alias=row.alias,
        display_name=row.display_name,
        topic=row.topic,
        closed=bool(row.closed),
        rights=dict(row.rights or {}),
        managed_by=row.managed_by,
        created_ts=row.created_ts,
        updated_ts=row.updated_ts,
        closed_ts=row.closed_ts,
    )


class Directory:
    """Reads and writes of the directory tables (SQLite and PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # --- reads used across Carebridge ----------------------------------------------
    async def user(self, user_id: str) -> DirectoryUser | None:
        """The directory entry for a Matrix user id, active or not."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(directory_users).where(directory_users.c.user_id == user_id))
            ).first()
        return _user(row) if row else None

    async def is_admin(self, user_id: str) -> bool:
        """True if the user is an active Carebridge administrator (role: admin)."""
        user = await self.user(user_id)
        return user is not None and user.active and user.is_admin

    async def admin_user_ids(self) -> set[UserID]:
        """Every active administrator."""
        query = select(directory_users.c.user_id).where(
            directory_users.c.role == "admin", directory_users.c.active.is_(True)
        )
        async with self.engine.connect() as conn:
            return {UserID(r[0]) for r in await conn.execute(query)}

    async def active_user_ids(self) -> set[UserID]:
        """Every active account in the directory."""
        query = select(directory_users.c.user_id).where(directory_users.c.active.is_(True))
        async with self.engine.connect() as conn:
            return {UserID(r[0]) for r in await conn.execute(query)}

    async def schedule_for(self, user_id: str) -> tuple[str, Schedule] | None:
        """The (name, schedule) an active user works to, or None if unscheduled."""
        query = (
            select(directory_schedules.c.name, directory_schedules.c.definition)
            .join(directory_users, directory_users.c.schedule == directory_schedules.c.name)
            .where(directory_users.c.user_id == user_id, directory_users.c.active.is_(True))
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (row.name, Schedule.model_validate(row.definition)) if row else None

    async def schedules(self) -> dict[str, Schedule]:
        """Every shift definition by name."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(directory_schedules))
            return {r.name: Schedule.model_validate(r.definition) for r in rows}

    async def channel_by_room(self, room_id: str) -> DirectoryChannel | None:
        """The channel a room is, or None if the room is not a channel."""
        query = select(directory_channels).where(directory_channels.c.room_id == room_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _channel(row) if row else None

    async def channel_by_name(self, name: str) -> DirectoryChannel | None:
        """The channel with this name (its alias localpart)."""
        query = select(directory_channels).where(directory_channels.c.name == name)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _channel(row) if row else None

    async def channel_members(self, room_id: str) -> dict[UserID, str]:
        """Members of a channel room and their access: "post" | "respond" | "read"."""
        query = select(directory_channel_members).where(directory_channel_members.c.room_id == room_id)
        async with self.engine.connect() as conn:
            return {UserID(r.user_id): r.access for r in await conn.execute(query)}

    async def respond_only_members(self, room_id: str) -> set[UserID]:
        """Members of a channel who may only reply to existing messages."""
        return {u for u, access in (await self.channel_members(room_id)).items() if access == "respond"}

    async def setting(self, key: str) -> Any:
        """An organisation-wide value ("organization", "policy"), or None."""
        query = select(directory_settings.c.value).where(directory_settings.c.key == key)
        async with self.engine.connect() as conn:
            return await conn.scalar(query)

    async def snapshot(self) -> DirectorySnapshot:
        """Read the whole directory (one connection, consistent enough for planning)."""
        snap = DirectorySnapshot()
        async with self.engine.connect() as conn:
            for row in await conn.execute(select(directory_users)):
                snap.users[UserID(row.user_id)] = _user(row)
            for row in await conn.execute(select(directory_channels)):
                snap.channels[row.name] = _channel(row)
            for row in await conn.execute(select(directory_channel_members)):
                snap.members.setdefault(RoomID(row.room_id), {})[UserID(row.user_id)] = row.access
            for row in await conn.execute(select(directory_schedules)):
                snap.schedules[row.name] = dict(row.definition)
            for row in await conn.execute(select(directory_settings)):
                snap.settings[row.key] = row.value
        return snap

    # --- writes (provisioning) -----------------------------------------------------
    async def upsert_users(self, users: Iterable[DirectoryUser]) -> None:
        """Insert or update users by user_id (created_ts kept for existing rows)."""
        rows = [_user_row(u) for u in users]
        if not rows:
            return
        async with self.engine.begin() as conn:
            stored = await _stored_schedules(conn, [r["user_id"] for r in rows])
            new = [r for r in rows if r["user_id"] not in stored]
            for r in new:
                r["schedule_since_ts"] = r["active_since_ts"] or r["created_ts"]
            await bump_revision(conn)
            if new:
                await conn.execute(insert(directory_users), new)
            for r in rows:
                if r["user_id"] in stored:
                    values = {
                        k: v
                        for k, v in r.items()
                        if k not in ("user_id", "created_ts", "schedule_since_ts")
                        and not (k == "active_since_ts" and v is None)
                    }
                    if stored[r["user_id"]] != r["schedule"]:
                        values["schedule_since_ts"] = r["updated_ts"]
                    await conn.execute(
                        update(directory_users)
                        .where(directory_users.c.user_id == r["user_id"])
                        .values(values)
                    )

    async def upsert_channels(self, channels: Iterable[DirectoryChannel]) -> None:
        """Insert or update channels by room_id (created_ts kept for existing rows)."""
        rows = [_channel_row(c) for c in channels]
        if not rows:
            return
        async with self.engine.begin() as conn:
            existing = await _existing(conn, directory_channels.c.room_id, [r["room_id"] for r in rows])
            await bump_revision(conn)
            names = [r["name"] for r in rows if r["room_id"] not in existing]
            if names:
                # A name moved to another room (re-created channel): the old row gives way.
                await conn.execute(delete(directory_channels).where(directory_channels.c.name.in_(names)))
                await conn.execute(
                    insert(directory_channels), [r for r in rows if r["room_id"] not in existing]
                )
            for r in rows:
                if r["room_id"] in existing:
                    values = {k: v for k, v in r.items() if k not in ("room_id", "created_ts")}
                    await conn.execute(
                        update(directory_channels)
                        .where(directory_channels.c.room_id == r["room_id"])
                        .values(values)
                    )

    async def replace_channel_members(self, members: Mapping[RoomID, Mapping[UserID, str]]) -> None:
        """Set the full member list (with access) of each given channel room."""
        if not members:
            return
        async with self.engine.begin() as conn:
            await bump_revision(conn)
            await conn.execute(
                delete(directory_channel_members).where(
                    directory_channel_members.c.room_id.in_(list(members))
                )
            )
            rows = [
                {"room_id": room_id, "user_id": user_id, "access": access}
                for room_id, users in members.items()
                for user_id, access in users.items()
            ]
            if rows:
                await conn.execute(insert(directory_channel_members), rows)

    async def replace_schedules(self, schedules: Mapping[str, Mapping[str, Any]], ts: int) -> None:
        """Make the stored shift definitions exactly `schedules`."""
        async with self.engine.begin() as conn:
            await bump_revision(conn)
            await conn.execute(delete(directory_schedules))
            if schedules:
                await conn.execute(
                    insert(directory_schedules),
                    [{"name": n, "definition": dict(d), "updated_ts": ts} for n, d in schedules.items()],
                )

    async def save_settings(self, values: Mapping[str, Any], ts: int) -> None:
        """Insert or replace organisation-wide values by key."""
        if not values:
            return
        async with self.engine.begin() as conn:
            await bump_revision(conn)
            await conn.execute(delete(directory_settings).where(directory_settings.c.key.in_(list(values))))
            await conn.execute(
                insert(directory_settings),
                [{"key": k, "value": v, "updated_ts": ts} for k, v in values.items()],
            )


async def _stored_schedules(conn: AsyncConnection, user_ids: list[str]) -> dict[str, str | None]:
    """The stored schedule of each of these users that has a row."""
    found: dict[str, str | None] = {}
    u = directory_users.c
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        rows = await conn.execute(select(u.user_id, u.schedule).where(u.user_id.in_(chunk)))
        found.update((r[0], r[1]) for r in rows)
    return found


async def _existing(conn: AsyncConnection, column: Any, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(r[0] for r in await conn.execute(select(column).where(column.in_(chunk))))
    return found


def _user_row(u: DirectoryUser) -> dict[str, Any]:
    return {
        "user_id": u.user_id,
        "username": u.username,
        "display_name": u.display_name,
        "email": u.email,
        "role": u.role,
        "groups": list(u.groups),
        "schedule": u.schedule,
        "active": u.active,
        "managed_by": u.managed_by,
        "created_ts": u.created_ts,
        "updated_ts": u.updated_ts,
        "deactivated_ts": u.deactivated_ts,
        "active_since_ts": u.active_since_ts,
        "schedule_since_ts": u.schedule_since_ts,
    }


def _channel_row(c: DirectoryChannel) -> dict[str, Any]:
    return {
        "room_id": c.room_id,
        "name": c.name,
        "alias": c.alias,
        "display_name": c.display_name,
        "topic": c.topic,
        "closed": c.closed,
        "rights": dict(c.rights),
        "managed_by": c.managed_by,
        "created_ts": c.created_ts,
        "updated_ts": c.updated_ts,
        "closed_ts": c.closed_ts,
    }
