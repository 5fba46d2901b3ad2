"""Who may be in the administrators' room: the organisation's administrators and the bot.

The room carries compliance alerts, sign-in records and chain heads, so membership is
access control (45 CFR 164.308(a)(4)(ii)(B) access authorisation, 164.312(b) audit
controls: only those who review the records may read them). Provisioning joins the
administrators; the module refuses anyone else's join, and invitations of anyone else.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from policy.decision import Decision


class AdminRoomReason(StrEnum):
    """Why a membership of the administrators' room was allowed or refused."""

    BOT = "carebridge-bot"
    ADMIN = "administrator"
    NOT_ADMIN = "not-an-administrator"


NOT_ADMIN_MESSAGE = (
    "The administrators' room is only for Carebridge administrators. Ask IT if you need "
    "to see compliance alerts."
)


def decide_admin_room_member(user_id: str, admins: Collection[str], bot_user_id: str) -> Decision:
    """May `user_id` join (or be invited into) the administrators' room?"""
    if user_id == bot_user_id:
        return Decision(True, AdminRoomReason.BOT)
    if user_id in admins:
        return Decision(True, AdminRoomReason.ADMIN)
    return Decision(False, AdminRoomReason.NOT_ADMIN, NOT_ADMIN_MESSAGE)
