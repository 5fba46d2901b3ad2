"""Start-up chores against Synapse: the bot user exists and is admin, the admins' room exists."""

from __future__ import annotations

import asyncio
import logging

from mautrix.appservice import IntentAPI
from mautrix.errors import MForbidden, MNotFound
from mautrix.types import RoomAlias, RoomCreatePreset, RoomID

from bridge.core.synapse_http import ADMIN

log = logging.getLogger(__name__)


async def wait_for_bot_admin(intent: IntentAPI, within: float = 60.0) -> None:
    """Wait until the Carebridge Synapse module has made the bot a server admin.

    The bot needs the admin API to provision accounts, revoke sessions and reconcile the
    archive; the module grants it when the bot registers (and at Synapse start-up).
    """
    deadline = asyncio.get_running_loop().time() + within
    path = f"{ADMIN}/v2/users/{intent.mxid}"
    while True:
        try:
            await intent.api.request("GET", path)
            return
        except MForbidden:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(
                    "the bot is not a Synapse admin: is policy.module.entry.CarebridgeModule "
                    "listed under modules: in homeserver.yaml?"
                ) from None
            await asyncio.sleep(0.5)


async def ensure_admin_room(intent: IntentAPI, alias_localpart: str, server_name: str) -> RoomID:
    """Return the administrators' room, creating it (invite-only, history kept) if absent."""
    alias = RoomAlias(f"#{alias_localpart}:{server_name}")
    try:
        found = await intent.resolve_room_alias(alias)
        return found.room_id
    except MNotFound:
        pass
    room_id = await intent.create_room(
        alias_localpart=alias_localpart,
        preset=RoomCreatePreset.PRIVATE,
        name="Carebridge administrators",
        topic="Compliance alerts, reports and audit records. Type !help.",
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": "shared"},
            },
            {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
        ],
    )
    log.info("created administrators' room %s", room_id)
    return room_id
