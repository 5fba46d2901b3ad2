"""The administrators' room (#carebridge-admins): its members are exactly the active
`role: admin` people (and the bot).

Missing-staff alerts, daily summaries, refused-command notices, sign-in records and
published chain heads all land in that room, so an administrator must be in it from
their first day (45 CFR 164.308(a)(1)(ii)(D) information system activity review). Run
after every change to who is an administrator: `provision apply`, `user add`,
`user deactivate`. The Synapse module (policy/module/admin_room.py) refuses everyone
else at the door, reading the same list from policy.json.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from mautrix.types import RoomID, UserID

from bridge.db.directory import DirectorySnapshot
from provisioning.org.admin_api import SynapseClient
from provisioning.org.current import RoomSnapshot
from provisioning.org.desired import alias_for

log = logging.getLogger(__name__)


@dataclass
class AdminRoomResult:
    """What a sync did; `room_id` is None when the room does not exist yet."""

    room_id: RoomID | None = None
    joined: list[UserID] = field(default_factory=list)
    removed: list[UserID] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the terminal (ids only)."""
        if self.room_id is None:
            return (
                "The administrators' room does not exist yet (the bridge creates it when it "
                "starts); run `carebridge provision apply` again once Carebridge is up."
            )
        parts = []
        if self.joined:
            parts.append("joined " + ", ".join(self.joined))
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        return "Administrators' room: " + ("; ".join(parts) if parts else "up to date") + "."


def admins_of(snapshot: DirectorySnapshot) -> set[UserID]:
    """Active people with role admin (the same list policy.json gives the module)."""
    return {u.user_id for u in snapshot.users.values() if u.active and u.role == "admin"}


async def sync_admin_room(
    client: SynapseClient, snapshot: DirectorySnapshot, alias_localpart: str, server_name: str, bot: UserID
) -> AdminRoomResult:
    """Join every administrator who is not in the room; remove everyone else (except the
    bot). Deactivated accounts already left every room when Synapse deactivated them."""
    room_id = await client.find_alias(alias_for(alias_localpart, server_name))
    result = AdminRoomResult(room_id)
    if room_id is None:
        return result
    room = RoomSnapshot.from_state(room_id, await client.room_state(room_id))
    admins = admins_of(snapshot)
    for user_id in sorted(admins):
        if room.members.get(user_id) != "join":
            await client.force_join(room_id, user_id)
            result.joined.append(user_id)
            log.info("joined administrator %s to the administrators' room %s", user_id, room_id)
    for user_id, membership in sorted(room.members.items()):
        if membership in ("join", "invite") and user_id not in admins and user_id != bot:
            await client.kick(room_id, user_id, "no longer a Carebridge administrator")
            result.removed.append(user_id)
            log.info("removed %s from the administrators' room %s", user_id, room_id)
    return result
