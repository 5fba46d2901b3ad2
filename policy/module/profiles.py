"""Synapse callbacks for names and avatars: the member-event rule and the profile record.

Adapts policy/profiles.py. `check_event_allowed` (third-party rules) judges every
`m.room.member` event a local user's request makes, Synapse's own re-sends after a profile
change included, against the person's profile (`ModuleApi.get_profile_for_user`, one
indexed read, only for member events that carry a name or avatar: message events return
at the first comparison). It fails closed. `on_profile_update` records every change of a
profile as Synapse stored it, through the durable outbox (policy/module/sessions.py), so a
name replaced within moments, which no member event ever carries, is still archived.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from synapse.module_api import ModuleApi, UserID
from synapse.module_api.errors import Codes, SynapseError

from policy.event_types import PROFILE_EVENT_TYPE
from policy.module.guard import guarded
from policy.module.metrics import count_refusal
from policy.module.rooms import INTERNAL_MESSAGE, refusal_error
from policy.module.sessions import current_request
from policy.profiles import ProfileRecord, carries_profile, decide_member_profile

if TYPE_CHECKING:
    from policy.module.sessions import SessionRecorder

log = logging.getLogger("carebridge.module")
MEMBER = "m.room.member"


class ProfileRules:
    """The member-event rule and the profile record, bound to the module API."""

    def __init__(self, api: ModuleApi, sessions: SessionRecorder) -> None:
        self.api = api
        self.sessions = sessions

    def register(self) -> None:
        """Register the callbacks with Synapse."""
        self.api.register_third_party_rules_callbacks(
            check_event_allowed=self.check_member_profile, on_profile_update=self.on_profile_update
        )

    async def check_member_profile(self, event: Any, state_events: Any) -> tuple[bool, dict[str, Any] | None]:
        """Refuse a member event that shows a person under another name or avatar than
        their own (403 with the organisation's words). Fails closed."""
        del state_events
        if event.type != MEMBER or not carries_profile(event.content) or not self.api.is_mine(event.sender):
            return True, None
        try:
            target = str(event.state_key)
            if not self.api.is_mine(target):
                return True, None  # no federation: nobody else's profile is known here
            profile = await self.api.get_profile_for_user(UserID.from_string(target).localpart)
            decision = decide_member_profile(
                event.content, profile.display_name, profile.avatar_url, self.api.server_name
            )
        except Exception as exc:  # noqa: BLE001 - fail closed, ids only
            log.error("carebridge callback check_member_profile failed: %s", type(exc).__name__)
            raise SynapseError(403, INTERNAL_MESSAGE, Codes.FORBIDDEN) from None
        if decision.allowed:
            return True, None
        count_refusal(str(decision.reason))
        log.info(
            "refused member event by %s for %s in %s: %s",
            event.sender,
            target,
            event.room_id,
            decision.reason,
        )
        raise refusal_error(decision)

    @guarded(on_error=None)
    async def on_profile_update(
        self, user_id: str, new_profile: Any, by_admin: bool, deactivation: bool
    ) -> None:
        """Record the profile Synapse just stored (name and avatar, who changed it)."""
        request = current_request()
        record = ProfileRecord(
            ts=int(self.api.get_current_time_msec()),
            user_id=user_id,
            displayname=new_profile.display_name,
            avatar_url=new_profile.avatar_url,
            by_admin=by_admin,
            deactivation=deactivation,
            actor=request.requester if request is not None else None,
        )
        await self.sessions.emit(PROFILE_EVENT_TYPE, record.content())
        log.info("recorded a profile change of %s", user_id)
