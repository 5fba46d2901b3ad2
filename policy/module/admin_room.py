"""Synapse callbacks keeping the administrators' room to administrators (policy/admin_room.py).

The room is found by its alias (module config `admin_room_alias`) and the administrators
are policy.json's `admins`, written by provisioning before it joins them. Fails closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synapse.module_api import NOT_SPAM, ModuleApi

from policy.admin_room import decide_admin_room_member
from policy.module.guard import guarded
from policy.module.policy_file import PolicyFile
from policy.module.rooms import INTERNAL_ERROR, SpamResult, to_spam_result

if TYPE_CHECKING:
    from policy.module.config import ModuleConfig


class AdminRoomRules:
    """user_may_join_room / user_may_invite for the administrators' room."""

    def __init__(self, config: ModuleConfig, api: ModuleApi) -> None:
        self.config = config
        self.api = api
        self.policy = PolicyFile(config.policy_file)
        self._room_id: str | None = None

    def register(self) -> None:
        """Register the callbacks with Synapse (beside RoomRules' own)."""
        self.api.register_spam_checker_callbacks(
            user_may_join_room=self.user_may_join_room, user_may_invite=self.user_may_invite
        )

    async def _is_admin_room(self, room_id: str) -> bool:
        if self._room_id is None:
            try:
                self._room_id, _ = await self.api.lookup_room_alias(self.config.admin_room_alias)
            except Exception:  # noqa: BLE001 - not created yet: no room to guard
                return False
        return room_id == self._room_id

    def _decide(self, user_id: str) -> SpamResult:
        return to_spam_result(
            decide_admin_room_member(user_id, self.policy.user_set("admins"), self.config.bot_user_id)
        )

    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_join_room(self, user: str, room: str, is_invited: bool) -> SpamResult:
        """Only administrators (and the bot) may join the administrators' room."""
        del is_invited
        if not await self._is_admin_room(room):
            return NOT_SPAM
        return self._decide(user)

    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_invite(self, inviter: str, invitee: str, room_id: str) -> SpamResult:
        """Only administrators may be invited into the administrators' room."""
        del inviter
        if not await self._is_admin_room(room_id):
            return NOT_SPAM
        return self._decide(invitee)
