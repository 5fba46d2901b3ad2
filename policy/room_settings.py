"""Room settings staff cannot change: history stays shared, rooms stay invite-only.

45 CFR 164.312(a)(1) access control: a room is never opened to people who were not
invited (no public or knock join rule, no listing in the room directory). Continuity of
care: whoever is added to a conversation sees its whole history (`shared`), so a
colleague brought into a DM or channel later knows what was said before.
The Carebridge bot (which applies provisioned settings) is not limited by this rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.decision import Decision
from policy.event_types import CAREBRIDGE_PREFIX
from policy.staff_decision import Reason, allow, refuse

HISTORY_MESSAGE = (
    "Conversation history stays visible to everyone in the room; this setting cannot be changed."
)
JOIN_RULE_MESSAGE = "Rooms here are invitation-only; this setting cannot be changed."
CAREBRIDGE_STATE_MESSAGE = (
    "Channel rights are managed by Carebridge from the organisation's settings; ask an "
    "administrator to change them."
)
PUBLISH_MESSAGE = "Rooms cannot be listed in a public directory here."
ALIAS_MESSAGE = (
    "Only channels have an address, given when a channel creator creates the channel. "
    "To change a channel's address, ask an administrator."
)
ALLOWED_JOIN_RULES = frozenset({"invite"})


def decide_state_change(
    sender: str, event_type: str, content: Mapping[str, Any], bot_user_id: str
) -> Decision:
    """Refuse history visibility other than `shared`, open join rules and Carebridge's own
    state (`org.carebridge.channel` rights, planted in a DM or rewritten in a channel) from
    staff."""
    if sender == bot_user_id:
        return allow(Reason.BOT)
    if event_type.startswith(CAREBRIDGE_PREFIX):
        return refuse(Reason.CAREBRIDGE_STATE, CAREBRIDGE_STATE_MESSAGE)
    if event_type == "m.room.history_visibility" and content.get("history_visibility") != "shared":
        return refuse(Reason.HISTORY_NOT_SHARED, HISTORY_MESSAGE)
    if event_type == "m.room.join_rules" and content.get("join_rule") not in ALLOWED_JOIN_RULES:
        return refuse(Reason.JOIN_RULE_OPEN, JOIN_RULE_MESSAGE)
    return allow()


def decide_publish(user_id: str, bot_user_id: str) -> Decision:
    """Only the bot may list a room in the room directory (it never does by default)."""
    if user_id == bot_user_id:
        return allow(Reason.BOT)
    return refuse(Reason.PUBLISH_REFUSED, PUBLISH_MESSAGE)


def decide_alias(user_id: str, bot_user_id: str, creating_room: bool) -> Decision:
    """Room addresses (aliases) belong to channels only: the bot sets them, or a channel
    creator names the channel in its /createRoom (judged a channel there, so a DM never
    gets one). Adding one afterwards (PUT /directory/room) is refused for staff."""
    if user_id == bot_user_id:
        return allow(Reason.BOT)
    if creating_room:
        return allow(Reason.CHANNEL_BY_CREATOR)
    return refuse(Reason.ALIAS_REFUSED, ALIAS_MESSAGE)
