"""What an event relates to (edit, reaction, reply, thread, redaction): ids only, no content.

One parser of `m.relates_to` for everyone: the archive indexes relations with
`relation_of(event)`, the respond-only rule classifies a reply with `relates_to(content)`.
Malformed relations read as none; ids longer than the spec's 255 bytes are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

REPLACE: Final = "m.replace"
ANNOTATION: Final = "m.annotation"
REPLY: Final = "m.in_reply_to"
THREAD: Final = "m.thread"
REDACTION: Final = "m.room.redaction"


@dataclass(frozen=True)
class RelatesTo:
    """A content's `m.relates_to`: its `rel_type` and target, and the reply it names."""

    rel_type: str | None
    event_id: str | None
    reply_to: str | None


@dataclass(frozen=True)
class Relation:
    """`event_id` points at `target_event_id` with `rel_type` (as the archive indexes it)."""

    event_id: str
    target_event_id: str
    rel_type: str


def _id(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def relates_to(content: object) -> RelatesTo | None:
    """The content's `m.relates_to`, or None when it has none (or not an object)."""
    rel = content.get("m.relates_to") if isinstance(content, Mapping) else None
    if not isinstance(rel, Mapping):
        return None
    reply = rel.get(REPLY)
    reply_to = _id(reply.get("event_id")) if isinstance(reply, Mapping) else None
    rel_type = rel.get("rel_type")
    return RelatesTo(rel_type if isinstance(rel_type, str) else None, _id(rel.get("event_id")), reply_to)


def relation_of(event: Mapping[str, Any]) -> Relation | None:
    """The relation an event declares (a redaction relates to what it redacts), or None."""
    event_id = event["event_id"]
    content = event.get("content")
    if event.get("type") == REDACTION:
        target = _id(event.get("redacts")) or (
            _id(content.get("redacts")) if isinstance(content, Mapping) else None
        )
        return Relation(event_id, target, REDACTION) if target else None
    rel = relates_to(content)
    if rel is None:
        return None
    if rel.rel_type and rel.event_id:
        return Relation(event_id, rel.event_id, rel.rel_type[:64])
    if rel.reply_to:
        return Relation(event_id, rel.reply_to, REPLY)
    return None
