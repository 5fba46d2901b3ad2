"""Small, explicit Matrix operations the bot performs in staff rooms.

Raw client/admin API requests through the bot's mautrix HTTP API (no hidden state-store
magic), with deterministic transaction ids where a retry must not send twice.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from mautrix.api import Method, Path
from mautrix.appservice import IntentAPI
from mautrix.errors import MatrixRequestError, MNotFound
from mautrix.types import RoomID

from bridge.core.synapse_http import ADMIN

log = logging.getLogger(__name__)

# Element and others leave "service members" out of member counts and DM detection.
FUNCTIONAL_MEMBERS = "io.element.functional_members"


def admin_room_path(room_id: str, tail: str) -> str:
    """`/_synapse/admin/v1/rooms/<room>/<tail>` with the room id escaped."""
    return f"{ADMIN}/v1/rooms/{quote(room_id, safe='')}/{tail}"


async def joined_members(intent: IntentAPI, room_id: str) -> list[str]:
    """Who is joined to a room now (admin API: works whether or not the bot is in it)."""
    data = await intent.api.request(Method.GET, admin_room_path(room_id, "members"))
    members = data.get("members") if isinstance(data, dict) else None
    return [m for m in members if isinstance(m, str)] if isinstance(members, list) else []


async def get_state(
    intent: IntentAPI, room_id: str, event_type: str, state_key: str = ""
) -> dict[str, Any] | None:
    """A state event's content as the bot sees it, or None."""
    try:
        data = await intent.api.request(
            Method.GET, Path.v3.rooms[RoomID(room_id)].state[event_type][state_key]
        )
    except MNotFound:
        return None
    return data if isinstance(data, dict) else None


async def send_state(
    intent: IntentAPI, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
) -> str:
    """Send a state event as the bot; returns its event id."""
    resp = await intent.api.request(
        Method.PUT, Path.v3.rooms[RoomID(room_id)].state[event_type][state_key], content
    )
    return str(resp["event_id"])


async def send_event(
    intent: IntentAPI, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
) -> str:
    """Send a message event as the bot; the same txn_id never sends twice."""
    resp = await intent.api.request(
        Method.PUT, Path.v3.rooms[RoomID(room_id)].send[event_type][txn_id], content
    )
    return str(resp["event_id"])


async def ensure_bot_joined(intent: IntentAPI, room_id: str) -> None:
    """Put the bot in a room it is not in (it must speak there: a hangup, a notice).

    Staff rooms are invite-only and the bot is not invited to DMs, so the bot asks the
    admin API to make it a room admin (Synapse has the room's most powerful local member
    grant the bot their level and invite it), joins, and marks itself a service member
    so clients keep treating a one-to-one DM as one-to-one.
    """
    bot = str(intent.mxid)
    if bot in await joined_members(intent, room_id):
        return
    try:
        await intent.api.request(Method.POST, admin_room_path(room_id, "make_room_admin"), {"user_id": bot})
    except MatrixRequestError as exc:
        log.warning("make_room_admin for the bot in %s failed: %s", room_id, exc.errcode)
    await intent.api.request(Method.POST, Path.v3.join[room_id], {})
    log.info("bot joined %s", room_id)
    try:
        current = await get_state(intent, room_id, FUNCTIONAL_MEMBERS) or {}
        service = [m for m in current.get("service_members", []) if isinstance(m, str)]
        if bot not in service:
            await send_state(
                intent, room_id, FUNCTIONAL_MEMBERS, {**current, "service_members": [*service, bot]}
            )
    except MatrixRequestError as exc:
        log.warning("could not mark the bot as a service member in %s: %s", room_id, exc.errcode)
