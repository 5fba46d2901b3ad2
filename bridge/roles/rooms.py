"""Role rooms on Matrix: one conversation room per (role, person writing to it), whose
members the bot keeps as {the person, the role's current holder(s), the bot}.

The bot creates the room (so it holds the power to change membership), marks itself a
service member (`io.element.functional_members`: Element and the Carebridge web client
leave it out of member counts, so a person and one holder still make a one-to-one room
that both can call), keeps history `shared` (the next holder reads the conversation so
far), and joins people through the admin API. Ids only in logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import quote

from mautrix.api import Method, Path
from mautrix.appservice import IntentAPI
from mautrix.errors import MatrixRequestError

from bridge.core.clock import now_ms
from bridge.core.room_ops import FUNCTIONAL_MEMBERS, joined_members
from bridge.roles.store import RoleRoom, RoleStore
from policy.event_types import ROLE_ROOM_STATE_TYPE

log = logging.getLogger(__name__)


class RoleRooms:
    """Creates role rooms and keeps their membership."""

    def __init__(self, intent: IntentAPI, store: RoleStore) -> None:
        self.intent = intent
        self.store = store
        self.bot = str(intent.mxid)

    async def ensure(self, target: str, requester: str, name: str, readers: Iterable[str]) -> RoleRoom:
        """The requester's room with `target` ("role:NAME" or a user id), created if needed,
        with the requester and `readers` in it."""
        room = await self.store.room_for(target, requester)
        if room is None:
            room_id = await self._create(target, requester, name)
            try:
                await self.store.add_room(room_id, target, requester, now_ms())
                room = RoleRoom(room_id, target, requester)
            except Exception:
                found = await self.store.room_for(target, requester)
                if found is None:
                    raise
                room = found
        await self.set_members(room, set(readers))
        return room

    async def _create(self, target: str, requester: str, name: str) -> str:
        body = {
            "preset": "private_chat",
            "visibility": "private",
            "name": name,
            "topic": "Messages here reach whoever holds this role now." if target.startswith("role:") else "",
            "power_level_content_override": {"users": {self.bot: 100}, "users_default": 0, "invite": 100},
            "initial_state": [
                {
                    "type": "m.room.history_visibility",
                    "state_key": "",
                    "content": {"history_visibility": "shared"},
                },
                {"type": FUNCTIONAL_MEMBERS, "state_key": "", "content": {"service_members": [self.bot]}},
                {
                    "type": ROLE_ROOM_STATE_TYPE,
                    "state_key": "",
                    "content": {"target": target, "requester": requester, "display_name": name},
                },
            ],
        }
        data = await self.intent.api.request(Method.POST, Path.v3.createRoom, body)
        room_id = str(data["room_id"])
        log.info("created role room %s for %s", room_id, target if target.startswith("role:") else "a person")
        return room_id

    async def set_members(self, room: RoleRoom, readers: set[str]) -> tuple[set[str], set[str]]:
        """Make the room's members {requester, readers, bot}; returns (joined, removed)."""
        want = {room.requester, *readers}
        present = set(await joined_members(self.intent, room.room_id)) - {self.bot}
        added, removed = want - present, present - want
        for user_id in sorted(added):
            try:
                await self.intent.api.request(
                    Method.POST,
                    f"/_synapse/admin/v1/join/{quote(room.room_id, safe='')}",
                    {"user_id": user_id},
                )
            except MatrixRequestError as exc:
                log.warning("joining %s to role room %s failed: %s", user_id, room.room_id, exc.errcode)
        for user_id in sorted(removed):
            try:
                await self.intent.api.request(
                    Method.POST,
                    Path.v3.rooms[room.room_id].kick,
                    {"user_id": user_id, "reason": "hand-over: no longer holds the role"},
                )
            except MatrixRequestError as exc:
                log.warning("removing %s from role room %s failed: %s", user_id, room.room_id, exc.errcode)
        return added, removed
