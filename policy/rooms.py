"""Channels and direct messages: what a room-creation request is, and who may make it.

A request is a **direct message** (DM) when all of these hold:

* `is_direct` is true (every Matrix client sets it for "start chat" / "new DM");
* no `room_alias_name` (DMs have no address; a channel is found by its alias);
* not public: `visibility` is not "public" and `preset` is not "public_chat";
* at most `max_dm_invitees` people are invited (one-to-one or a small group);
* no third-party (email) invites.

Every other request is a **channel**. Any staff member may open a DM; only the org file's
`channel_creators` may create a channel (45 CFR 164.308(a)(4) information access
management: channels carry organisation-wide rights, so who makes them is controlled).
The Carebridge bot creates provisioned channels and is always allowed. A room upgrade
(which Synapse treats as a creation) counts as a channel.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from policy.decision import Decision
from policy.staff_decision import Reason, allow, refuse

# Written into the m.room.create content of every room a client creates, by the module,
# so the bridge (and auditors) can tell a DM from a channel from the room's first event.
DEFAULT_MAX_DM_INVITEES = 9
# The room version every rule here is written for (power levels, redaction, creators): a
# room in another version behaves differently (version 12 gives creators unlimited power,
# old versions let anyone redact state), so every room is made in this one and upgrades to
# another are refused. homeserver.yaml's default_room_version is rendered from it.
ROOM_VERSION = "11"

ROOM_VERSION_MESSAGE = (
    "Rooms here all use the same room version, which the organisation's rules are written "
    "for; a room cannot be moved to another version."
)
CHANNEL_REFUSED_MESSAGE = (
    "Only the people your organisation allows can create channels. To talk with "
    "colleagues, start a direct message; to get a new channel, ask an administrator."
)


class RoomKind(StrEnum):
    """What a room is to Carebridge."""

    DM = "dm"
    CHANNEL = "channel"


@dataclass(frozen=True)
class RoomRequest:
    """The facts of a /createRoom request that decide what kind of room it makes."""

    is_direct: bool
    has_alias: bool
    public: bool
    invitees: tuple[str, ...]
    third_party_invites: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any], bot_user_id: str) -> RoomRequest:
        """Read a /createRoom body (or Synapse's upgrade config, which has none of the
        DM keys and so reads as a channel). The bot, invited by the module itself into
        client-created channels, is not counted as an invitee."""
        invite = config.get("invite")
        invitees = tuple(u for u in invite if isinstance(u, str)) if isinstance(invite, list) else ()
        third_party = config.get("invite_3pid")
        return cls(
            is_direct=config.get("is_direct") is True,
            has_alias=bool(config.get("room_alias_name")),
            public=config.get("visibility") == "public" or config.get("preset") == "public_chat",
            invitees=tuple(u for u in invitees if u != bot_user_id),
            third_party_invites=len(third_party) if isinstance(third_party, list) else 0,
        )


def classify(request: RoomRequest, max_dm_invitees: int = DEFAULT_MAX_DM_INVITEES) -> RoomKind:
    """DM or channel, by the rule in this module's docstring."""
    if (
        request.is_direct
        and not request.has_alias
        and not request.public
        and len(request.invitees) <= max_dm_invitees
        and request.third_party_invites == 0
    ):
        return RoomKind.DM
    return RoomKind.CHANNEL


def decide_room_creation(
    user_id: str,
    request: RoomRequest,
    channel_creators: Collection[str],
    bot_user_id: str,
    max_dm_invitees: int = DEFAULT_MAX_DM_INVITEES,
) -> Decision:
    """May `user_id` create this room? DMs: anyone. Channels: the channel creators.

    45 CFR 164.308(a)(4)(ii)(B) access authorisation.
    """
    if user_id == bot_user_id:
        return allow(Reason.BOT)
    if classify(request, max_dm_invitees) is RoomKind.DM:
        return allow(Reason.DM)
    if user_id in channel_creators:
        return allow(Reason.CHANNEL_BY_CREATOR)
    return refuse(Reason.CHANNEL_NOT_CREATOR, CHANNEL_REFUSED_MESSAGE)


def decide_room_version(requested: object) -> Decision:
    """A room is made only in ROOM_VERSION: an upgrade (Synapse's creation content carries
    the version it upgrades to) to any other version is refused. A /createRoom's
    `room_version` is not judged here but rewritten to ROOM_VERSION (the request is
    otherwise good; see `room_version_rewritten`).

    45 CFR 164.312(a)(1) access control and 164.312(c)(1) integrity: the power-level and
    redaction rules that keep history and rights in place hold only in that version.
    """
    if requested is None or requested == ROOM_VERSION:
        return allow()
    return refuse(Reason.ROOM_VERSION, ROOM_VERSION_MESSAGE)


def room_version_rewritten(config: dict[str, Any]) -> bool:
    """Make a /createRoom body ask for ROOM_VERSION; True if it asked for another one."""
    asked = config.get("room_version")
    config["room_version"] = ROOM_VERSION
    return asked is not None and asked != ROOM_VERSION


def creation_power_override(
    creator: str, bot_user_id: str, client_override: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Power levels a client-created channel starts with, so the bridge can take over.

    The bot gets 100 and the creator 99: everything the creator's client sends while the
    room is being made still passes, and the bot, being above the creator, can then set
    the organisation's channel power levels (creator as moderator) a moment later.
    """
    override: dict[str, Any] = dict(client_override or {})
    users = dict(override.get("users") or {})
    users = {u: min(int(level), 99) for u, level in users.items() if isinstance(level, int)}
    users[creator] = 99
    users[bot_user_id] = 100
    override["users"] = users
    events = dict(override.get("events") or {})
    for event_type in (
        "m.room.power_levels",
        "m.room.history_visibility",
        "m.room.tombstone",
        "m.room.server_acl",
        "m.room.encryption",
    ):
        events[event_type] = min(int(events.get(event_type, 99)), 99)
    override["events"] = events
    return override
