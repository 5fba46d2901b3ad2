"""The DM registry: which rooms are direct messages, who is in them, and `m.direct`.

A room is a DM when the Carebridge module marked its m.room.create with
`org.carebridge.kind: dm` (see policy/rooms.py), or, for rooms made before the module
did so, when someone was invited with `is_direct: true`. Every membership change in a DM
updates the participants and, through the module's `m.direct` endpoint
(policy/module/direct.py), each participant's `m.direct` account data, so every client
lists the conversation under People for everyone in it, including members added later.
"""

from __future__ import annotations

import logging
from typing import Any

from mautrix.api import Method
from mautrix.appservice import IntentAPI
from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.writer import ArchivedEvent
from bridge.core.clock import now_ms
from bridge.db.tables import dm_members, dm_rooms
from policy.direct import DIRECT_PATH, direct_additions
from policy.event_types import KIND_KEY
from policy.rooms import RoomKind

log = logging.getLogger(__name__)

PARTICIPATING = ("invite", "join")

# The event types the `dms` consumer handles (the dispatcher hides the rest).
DM_EVENT_TYPES = frozenset({"m.room.create", "m.room.member"})


class DmRegistry:
    """Consumer `dms`: records DM rooms and members, keeps m.direct right."""

    def __init__(self, engine: AsyncEngine, intent: IntentAPI) -> None:
        self.engine = engine
        self.intent = intent
        self.bot = str(intent.mxid)

    async def is_dm(self, room_id: str) -> bool:
        """True if the room is a registered DM."""
        async with self.engine.connect() as conn:
            return bool(await conn.scalar(select(dm_rooms.c.room_id).where(dm_rooms.c.room_id == room_id)))

    async def participants(self, room_id: str) -> list[str]:
        """Everyone joined or invited (the bot is never a participant)."""
        query = select(dm_members.c.user_id).where(
            dm_members.c.room_id == room_id, dm_members.c.membership.in_(PARTICIPATING)
        )
        async with self.engine.connect() as conn:
            return sorted(r[0] for r in await conn.execute(query))

    async def handle(self, archived: ArchivedEvent) -> None:
        """Dispatcher handler (idempotent)."""
        event = archived.event
        etype = event.get("type")
        raw_content = event.get("content")
        content: dict[str, Any] = raw_content if isinstance(raw_content, dict) else {}
        room_id = str(event.get("room_id"))
        if etype == "m.room.create":
            if content.get(KIND_KEY) == str(RoomKind.DM) and event.get("sender") != self.bot:
                await self._register(
                    room_id, str(event.get("sender")), int(event.get("origin_server_ts") or 0)
                )
            return
        if etype != "m.room.member" or not isinstance(event.get("state_key"), str):
            return
        if not await self.is_dm(room_id):
            if content.get("is_direct") is True and content.get("membership") == "invite":
                await self._register(
                    room_id, str(event.get("sender")), int(event.get("origin_server_ts") or 0)
                )
                await self._record_member(room_id, str(event.get("sender")), "join", event)
            else:
                return
        target = str(event["state_key"])
        if target == self.bot:
            return
        await self._record_member(room_id, target, str(content.get("membership")), event)
        if content.get("membership") in PARTICIPATING:
            await self.sync_direct(room_id)

    async def _register(self, room_id: str, creator: str, ts: int) -> None:
        async with self.engine.begin() as conn:
            if await conn.scalar(select(dm_rooms.c.room_id).where(dm_rooms.c.room_id == room_id)):
                return
            await conn.execute(insert(dm_rooms).values(room_id=room_id, created_by=creator, created_ts=ts))
        log.info("registered DM %s", room_id)

    async def _record_member(
        self, room_id: str, user_id: str, membership: str, event: dict[str, Any]
    ) -> None:
        ts = int(event.get("origin_server_ts") or now_ms())
        key = and_(dm_members.c.room_id == room_id, dm_members.c.user_id == user_id)
        async with self.engine.begin() as conn:
            exists = await conn.scalar(select(dm_members.c.user_id).where(key))
            if exists:
                await conn.execute(update(dm_members).where(key).values(membership=membership, updated_ts=ts))
            else:
                await conn.execute(
                    insert(dm_members).values(
                        room_id=room_id, user_id=user_id, membership=membership, first_ts=ts, updated_ts=ts
                    )
                )

    async def sync_direct(self, room_id: str) -> None:
        """Make every participant's m.direct list this room under each other participant."""
        people = await self.participants(room_id)
        for user_id in people:
            additions = direct_additions(people, user_id, room_id)
            if not additions:
                continue
            await self.intent.api.request(Method.POST, DIRECT_PATH, {"user_id": user_id, "rooms": additions})
