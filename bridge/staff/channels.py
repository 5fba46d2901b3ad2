"""Channels created from a client: registered like provisioned ones, given channel policy.

The Synapse module lets only channel creators make a non-DM room, marks its m.room.create
`org.carebridge.kind: channel`, and invites the bot with power above the creator (see
policy/rooms.py). When the bot's invite reaches this consumer, the bridge joins, applies
the organisation's channel state exactly as provisioning does for org-file channels
(policy/channel_power.py: power levels with redaction reserved to the bot, the creator as
moderator, `history_visibility: shared`, invite-only, no guests, the
`org.carebridge.channel` rights event) and records the channel in the directory with
`managed_by: client` (provisioning never closes or rewrites those). Later joins and
leaves keep the directory's member list current. Handlers are idempotent.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from mautrix.api import Method, Path
from mautrix.appservice import IntentAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import RoomID, UserID

from bridge.archive.writer import ArchivedEvent
from bridge.core.clock import now_ms
from bridge.core.room_ops import admin_room_path, send_state
from bridge.db.directory import Directory, DirectoryChannel
from policy.channel_power import Access, channel_power_levels, channel_state_content
from policy.event_types import CHANNEL_STATE_TYPE, KIND_KEY
from policy.rooms import RoomKind

log = logging.getLogger(__name__)

_SLUG = re.compile(r"[^a-z0-9]+")


def channel_name(alias: str | None, display_name: str | None, room_id: str, taken: set[str]) -> str:
    """A unique directory name: the alias localpart, else a slug of the room name, else
    the room id; `-2`, `-3`... when the name is already used by another channel."""
    base = ""
    if alias:
        base = alias.lstrip("#").split(":", 1)[0].lower()
    if not base and display_name:
        base = _SLUG.sub("-", display_name.lower()).strip("-")[:48]
    if not base:
        base = "channel-" + _SLUG.sub("", room_id.lower())[:12]
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _state_map(events: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(e.get("type")), str(e.get("state_key"))): e for e in events if isinstance(e, dict)}


# The event types the `channels` consumer handles (the dispatcher hides the rest).
CHANNEL_EVENT_TYPES = frozenset({"m.room.member"})


class ClientChannels:
    """Consumer `channels`: sets up and tracks channels that staff created in a client."""

    def __init__(self, directory: Directory, intent: IntentAPI) -> None:
        self.directory = directory
        self.intent = intent
        self.bot = str(intent.mxid)

    async def handle(self, archived: ArchivedEvent) -> None:
        """Dispatcher handler."""
        event = archived.event
        if event.get("type") != "m.room.member" or not isinstance(event.get("state_key"), str):
            return
        room_id = str(event.get("room_id"))
        membership = (event.get("content") or {}).get("membership")
        if event["state_key"] == self.bot:
            if membership == "invite" and event.get("sender") != self.bot:
                await self.set_up(room_id)
            return
        channel = await self.directory.channel_by_room(room_id)
        if channel is not None and channel.managed_by == "client":
            await self._record_members(room_id, await self._room_state(room_id))

    async def _room_state(self, room_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        data = await self.intent.api.request(Method.GET, admin_room_path(room_id, "state"))
        return _state_map(data.get("state", []) if isinstance(data, dict) else [])

    async def set_up(self, room_id: str) -> None:
        """Join a new client-created channel and give it the organisation's channel state."""
        state = await self._room_state(room_id)
        create = state.get(("m.room.create", ""), {})
        creator = str(create.get("sender"))
        if (create.get("content") or {}).get(KIND_KEY) != str(RoomKind.CHANNEL) or creator == self.bot:
            return
        try:
            await self.intent.api.request(Method.POST, Path.v3.join[room_id], {})
        except MatrixRequestError as exc:
            log.warning("could not join client-created channel %s: %s", room_id, exc.errcode)
            return
        existing = await self.directory.channel_by_room(room_id)
        access = self._access(state, creator)
        if existing is not None:
            name = existing.name
        else:
            alias = (state.get(("m.room.canonical_alias", ""), {}).get("content") or {}).get("alias")
            display = (state.get(("m.room.name", ""), {}).get("content") or {}).get("name")
            taken = {name for name in await self._taken_names()}
            name = channel_name(alias, display, room_id, taken)
        await send_state(
            self.intent,
            room_id,
            "m.room.power_levels",
            channel_power_levels(self.bot, access, admins=[creator]),
        )
        await send_state(self.intent, room_id, CHANNEL_STATE_TYPE, channel_state_content(name, access))
        await send_state(self.intent, room_id, "m.room.history_visibility", {"history_visibility": "shared"})
        await send_state(self.intent, room_id, "m.room.join_rules", {"join_rule": "invite"})
        await send_state(self.intent, room_id, "m.room.guest_access", {"guest_access": "forbidden"})
        if existing is None:
            await self._register(room_id, name, creator, state)
        await self._record_members(room_id, state)
        log.info("set up client-created channel %s (creator %s)", room_id, creator)

    def _access(self, state: dict[tuple[str, str], dict[str, Any]], creator: str) -> dict[str, Access]:
        """Everyone joined or invited posts (a client channel has no respond/read roles
        until an administrator adds it to the org file)."""
        access: dict[str, Access] = {creator: "post"}
        for (etype, key), event in state.items():
            membership = (event.get("content") or {}).get("membership")
            if etype == "m.room.member" and key != self.bot and membership in ("join", "invite"):
                access[key] = "post"
        return access

    async def _taken_names(self) -> set[str]:
        snapshot = await self.directory.snapshot()
        return set(snapshot.channels)

    async def _register(
        self, room_id: str, name: str, creator: str, state: dict[tuple[str, str], dict[str, Any]]
    ) -> None:
        alias = (state.get(("m.room.canonical_alias", ""), {}).get("content") or {}).get("alias") or ""
        display = (state.get(("m.room.name", ""), {}).get("content") or {}).get("name") or name
        topic = (state.get(("m.room.topic", ""), {}).get("content") or {}).get("topic") or ""
        ts = now_ms()
        await self.directory.upsert_channels(
            [
                DirectoryChannel(
                    room_id=RoomID(room_id),
                    name=name,
                    alias=str(alias),
                    display_name=str(display),
                    topic=str(topic),
                    closed=False,
                    rights={"created_by": creator, "post": ["everyone"], "respond": []},
                    managed_by="client",
                    created_ts=ts,
                    updated_ts=ts,
                )
            ]
        )

    async def _record_members(self, room_id: str, state: dict[tuple[str, str], dict[str, Any]]) -> None:
        members = {
            UserID(key): "post"
            for (etype, key), event in state.items()
            if etype == "m.room.member"
            and key != self.bot
            and (event.get("content") or {}).get("membership") in ("join", "invite")
        }
        await self.directory.replace_channel_members({RoomID(room_id): members})
