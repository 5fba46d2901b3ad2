"""Channel rights as Matrix room state: power levels and the `org.carebridge.channel` event.

Pure functions, shared by provisioning (rooms from the org file) and the bridge (channels
created from a client). Access control, 45 CFR 164.312(a)(1): read-only members sit below
`events_default`, so Synapse itself refuses their messages; posters and responders sit at
or above it (that responders only reply is refused by the Synapse module, not by power
levels). Integrity, 45 CFR 164.312(c)(1): redaction needs level 100, which only the
Carebridge bot holds, so clients hide "delete" (the module refuses redactions anyway).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal, TypeVar

from policy.event_types import CHANNEL_STATE_TYPE

Access = Literal["post", "respond", "read"]
K = TypeVar("K", bound=str)

READ_LEVEL = 0
WRITE_LEVEL = 10
MODERATOR_LEVEL = 50
BOT_LEVEL = 100

# Room settings only the bot changes: history stays visible, rooms stay invite-only,
# nothing is redacted or tombstoned from a client.
_BOT_ONLY_EVENTS = (
    "m.room.power_levels",
    "m.room.history_visibility",
    "m.room.join_rules",
    "m.room.guest_access",
    "m.room.encryption",
    "m.room.canonical_alias",
    "m.room.server_acl",
    "m.room.tombstone",
    "m.room.redaction",
    CHANNEL_STATE_TYPE,
)
_MODERATOR_EVENTS = ("m.room.name", "m.room.topic", "m.room.avatar", "m.room.pinned_events")


def channel_power_levels(
    bot_user_id: str,
    access: Mapping[K, Access],
    admins: Collection[str] = (),
    closed: bool = False,
) -> dict[str, Any]:
    """The complete m.room.power_levels content for a channel.

    `access` maps each member to post/respond/read. Writers get WRITE_LEVEL (organisation
    administrators who write get MODERATOR_LEVEL); readers stay below events_default. To
    keep the event small in large channels, whichever of writers/readers is the majority
    becomes `users_default` and only the others are listed. A closed channel raises every
    level to the bot's, so it becomes read-only for everyone and keeps its history.
    """
    admin_set = set(admins)
    levels: dict[str, int] = {}
    for user_id, right in access.items():
        if right == "read":
            levels[user_id] = READ_LEVEL
        else:
            levels[user_id] = MODERATOR_LEVEL if user_id in admin_set else WRITE_LEVEL
    writers = sum(1 for level in levels.values() if level == WRITE_LEVEL)
    readers = sum(1 for level in levels.values() if level == READ_LEVEL)
    users_default = WRITE_LEVEL if writers > readers else READ_LEVEL
    users = {u: lvl for u, lvl in sorted(levels.items()) if lvl != users_default}
    users[bot_user_id] = BOT_LEVEL
    top = BOT_LEVEL if closed else MODERATOR_LEVEL
    events = {t: BOT_LEVEL for t in _BOT_ONLY_EVENTS}
    events.update({t: top for t in _MODERATOR_EVENTS})
    return {
        "users": users,
        "users_default": users_default,
        "events": events,
        "events_default": BOT_LEVEL if closed else WRITE_LEVEL,
        "state_default": top,
        "invite": top,
        "kick": MODERATOR_LEVEL,
        "ban": MODERATOR_LEVEL,
        "redact": BOT_LEVEL,
        "historical": BOT_LEVEL,
        "notifications": {"room": MODERATOR_LEVEL},
    }


def power_levels_match(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """True if the room's power levels already say what `desired` says.

    Keys Carebridge does not manage (added by other software or future Synapse versions)
    are ignored; every key in `desired` must be equal.
    """
    if current is None:
        return False
    return all(current.get(key) == value for key, value in desired.items())


def channel_state_content(name: str, access: Mapping[K, str], closed: bool = False) -> dict[str, Any]:
    """Content of the `org.carebridge.channel` state event (state_key "").

    The Synapse module reads it to decide who may only reply ("respond") in the room.
    """
    return {
        "name": name,
        "post": sorted(u for u, a in access.items() if a == "post"),
        "respond": sorted(u for u, a in access.items() if a == "respond"),
        "closed": closed,
    }


def can_send_messages(power_levels: Mapping[str, Any], user_id: str) -> bool:
    """Whether Synapse lets `user_id` send an ordinary message under these power levels."""
    users = power_levels.get("users", {})
    level = users.get(user_id, power_levels.get("users_default", 0))
    return int(level) >= int(power_levels.get("events_default", 0))


def closed_power_levels(current: Mapping[str, Any]) -> dict[str, Any]:
    """A channel's power levels once it is closed: the same members and levels, but
    nobody below the bot may send, invite or change the room. History stays readable."""
    closed = dict(current)
    events = dict(closed.get("events") or {})
    events.update({t: BOT_LEVEL for t in _MODERATOR_EVENTS})
    events.update({t: BOT_LEVEL for t in _BOT_ONLY_EVENTS})
    closed.update(events=events, events_default=BOT_LEVEL, state_default=BOT_LEVEL, invite=BOT_LEVEL)
    return closed
