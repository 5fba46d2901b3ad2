"""Decisions of the staff-experience rules (rooms, replies, invites, files), with reasons.

Each rule in policy/rooms.py, policy/respond_only.py, policy/invites.py and
policy/files.py returns a `Decision`: allowed or not, a stable reason code (logged, and
asserted by tests) and, when refused, the sentence staff see in their client.
"""

from __future__ import annotations

from enum import StrEnum

from policy.decision import FORBIDDEN, Decision


class Reason(StrEnum):
    """Why something was allowed or refused."""

    ALLOWED = "allowed"
    BOT = "carebridge-bot"
    DM = "direct-message"
    CHANNEL_BY_CREATOR = "channel-by-creator"
    CHANNEL_NOT_CREATOR = "channel-not-creator"
    CREATE_INVITE_REFUSED = "create-invite-refused"
    NOT_A_CHANNEL = "not-a-channel"
    NOT_RESPOND_ONLY = "not-respond-only"
    NOT_A_MESSAGE = "not-a-message"
    REPLY = "reply"
    THREAD = "thread"
    OWN_EDIT = "edit-of-own-message"
    TOP_LEVEL_BY_RESPONDER = "top-level-by-respond-only-member"
    RELATION_TARGET_UNKNOWN = "relation-target-unknown"
    RELATION_TARGET_NOT_MESSAGE = "relation-target-not-a-message"
    REACTION = "reaction"
    NOT_A_REPLY_BY_RESPONDER = "non-reply-by-respond-only-member"
    READ_ONLY_MEMBER = "read-only-member"
    CHANNEL_CLOSED = "channel-closed"
    CREATE_SANITISED = "room-request-sanitised"
    ROOM_VERSION = "room-version-not-carebridge"
    ALIAS_REFUSED = "alias-not-allowed"
    CAREBRIDGE_STATE = "carebridge-state-by-staff"
    SELF_DEACTIVATION = "self-deactivation"
    ERASE_DETECTED = "erase-through-admin-api"
    PASSWORD_SESSIONS_KEPT = "password-change-kept-sessions"  # noqa: S105 - a reason code
    INVITEE_REMOTE = "invitee-outside-organisation"
    INVITEE_UNKNOWN = "invitee-unknown"
    INVITEE_DEACTIVATED = "invitee-deactivated"
    THIRD_PARTY_INVITE = "third-party-invite"
    HISTORY_NOT_SHARED = "history-visibility-not-shared"
    JOIN_RULE_OPEN = "join-rule-not-invite"
    PUBLISH_REFUSED = "room-directory-publish"
    UPLOAD_TOO_LARGE = "upload-too-large"
    UPLOAD_TYPE = "upload-type-not-allowed"
    UPLOAD_ACTIVE_CONTENT = "upload-active-content"
    UPLOAD_DECLARED_ACTIVE = "upload-declared-active-type"
    UPLOAD_DECLARED_MISMATCH = "upload-declared-type-mismatch"


def allow(reason: Reason = Reason.ALLOWED) -> Decision:
    """An allowing decision with its reason."""
    return Decision(True, reason)


def refuse(reason: Reason, message: str, errcode: str = FORBIDDEN) -> Decision:
    """A refusal with its reason and the sentence staff see."""
    return Decision(False, reason, message, errcode)
