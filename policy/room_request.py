"""What a client's /createRoom request may carry: the room it makes is the room the rules make.

A request has many ways to shape the new room besides `is_direct` and `invite`:
`initial_state` (any state event, sent with the creator's power), `power_level_content_override`,
`creation_content` (e.g. `additional_creators`, which gives unlimited power in room version 12),
`preset` (`public_chat` makes the room joinable by anyone), `visibility` (the public room
directory) and `room_alias_name`. Classification (policy.rooms) looks only at the first
few, so everything else is rewritten here, for DMs and channels alike:

* `initial_state` keeps only a name, topic and avatar; the module adds `join_rule: invite`,
  `history_visibility: shared` and `guest_access: forbidden` (no public or knock join
  rule, no planted `org.carebridge.channel`, no power levels, no alias or encryption events);
* `preset` becomes `private_chat` unless a DM asked for `trusted_private_chat`;
* `visibility` becomes `private` (nothing is listed in a directory);
* `creation_content` keeps nothing of the client's but `m.federate: false` and the room's
  kind (`org.carebridge.kind`);
* a DM loses `power_level_content_override`; a channel's is clamped (policy.rooms);
* a DM never has `room_alias_name` (a request with one is a channel, for channel creators).

45 CFR 164.312(a)(1) access control: a conversation is open only to the people invited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.event_types import KIND_KEY
from policy.rooms import RoomKind

KEPT_STATE_TYPES = frozenset({"m.room.name", "m.room.topic", "m.room.avatar"})
FORCED_STATE: tuple[dict[str, Any], ...] = (
    {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}},
    {"type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "shared"}},
    {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
)
DM_PRESETS = frozenset({"private_chat", "trusted_private_chat"})


def sanitised_initial_state(initial_state: Any) -> list[dict[str, Any]]:
    """The client's name/topic/avatar (state key "") followed by the forced settings."""
    kept: list[dict[str, Any]] = []
    for item in initial_state if isinstance(initial_state, list) else []:
        if (
            isinstance(item, Mapping)
            and item.get("type") in KEPT_STATE_TYPES
            and item.get("state_key", "") == ""
            and isinstance(item.get("content"), Mapping)
        ):
            kept.append({"type": item["type"], "state_key": "", "content": dict(item["content"])})
    return kept + [dict(s, content=dict(s["content"])) for s in FORCED_STATE]


def _dropped_state(initial_state: Any) -> bool:
    """True if the client's initial_state asked for anything the rules do not give.
    (An `m.room.encryption` request is Element's default: dropped without a refusal count.)"""
    allowed = {(s["type"], str(s["content"])) for s in FORCED_STATE}
    for item in initial_state if isinstance(initial_state, list) else []:
        if not isinstance(item, Mapping) or item.get("type") == "m.room.encryption":
            continue
        if item.get("type") in KEPT_STATE_TYPES and item.get("state_key", "") == "":
            continue
        if (item.get("type"), str(item.get("content"))) not in allowed:
            return True
    return False


def sanitise_room_config(config: dict[str, Any], kind: RoomKind) -> list[str]:
    """Rewrite a client's /createRoom body in place; returns the request keys whose
    content was refused (for the log and the refusal counter: key names, never values)."""
    refused: list[str] = []
    if _dropped_state(config.get("initial_state")):
        refused.append("initial_state")
    config["initial_state"] = sanitised_initial_state(config.get("initial_state"))
    preset = config.get("preset")
    if preset == "public_chat":
        refused.append("preset")
    config["preset"] = preset if kind is RoomKind.DM and preset in DM_PRESETS else "private_chat"
    if config.get("visibility") == "public":
        refused.append("visibility")
    config["visibility"] = "private"
    creation = config.get("creation_content")
    if isinstance(creation, Mapping) and set(creation) - {"m.federate", KIND_KEY, "room_version"}:
        refused.append("creation_content")
    config["creation_content"] = {"m.federate": False, KIND_KEY: str(kind)}
    if kind is RoomKind.DM:
        for key in ("power_level_content_override", "room_alias_name"):
            if key in config:
                refused.append(key)
                del config[key]
    return refused
