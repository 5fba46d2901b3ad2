"""`carebridge user add --group G`: the new person joins the channels of group G, as
the org file would have put them there.

Each open org channel's rights (`members`, `post`, `respond`, kept in the directory)
are resolved again against the active directory people including the newcomer; where the
newcomer is selected, the room's power levels and channel state are refreshed (so a
poster can post and a respond-only member is known to the module) and they are joined.
"""

from __future__ import annotations

import logging

from mautrix.types import UserID

from bridge.db.directory import DirectorySnapshot
from policy.channel_power import Access, channel_power_levels, channel_state_content
from policy.event_types import CHANNEL_STATE_TYPE
from provisioning.org.admin_api import SynapseClient
from provisioning.org.desired import channel_access
from provisioning.org.session import Session

log = logging.getLogger(__name__)


async def join_group_channels(session: Session, user_id: UserID) -> list[str]:
    """Join `user_id` to every open org channel its role/groups select; returns the
    channel names joined (the directory's member lists are updated too)."""
    snapshot: DirectorySnapshot = await session.directory.snapshot()
    people = [u for u in snapshot.users.values() if u.active]
    admins = {u.user_id for u in people if u.role == "admin" and u.managed_by == "org"}
    joined: list[str] = []
    for name, channel in sorted(snapshot.channels.items()):
        if channel.closed or channel.managed_by != "org":
            continue
        rights = channel.rights
        access = channel_access(
            rights.get("members", []), rights.get("post", []), rights.get("respond", []), people
        )
        if user_id not in access:
            continue
        await _apply_rights(session.client, session.bot_user_id, channel.room_id, dict(access), admins, name)
        await session.client.force_join(channel.room_id, user_id)
        await session.directory.replace_channel_members({channel.room_id: dict(access)})
        joined.append(name)
        log.info("joined %s to channel room %s", user_id, channel.room_id)
    return joined


async def _apply_rights(
    client: SynapseClient,
    bot: UserID,
    room_id: str,
    access: dict[UserID, Access],
    admins: set[UserID],
    name: str,
) -> None:
    power = channel_power_levels(bot, access, admins & set(access), closed=False)
    state = channel_state_content(name, access, closed=False)
    await client.send_state(room_id, "m.room.power_levels", power)
    await client.send_state(room_id, CHANNEL_STATE_TYPE, state)
