"""What is there now: Synapse's accounts and channel rooms, and the Carebridge directory.

Reads only (GETs): one paged user list, one alias lookup per channel the directory does
not know yet, and one room-state read per channel room, run concurrently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mautrix.errors import MForbidden, MNotFound
from mautrix.types import RoomID, UserID

from bridge.db.directory import Directory, DirectorySnapshot
from policy.event_types import CHANNEL_STATE_TYPE
from provisioning.org.admin_api import SynapseClient, SynapseUser
from provisioning.org.desired import DesiredOrg


@dataclass(frozen=True)
class RoomSnapshot:
    """The state of one channel room that planning looks at."""

    room_id: RoomID
    members: dict[UserID, str]
    power_levels: dict[str, Any] | None = None
    name: str | None = None
    topic: str | None = None
    history_visibility: str | None = None
    join_rule: str | None = None
    channel_state: dict[str, Any] | None = None

    @classmethod
    def from_state(cls, room_id: RoomID, state: list[dict[str, Any]]) -> RoomSnapshot:
        """Build from the admin API's list of current state events."""
        members: dict[UserID, str] = {}
        by_type: dict[str, dict[str, Any]] = {}
        for event in state:
            content = event.get("content") or {}
            if event.get("type") == "m.room.member":
                members[UserID(event["state_key"])] = str(content.get("membership"))
            elif event.get("state_key") == "":
                by_type[event["type"]] = content
        return cls(
            room_id=room_id,
            members=members,
            power_levels=by_type.get("m.room.power_levels"),
            name=by_type.get("m.room.name", {}).get("name"),
            topic=by_type.get("m.room.topic", {}).get("topic"),
            history_visibility=by_type.get("m.room.history_visibility", {}).get("history_visibility"),
            join_rule=by_type.get("m.room.join_rules", {}).get("join_rule"),
            channel_state=by_type.get(CHANNEL_STATE_TYPE),
        )


@dataclass(frozen=True)
class CurrentState:
    """Synapse + directory + policy file, as read before planning."""

    synapse_users: dict[UserID, SynapseUser]
    directory: DirectorySnapshot
    rooms: dict[str, RoomSnapshot] = field(default_factory=dict)
    policy_file_text: str | None = None
    # Accounts whose initial password an interrupted apply wrote down and never delivered.
    pending_passwords: frozenset[UserID] = frozenset()


async def _room(client: SynapseClient, room_id: RoomID) -> RoomSnapshot | None:
    try:
        return RoomSnapshot.from_state(room_id, await client.room_state(room_id))
    except (MNotFound, MForbidden):
        return None


async def read_current(
    client: SynapseClient,
    directory: Directory,
    desired: DesiredOrg,
    policy_path: Path,
    pending_passwords: frozenset[UserID] = frozenset(),
) -> CurrentState:
    """Read everything planning needs; makes no writes."""
    users_task = asyncio.ensure_future(client.list_users())
    snapshot = await directory.snapshot()
    synapse_users = {u.user_id: u for u in await users_task}

    room_ids: dict[str, RoomID] = {}
    unknown = [c for name, c in desired.channels.items() if name not in snapshot.channels]
    for name, row in snapshot.channels.items():
        if name in desired.channels or (row.managed_by == "org" and not row.closed):
            room_ids[name] = row.room_id
    resolved = await asyncio.gather(*(client.find_alias(c.alias) for c in unknown))
    for channel, room_id in zip(unknown, resolved, strict=True):
        if room_id is not None:
            room_ids[channel.name] = room_id
    names = list(room_ids)
    states = await asyncio.gather(*(_room(client, room_ids[n]) for n in names))
    rooms = {n: s for n, s in zip(names, states, strict=True) if s is not None}
    return CurrentState(synapse_users, snapshot, rooms, _read_text(policy_path), pending_passwords)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
