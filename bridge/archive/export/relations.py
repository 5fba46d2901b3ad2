"""What an event relates to (edit, reaction, reply, thread, redaction): ids only, no content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REPLACE = "m.replace"
ANNOTATION = "m.annotation"
REPLY = "m.in_reply_to"
REDACTION = "m.room.redaction"


@dataclass(frozen=True)
class Relation:
    """`event_id` points at `target_event_id` with `rel_type`."""

    event_id: str
    target_event_id: str
    rel_type: str


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def relation_of(event: dict[str, Any]) -> Relation | None:
    """The relation an event declares, or None. Malformed relations are ignored."""
    event_id = event["event_id"]
    content = event.get("content")
    if event.get("type") == REDACTION:
        target = _str(event.get("redacts")) or (
            _str(content.get("redacts")) if isinstance(content, dict) else None
        )
        return Relation(event_id, target, REDACTION) if target else None
    if not isinstance(content, dict):
        return None
    rel = content.get("m.relates_to")
    if not isinstance(rel, dict):
        return None
    rel_type, target = _str(rel.get("rel_type")), _str(rel.get("event_id"))
    if rel_type and target:
        return Relation(event_id, target, rel_type[:64])
    reply = rel.get(REPLY)
    if isinstance(reply, dict) and (target := _str(reply.get("event_id"))):
        return Relation(event_id, target, REPLY)
    return None
