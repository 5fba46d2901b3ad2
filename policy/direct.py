"""`m.direct` merging, shared by the module endpoint and the bridge's DM registry.

`m.direct` account data maps each person to the DM rooms shared with them. Carebridge
only ever **adds** to it, so whatever a user's own client put there stays.
"""

from __future__ import annotations

from typing import Any

# Served by policy/module/direct.py, called by bridge/staff/dms.py (as the bot only).
DIRECT_PATH = "/_synapse/client/carebridge/v1/direct"


def merge_direct(current: Any, additions: dict[str, list[str]]) -> dict[str, list[str]]:
    """`m.direct` content with every room in `additions` present under its person."""
    merged: dict[str, list[str]] = {}
    if isinstance(current, dict):
        for user, rooms in current.items():
            if isinstance(user, str) and isinstance(rooms, (list, tuple)):
                merged[user] = [r for r in rooms if isinstance(r, str)]
    for user, rooms in additions.items():
        existing = merged.setdefault(user, [])
        for room in rooms:
            if room not in existing:
                existing.append(room)
    return merged


def direct_additions(participants: list[str], user_id: str, room_id: str) -> dict[str, list[str]]:
    """What `user_id`'s m.direct must contain for a DM: the room under each other person."""
    return {other: [room_id] for other in sorted(participants) if other != user_id}
