"""Respond-only and read-only channel members: what each may send in their channel.

The channel's rights live in its `org.carebridge.channel` state event
(`{"name", "post": [user ids], "respond": [user ids], "closed"}`, written by provisioning
and by the bridge for client-created channels). Power levels let responders send
messages at all; this rule, enforced by the Synapse module, refuses their top-level
ones and anything that is not a reply, an own edit or a reaction (45 CFR
164.308(a)(4)(ii)(C) access modification: a role that may answer questions but not
broadcast). Read-only members, whom power levels already stop, are told so in the
organisation's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from policy.decision import Decision
from policy.relations import ANNOTATION, REPLACE, THREAD, relates_to
from policy.staff_decision import Reason, allow, refuse

# What a respond-only member may send: a message (reply, thread, own edit) or a reaction.
REPLY_TYPES = frozenset({"m.room.message", "m.sticker"})
REACTION_TYPE = "m.reaction"
# What a reply, thread or reaction may point at: an ordinary message, never state.
TARGET_TYPES = frozenset({"m.room.message", "m.sticker"})

RESPOND_ONLY_MESSAGE = (
    "In this channel you can reply to messages but not start new ones. Use Reply, or "
    "answer in the message's thread."
)
NOT_A_REPLY_MESSAGE = (
    "In this channel you can only reply to messages, react to them and edit your own "
    "replies; this kind of event is not allowed."
)
UNKNOWN_TARGET_MESSAGE = "The message you are replying to is not in this channel."
TARGET_NOT_MESSAGE_MESSAGE = (
    "You can only reply to, react to or start a thread on a message, not on a room event "
    "(such as someone joining or a change of settings)."
)
READ_ONLY_MESSAGE = (
    "You can read this channel but not write in it. If you need to post here, ask the "
    "channel's owner or an administrator."
)
CLOSED_MESSAGE = "This channel is closed: its history stays readable but nobody can write in it."


@dataclass(frozen=True)
class ChannelRights:
    """The parts of `org.carebridge.channel` this rule needs."""

    post: frozenset[str]
    respond: frozenset[str]
    closed: bool = False

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> ChannelRights:
        """Parse the state event content; anything malformed reads as an empty list."""

        def ids(key: str) -> frozenset[str]:
            value = content.get(key)
            return (
                frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()
            )

        return cls(post=ids("post"), respond=ids("respond"), closed=content.get("closed") is True)

    def respond_only(self, user_id: str) -> bool:
        """True if the user may only reply (listed as responder and not as poster)."""
        return user_id in self.respond and user_id not in self.post


@dataclass(frozen=True)
class Response:
    """How a message responds to an earlier one (reply, thread, own edit, reaction)."""

    kind: Reason  # REPLY, THREAD, OWN_EDIT or REACTION
    event_id: str
    also: tuple[str, ...] = ()  # further events it points at (a thread's in-reply-to)

    @property
    def targets(self) -> tuple[str, ...]:
        """Every event id this response points at."""
        return (self.event_id, *self.also)


_KIND_BY_REL_TYPE: Final = {THREAD: Reason.THREAD, REPLACE: Reason.OWN_EDIT, ANNOTATION: Reason.REACTION}


def response_of(content: Mapping[str, Any]) -> Response | None:
    """The reply / thread / edit / reaction a content is, or None (top level)."""
    rel = relates_to(content)
    if rel is None:
        return None
    kind = _KIND_BY_REL_TYPE.get(rel.rel_type or "")
    if kind is not None and rel.event_id:
        also = (
            (rel.reply_to,) if kind is Reason.THREAD and rel.reply_to and rel.reply_to != rel.event_id else ()
        )
        return Response(kind, rel.event_id, also)
    if rel.rel_type is None and rel.reply_to:
        return Response(Reason.REPLY, rel.reply_to)
    return None


@dataclass(frozen=True)
class TargetFacts:
    """What the module found about an event a message relates to."""

    in_room: bool
    sender: str | None = None
    event_type: str | None = None
    is_state: bool = False

    @property
    def is_message(self) -> bool:
        """An ordinary (non-state) message: the only thing one may reply or react to."""
        return self.event_type in TARGET_TYPES and not self.is_state


def targets_to_look_up(
    sender: str, event_type: str, content: Mapping[str, Any], rights: ChannelRights | None
) -> tuple[str, ...]:
    """The event ids decide_message needs TargetFacts for (none saves a database read)."""
    if rights is None or not rights.respond_only(sender):
        return ()
    if event_type not in REPLY_TYPES and event_type != REACTION_TYPE:
        return ()
    relation = response_of(content)
    return relation.targets if relation is not None else ()


def decide_message(
    sender: str,
    event_type: str,
    content: Mapping[str, Any],
    rights: ChannelRights | None,
    targets: Mapping[str, TargetFacts] | None = None,
) -> Decision:
    """What a respond-only member may send in their channel.

    Allowed: a message (`m.room.message`, `m.sticker`) that replies (`m.in_reply_to`) or
    belongs to a thread (`rel_type m.thread`) whose every target is a message in the same
    room; an edit (`m.replace`) of their own message; a reaction (`m.reaction`,
    `m.annotation`) to a message in the room. Refused: top-level messages, replies or
    threads on state or membership events (or `m.room.create`), and every other event type
    (custom events, calls, polls, encrypted events). Posters, people outside the channel
    and rooms that are not channels are not concerned by this rule. Read receipts and
    typing notices are not room events and never reach it.
    """
    if rights is None:
        return allow(Reason.NOT_A_CHANNEL)
    if not rights.respond_only(sender):
        return allow(Reason.NOT_RESPOND_ONLY)
    relation = response_of(content)
    if event_type == REACTION_TYPE:
        if relation is None or relation.kind is not Reason.REACTION:
            return refuse(Reason.NOT_A_REPLY_BY_RESPONDER, NOT_A_REPLY_MESSAGE)
    elif event_type in REPLY_TYPES:
        if relation is None or relation.kind is Reason.REACTION:
            return refuse(Reason.TOP_LEVEL_BY_RESPONDER, RESPOND_ONLY_MESSAGE)
    else:
        return refuse(Reason.NOT_A_REPLY_BY_RESPONDER, NOT_A_REPLY_MESSAGE)
    found = targets or {}
    for event_id in relation.targets:
        target = found.get(event_id)
        if target is None or not target.in_room:
            return refuse(Reason.RELATION_TARGET_UNKNOWN, UNKNOWN_TARGET_MESSAGE)
        if not target.is_message:
            return refuse(Reason.RELATION_TARGET_NOT_MESSAGE, TARGET_NOT_MESSAGE_MESSAGE)
    if relation.kind is Reason.OWN_EDIT and found[relation.event_id].sender != sender:
        return refuse(Reason.TOP_LEVEL_BY_RESPONDER, RESPOND_ONLY_MESSAGE)
    return allow(relation.kind)


def _level(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return default


def may_send_by_power(power_levels: Mapping[str, Any] | None, user_id: str, event_type: str) -> bool:
    """Whether the room's power levels let `user_id` send a (non-state) `event_type`."""
    if power_levels is None:
        return True
    users = power_levels.get("users")
    users = users if isinstance(users, Mapping) else {}
    level = _level(users.get(user_id), _level(power_levels.get("users_default"), 0))
    events = power_levels.get("events")
    events = events if isinstance(events, Mapping) else {}
    needed = _level(events.get(event_type), _level(power_levels.get("events_default"), 0))
    return level >= needed


def decide_read_only(
    sender: str, power_levels: Mapping[str, Any] | None, rights: ChannelRights | None
) -> Decision:
    """A channel member the power levels keep from writing at all (below what an ordinary
    message needs) hears it in the organisation's words (read-only member, or a closed
    channel) instead of Synapse's "user_level (0) < send_level (10)", whatever event they
    try. Nothing is refused that Synapse would allow; a writer who lacks the level for one
    particular event keeps Synapse's answer."""
    if rights is None:
        return allow(Reason.NOT_A_CHANNEL)
    if may_send_by_power(power_levels, sender, "m.room.message"):
        return allow()
    if rights.closed:
        return refuse(Reason.CHANNEL_CLOSED, CLOSED_MESSAGE)
    return refuse(Reason.READ_ONLY_MEMBER, READ_ONLY_MESSAGE)
