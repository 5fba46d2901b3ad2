"""Synapse callbacks for history retention: no redactions, no E2EE, no room shutdown/purge.

Registered from CarebridgeModule.__init__. The decisions come from policy.redaction and
policy.encryption (pure); this file only adapts them to Synapse's third-party-rules API:

- `check_event_allowed` refuses m.room.redaction, m.room.encryption and m.room.encrypted
  (end-to-end ciphertext the archive could not read). It raises a
  SynapseError (which Synapse passes to the client unchanged) so staff read a truthful
  403 with errcode ORG.CAREBRIDGE.HISTORY_RETAINED / ORG.CAREBRIDGE.ENCRYPTION_DISABLED,
  rather than the spam checker's fixed "rejected as probable spam" text.
- `on_create_room` drops m.room.encryption from initial_state so clients that ask for
  encrypted DMs (Element does, always) still get their room, unencrypted.
- `check_can_shutdown_room` refuses the admin API's room delete (v1 and v2, shutdown and
  purge). Synapse answers 403 M_FORBIDDEN "Shutdown of this room is forbidden".
"""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import ModuleApi
from synapse.module_api.errors import SynapseError

from policy.decision import Decision
from policy.encryption import ENCRYPTED_EVENT, ENCRYPTION_EVENT, decide_encryption_event, strip_encryption
from policy.module.config import ModuleConfig
from policy.module.guard import guarded
from policy.module.metrics import count_refusal
from policy.redaction import REDACTION_EVENT, decide_redaction, decide_room_shutdown

log = logging.getLogger("carebridge.module")

# If our own code fails while judging one of these, refuse (fail closed): a bug must not
# open a way to erase history or to hide it from the archive. Anything else is allowed.
_FAIL_CLOSED = {
    REDACTION_EVENT: decide_redaction(REDACTION_EVENT, "", True, ""),
    ENCRYPTION_EVENT: decide_encryption_event(ENCRYPTION_EVENT, True),
    ENCRYPTED_EVENT: decide_encryption_event(ENCRYPTED_EVENT, False),
}
_NO_DECISION: Decision | None = None


class RetentionRules:
    """The history-retention callbacks of the Carebridge module."""

    def __init__(self, config: ModuleConfig, api: ModuleApi) -> None:
        self.config = config
        self.api = api

    def register(self) -> None:
        """Register the callbacks with Synapse (called once, from the module's __init__)."""
        self.api.register_third_party_rules_callbacks(
            check_event_allowed=self.check_event_allowed,
            on_create_room=self.on_create_room,
            check_can_shutdown_room=self.check_can_shutdown_room,
        )

    @guarded(on_error=_NO_DECISION)
    async def _judge(self, event: Any) -> Decision | None:
        sender = str(event.sender)
        decision = decide_redaction(
            str(event.type), sender, self.api.is_mine(sender), self.config.bot_user_id
        )
        if decision.allowed:
            decision = decide_encryption_event(str(event.type), bool(event.is_state()))
        return decision

    async def check_event_allowed(self, event: Any, state_events: Any) -> tuple[bool, dict[str, Any] | None]:
        """Refuse redactions and encryption events with a clear 403 (see module docstring)."""
        del state_events
        decision = await self._judge(event)
        if decision is None:
            if event.type not in _FAIL_CLOSED:
                return True, None
            decision = _FAIL_CLOSED[event.type]
        if decision.allowed:
            return True, None
        log.info(
            "refused %s from %s in %s (%s)", event.type, event.sender, event.room_id, decision.reason.value
        )
        count_refusal(decision.reason.value)
        raise SynapseError(403, decision.message or "Forbidden", decision.errcode)

    @guarded(on_error=None)
    async def on_create_room(self, requester: Any, request_content: dict[str, Any], is_admin: bool) -> None:
        """Drop m.room.encryption from a new room's initial_state (the room is still made)."""
        del is_admin
        if "initial_state" not in request_content:
            return
        kept, dropped = strip_encryption(request_content["initial_state"])
        if dropped:
            request_content["initial_state"] = kept
            log.info("dropped m.room.encryption from a createRoom by %s", requester.user.to_string())

    @guarded(on_error=False)
    async def check_can_shutdown_room(self, user_id: str | None, room_id: str) -> bool:
        """Refuse the admin API's room delete/shutdown/purge: every room is archived."""
        decision = decide_room_shutdown(user_id, room_id)
        if not decision.allowed:
            log.warning("refused shutdown/purge of room %s requested by %s", room_id, user_id)
            count_refusal(decision.reason.value)
        return decision.allowed
