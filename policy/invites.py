"""Who may be invited into a room: colleagues with a working account, nobody else.

45 CFR 164.308(a)(4) information access management and 164.312(a)(1) access control:
PHI must not reach people outside the organisation (other servers, email invites) or
accounts that were switched off when someone left.
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.decision import Decision
from policy.staff_decision import Reason, allow, refuse

OUTSIDE_MESSAGE = "You can only invite colleagues from your organisation."
UNKNOWN_MESSAGE = "There is no colleague with that address. Check the name in the directory."
DEACTIVATED_MESSAGE = "This account has been deactivated; its owner no longer has access."
THIRD_PARTY_MESSAGE = "Invitations by email are not allowed; invite colleagues by their account."


@dataclass(frozen=True)
class InviteeFacts:
    """What the homeserver knows about the person being invited."""

    local: bool
    exists: bool
    deactivated: bool


def decide_invite(invitee: InviteeFacts) -> Decision:
    """Refuse invitees on other servers, unknown accounts and deactivated accounts."""
    if not invitee.local:
        return refuse(Reason.INVITEE_REMOTE, OUTSIDE_MESSAGE)
    if not invitee.exists:
        return refuse(Reason.INVITEE_UNKNOWN, UNKNOWN_MESSAGE)
    if invitee.deactivated:
        return refuse(Reason.INVITEE_DEACTIVATED, DEACTIVATED_MESSAGE)
    return allow()


def decide_third_party_invite() -> Decision:
    """Email (3PID) invites are always refused: they leave the organisation."""
    return refuse(Reason.THIRD_PARTY_INVITE, THIRD_PARTY_MESSAGE)
