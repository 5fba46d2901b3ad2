"""Respond-only channel members: they may reply and write in threads, not start topics.

The channel's rights live in its `org.carebridge.channel` state event
(`{"name", "post": [user ids], "respond": [user ids], "closed"}`, written by provisioning
and by the bridge for client-created channels). Power levels let responders send
messages at all; this rule, enforced by the Synapse module, refuses their top-level
ones (45 CFR 164.308(a)(4)(ii)(C) access modification: a role that may answer
questions but not broadcast).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy.decision import Decision
from policy.staff_decision import Reason, allow, refuse

CHANNEL_STATE_TYPE = "org.carebridge.channel"

# Event types that put a new message in the timeline. Encrypted events count: their
# m.relates_to stays in clear text, so a reply can still be recognised.
MESSAGE_TYPES = frozenset(
    {
        "m.room.message",
        "m.sticker",
        "m.room.encrypted",
        "m.poll.start",
        "org.matrix.msc3381.poll.start",
    }
)

RESPOND_ONLY_MESSAGE = (
    "In this channel you can reply to messages but not start new ones. Use Reply, or "
    "answer in the message's thread."
)
UNKNOWN_TARGET_MESSAGE = "The message you are replying to is not in this channel."


@dataclass(frozen=True)
class ChannelRights:
    """The parts of `org.carebridge.channel` this rule needs."""

    post: frozenset[str]
    respond: frozenset[str]

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> ChannelRights:
        """Parse the state event content; anything malformed reads as an empty list."""

        def ids(key: str) -> frozenset[str]:
            value = content.get(key)
            return (
                frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()
            )

        return cls(post=ids("post"), respond=ids("respond"))

    def respond_only(self, user_id: str) -> bool:
        """True if the user may only reply (listed as responder and not as poster)."""
        return user_id in self.respond and user_id not in self.post


@dataclass(frozen=True)
class Relation:
    """How a message relates to an earlier one, if it does."""

    kind: Reason  # REPLY, THREAD or OWN_EDIT
    event_id: str


def relation_of(content: Mapping[str, Any]) -> Relation | None:
    """The reply / thread / edit relation of a message content, or None (top level)."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, Mapping):
        return None
    rel_type = relates.get("rel_type")
    target = relates.get("event_id")
    if rel_type == "m.thread" and isinstance(target, str):
        return Relation(Reason.THREAD, target)
    if rel_type == "m.replace" and isinstance(target, str):
        return Relation(Reason.OWN_EDIT, target)
    reply = relates.get("m.in_reply_to")
    if isinstance(reply, Mapping) and isinstance(reply.get("event_id"), str):
        return Relation(Reason.REPLY, reply["event_id"])
    return None


@dataclass(frozen=True)
class TargetFacts:
    """What the module found about the event a message relates to."""

    in_room: bool
    sender: str | None = None


def needs_target_lookup(
    sender: str, event_type: str, content: Mapping[str, Any], rights: ChannelRights | None
) -> bool:
    """Whether decide_message will need TargetFacts (saves a database read otherwise)."""
    return (
        rights is not None
        and event_type in MESSAGE_TYPES
        and rights.respond_only(sender)
        and relation_of(content) is not None
    )


def decide_message(
    sender: str,
    event_type: str,
    content: Mapping[str, Any],
    rights: ChannelRights | None,
    target: TargetFacts | None = None,
) -> Decision:
    """Refuse a respond-only member's top-level message in their channel.

    Allowed for them: a reply (`m.in_reply_to`) or thread message (`rel_type m.thread`)
    to an event in the same room, and an edit (`m.replace`) of their own message (which,
    in this channel, can only be a reply). Everyone else, and every non-message event,
    is not concerned by this rule.
    """
    if rights is None:
        return allow(Reason.NOT_A_CHANNEL)
    if event_type not in MESSAGE_TYPES:
        return allow(Reason.NOT_A_MESSAGE)
    if not rights.respond_only(sender):
        return allow(Reason.NOT_RESPOND_ONLY)
    relation = relation_of(content)
    if relation is None:
        return refuse(Reason.TOP_LEVEL_BY_RESPONDER, RESPOND_ONLY_MESSAGE)
    if target is None or not target.in_room:
        return refuse(Reason.RELATION_TARGET_UNKNOWN, UNKNOWN_TARGET_MESSAGE)
    if relation.kind is Reason.OWN_EDIT and target.sender != sender:
        return refuse(Reason.TOP_LEVEL_BY_RESPONDER, RESPOND_ONLY_MESSAGE)
    return allow(relation.kind)
