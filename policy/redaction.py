"""History nobody can delete: redactions and room shutdown/purge are refused.

Pure decisions (no I/O); policy/module/redaction.py adapts them to Synapse's callbacks.
45 CFR 164.312(b) audit controls and 164.312(c)(1) integrity: a record of every message
is kept and cannot be altered or destroyed from a client, by staff or by the bot.
"""

from __future__ import annotations

from enum import StrEnum

from policy.decision import Decision

REDACTION_EVENT = "m.room.redaction"
HISTORY_RETAINED = "ORG.CAREBRIDGE.HISTORY_RETAINED"
REDACTION_MESSAGE = (
    "Messages cannot be deleted here: this organisation keeps a complete record of all "
    "messages (HIPAA audit controls). To correct a message, edit it or post a correction; "
    "the original stays in the record."
)
SHUTDOWN_MESSAGE = (
    "Rooms cannot be shut down or purged: their history is retained by policy. "
    "Close a room by removing its members instead."
)


class RetentionReason(StrEnum):
    """Why an event or request was allowed or refused (logged, and used in tests)."""

    ALLOWED = "allowed"
    REDACTION_BY_LOCAL_USER = "redaction-by-local-user"
    REDACTION_BY_BOT = "redaction-by-bot"
    REDACTION_BY_REMOTE_USER = "redaction-by-remote-user"
    ROOM_RETAINED = "room-retained"
    ENCRYPTION_REFUSED = "encryption-refused"


ALLOW = Decision(True, RetentionReason.ALLOWED)


def decide_redaction(event_type: str, sender: str, sender_is_local: bool, bot_user_id: str) -> Decision:
    """Refuse every m.room.redaction, whoever sends it (45 CFR 164.312(c)(1) integrity).

    A Matrix user may always redact their own events unless something refuses it, and
    power levels only hide the button; so the refusal has no exceptions: not for the
    sender's own message, not for moderators, not for the Carebridge bot, not for the
    admin API's "redact all of a user's events" (which sends redactions as well).
    """
    if event_type != REDACTION_EVENT:
        return ALLOW
    if sender == bot_user_id:
        reason = RetentionReason.REDACTION_BY_BOT
    elif sender_is_local:
        reason = RetentionReason.REDACTION_BY_LOCAL_USER
    else:
        reason = RetentionReason.REDACTION_BY_REMOTE_USER
    return Decision(False, reason, REDACTION_MESSAGE, HISTORY_RETAINED)


def decide_room_shutdown(requester: str | None, room_id: str) -> Decision:
    """Refuse the admin API's room delete/shutdown/purge (45 CFR 164.312(b), (c)(1)).

    Every room on the server is archived (the appservice receives all rooms), so no room
    may be shut down or purged, whoever asks (an admin, a module, or nobody in particular).
    """
    del requester, room_id  # the rule has no exceptions; kept for the log line and future rules
    return Decision(False, RetentionReason.ROOM_RETAINED, SHUTDOWN_MESSAGE)
