"""Roles in the Carebridge database: definitions (written by provisioning), the rota,
assignments by hand, who holds each role as last applied, role rooms and away status.

`facts()` builds the pure policy's input (policy.roles.RoleFacts). The rota can be a year
of shifts for fifty roles, so its index is kept in memory and rebuilt only when
provisioning has replaced it (the `_rota_revision` settings row changes with it).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.db.role_tables import away_status, role_assignments, role_holders, role_rooms, role_rota
from bridge.db.tables import directory_settings
from policy.roles import Away, Cover, CoverIndex, CoverSource, RoleFacts, RoleSpec

ROLES_KEY = "roles"
ROTA_REVISION_KEY = "_rota_revision"


def role_spec(name: str, raw: Mapping[str, Any]) -> RoleSpec:
    """A stored role definition (see provisioning's desired roles) as the policy's RoleSpec."""
    return RoleSpec(
        name=name,
        display_name=str(raw.get("display_name") or name),
        members=frozenset(str(m) for m in raw.get("members") or ()),
        backup=raw.get("backup"),
        escalation_ms=int(raw.get("escalation_minutes", 5)) * 60_000,
        self_assign=bool(raw.get("self_assign", False)),
    )


@dataclass(frozen=True)
class RotaRow:
    """One stored stretch of the rota."""

    role: str
    user_id: str
    start_ts: int
    end_ts: int
    ref: str


@dataclass(frozen=True)
class RoleRoom:
    """A conversation room with a role (target "role:NAME") or a forwarded-to person."""

    room_id: str
    target: str
    requester: str

    @property
    def role(self) -> str | None:
        """The role's name, if the target is a role."""
        return self.target.removeprefix("role:") if self.target.startswith("role:") else None


class RoleStore:
    """Reads and writes of the role tables (SQLite and PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._rota: tuple[object, dict[str, CoverIndex]] | None = None
        # Every role room's id (rooms are only ever added, by this process), so the
        # consumer's "is this a role room?" for every message needs no query.
        self._room_ids: set[str] | None = None
        self._rooms_generation = 0  # bumped by every add: a load racing an add is not kept

    # --- definitions and facts ---------------------------------------------------------
    async def specs(self) -> dict[str, RoleSpec]:
        """Every role defined in the org file."""
        async with self.engine.connect() as conn:
            raw = await conn.scalar(
                select(directory_settings.c.value).where(directory_settings.c.key == ROLES_KEY)
            )
        return {name: role_spec(name, value) for name, value in (raw or {}).items()}

    async def _rota_indexes(self) -> dict[str, CoverIndex]:
        async with self.engine.connect() as conn:
            revision = await conn.scalar(
                select(directory_settings.c.value).where(directory_settings.c.key == ROTA_REVISION_KEY)
            )
            if self._rota is not None and revision is not None and self._rota[0] == revision:
                return self._rota[1]
            rows = await conn.execute(select(role_rota))
            by_role: dict[str, list[Cover]] = defaultdict(list)
            for r in rows:
                by_role[r.role].append(Cover(r.start_ts, r.end_ts, r.user_id, CoverSource.ROTA, r.ref))
        indexes = {role: CoverIndex(covers) for role, covers in by_role.items()}
        self._rota = (revision, indexes) if revision is not None else None
        return indexes

    async def facts(self, now_ms: int) -> dict[str, RoleFacts]:
        """Every role with its rota, hand assignments and releases (those not yet over)."""
        specs = await self.specs()
        rota = await self._rota_indexes()
        manual: dict[str, list[Cover]] = defaultdict(list)
        released: dict[str, list[Cover]] = defaultdict(list)
        query = select(role_assignments).where(role_assignments.c.end_ts > now_ms)
        async with self.engine.connect() as conn:
            for r in await conn.execute(query):
                cover = Cover(r.start_ts, r.end_ts, r.user_id, _source(r.source), f"assignment:{r.id}")
                (released if r.source == "released" else manual)[r.role].append(cover)
        return {
            name: RoleFacts(
                spec, rota.get(name, CoverIndex()), CoverIndex(manual[name]), CoverIndex(released[name])
            )
            for name, spec in specs.items()
        }

    # --- the rota (provisioning) ----------------------------------------------------
    async def replace_rota(self, rows: Iterable[RotaRow]) -> None:
        """Make the stored rota exactly `rows` (one transaction) and mark it changed."""
        values = [r.__dict__ for r in rows]
        async with self.engine.begin() as conn:
            await conn.execute(delete(role_rota))
            for start in range(0, len(values), 1000):
                await conn.execute(insert(role_rota), values[start : start + 1000])
            token = {"token": secrets.token_hex(8)}
            t = directory_settings
            done = await conn.execute(
                update(t).where(t.c.key == ROTA_REVISION_KEY).values(value=token, updated_ts=0)
            )
            if not done.rowcount:
                await conn.execute(insert(t).values(key=ROTA_REVISION_KEY, value=token, updated_ts=0))

    # --- assignments by hand ------------------------------------------------------------
    async def assign(self, role: str, user_id: str, start_ms: int, end_ms: int, source: str, by: str) -> int:
        """Record a holding by hand (`source` "assigned" or "self"); returns its id."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(role_assignments).values(
                    role=role,
                    user_id=user_id,
                    start_ts=start_ms,
                    end_ts=end_ms,
                    source=source,
                    by_user=by,
                    created_ts=start_ms,
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def release(self, role: str, user_id: str, now_ms: int, by: str, rota_until: int | None) -> bool:
        """End `user_id`'s holding of `role` now: hand assignments end, and a rota stretch
        in force (ending at `rota_until`) is given up. False if they held nothing."""
        t = role_assignments
        async with self.engine.begin() as conn:
            ended = await conn.execute(
                update(t)
                .where(
                    t.c.role == role,
                    t.c.user_id == user_id,
                    t.c.source != "released",
                    t.c.start_ts <= now_ms,
                    t.c.end_ts > now_ms,
                )
                .values(end_ts=now_ms)
            )
            if rota_until is not None and rota_until > now_ms:
                await conn.execute(
                    insert(t).values(
                        role=role,
                        user_id=user_id,
                        start_ts=now_ms,
                        end_ts=rota_until,
                        source="released",
                        by_user=by,
                        created_ts=now_ms,
                    )
                )
                return True
        return bool(ended.rowcount)

    # --- holders as applied -------------------------------------------------------------
    async def holders(self) -> dict[str, dict[str, tuple[int, str]]]:
        """role -> {user_id: (since_ts, source)} as the bridge last applied it."""
        found: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
        async with self.engine.connect() as conn:
            for r in await conn.execute(select(role_holders)):
                found[r.role][r.user_id] = (r.since_ts, r.source)
        return dict(found)

    async def set_holders(self, role: str, users: Mapping[str, str], now_ms: int) -> None:
        """Make the applied holders of `role` exactly `users` (user -> source)."""
        t = role_holders
        async with self.engine.begin() as conn:
            kept = {r.user_id for r in await conn.execute(select(t.c.user_id).where(t.c.role == role))}
            gone = kept - set(users)
            if gone:
                await conn.execute(delete(t).where(t.c.role == role, t.c.user_id.in_(gone)))
            new = [
                {"role": role, "user_id": u, "since_ts": now_ms, "source": s}
                for u, s in users.items()
                if u not in kept
            ]
            if new:
                await conn.execute(insert(t), new)

    # --- role rooms ---------------------------------------------------------------------
    async def room_for(self, target: str, requester: str) -> RoleRoom | None:
        """The conversation room of `requester` with `target`, if there is one."""
        t = role_rooms
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(t).where(t.c.target == target, t.c.requester == requester))
            ).first()
        return RoleRoom(row.room_id, row.target, row.requester) if row else None

    async def room(self, room_id: str) -> RoleRoom | None:
        """The role room with this id, or None if the room is not one."""
        ids = self._room_ids
        if ids is None:
            generation = self._rooms_generation
            async with self.engine.connect() as conn:
                ids = {r[0] for r in await conn.execute(select(role_rooms.c.room_id))}
            if generation == self._rooms_generation:
                self._room_ids = ids
        if room_id not in ids:
            return None
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(role_rooms).where(role_rooms.c.room_id == room_id))).first()
        return RoleRoom(row.room_id, row.target, row.requester) if row else None

    async def rooms_of(self, target: str) -> list[RoleRoom]:
        """Every conversation room with `target`."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(role_rooms).where(role_rooms.c.target == target))
            return [RoleRoom(r.room_id, r.target, r.requester) for r in rows]

    async def add_room(self, room_id: str, target: str, requester: str, now_ms: int) -> None:
        """Remember a new conversation room."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(role_rooms).values(
                    room_id=room_id, target=target, requester=requester, created_ts=now_ms
                )
            )
        self._rooms_generation += 1
        if self._room_ids is not None:
            self._room_ids.add(room_id)

    # --- away (do not disturb) ----------------------------------------------------------
    async def away(self, now_ms: int) -> dict[str, Away]:
        """Everyone away now."""
        t = away_status
        query = select(t).where((t.c.until_ts.is_(None)) | (t.c.until_ts > now_ms))
        async with self.engine.connect() as conn:
            return {r.user_id: Away(r.user_id, r.forward_to, r.until_ts) for r in await conn.execute(query)}

    async def set_away(self, user_id: str, now_ms: int, until_ms: int | None, forward_to: str | None) -> None:
        """Mark `user_id` away (replacing an earlier mark)."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(away_status).where(away_status.c.user_id == user_id))
            await conn.execute(
                insert(away_status).values(
                    user_id=user_id, since_ts=now_ms, until_ts=until_ms, forward_to=forward_to
                )
            )

    async def clear_away(self, user_id: str) -> bool:
        """Back at work; False if they were not away."""
        async with self.engine.begin() as conn:
            done = await conn.execute(delete(away_status).where(away_status.c.user_id == user_id))
        return bool(done.rowcount)


def _source(value: str) -> CoverSource:
    if value == "self":
        return CoverSource.SELF
    if value == "released":
        return CoverSource.ROTA
    return CoverSource.ASSIGNED
