"""Synapse callbacks for channels, DMs, invites, replies-only members and room settings.

Adapts the pure rules of policy/rooms.py, policy/respond_only.py, policy/invites.py and
policy/room_settings.py. Registered from CarebridgeModule.__init__; every callback is
wrapped by policy.module.guard.guarded, failing closed (refusing) where a failure could let a
forbidden action through.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from synapse.module_api import NOT_SPAM, ModuleApi
from synapse.module_api.errors import Codes

from policy.decision import Decision
from policy.invites import InviteeFacts, decide_invite, decide_third_party_invite
from policy.module.guard import guarded
from policy.module.policy_file import PolicyFile
from policy.respond_only import (
    CHANNEL_STATE_TYPE,
    MESSAGE_TYPES,
    ChannelRights,
    TargetFacts,
    decide_message,
    needs_target_lookup,
    relation_of,
)
from policy.room_settings import decide_publish, decide_state_change, shared_history_initial_state
from policy.rooms import (
    KIND_KEY,
    RoomKind,
    RoomRequest,
    classify,
    creation_power_override,
    decide_room_creation,
)

if TYPE_CHECKING:
    from policy.module.config import ModuleConfig

log = logging.getLogger("carebridge.module")

CHANNEL_ROOM_VERSION = "11"
SpamResult = Literal["NOT_SPAM"] | tuple[Codes, dict[str, Any]]
INTERNAL_ERROR: SpamResult = (
    Codes.FORBIDDEN,
    {"error": "Carebridge could not check this request; please try again or contact IT."},
)


def to_spam_result(decision: Decision) -> SpamResult:
    """A Decision as a spam-checker answer: the client sees `message` as the error."""
    if decision.allowed:
        return NOT_SPAM
    code = Codes.TOO_LARGE if decision.errcode == Codes.TOO_LARGE else Codes.FORBIDDEN
    return code, {"error": decision.message or "Not allowed.", "org.carebridge.reason": str(decision.reason)}


class RoomRules:
    """The staff-experience callbacks; holds config, the API and the policy file."""

    def __init__(self, config: ModuleConfig, api: ModuleApi) -> None:
        self.config = config
        self.api = api
        self.policy = PolicyFile(config.policy_file)
        self.bot = config.bot_user_id

    def register(self) -> None:
        """Register every callback with Synapse."""
        self.api.register_spam_checker_callbacks(
            user_may_create_room=self.user_may_create_room,
            user_may_invite=self.user_may_invite,
            user_may_send_3pid_invite=self.user_may_send_3pid_invite,
            check_event_for_spam=self.check_event_for_spam,
            user_may_send_state_event=self.user_may_send_state_event,
            user_may_publish_room=self.user_may_publish_room,
        )
        self.api.register_third_party_rules_callbacks(on_create_room=self.on_create_room)

    def _log(self, what: str, decision: Decision, user_id: str, room_id: str | None = None) -> None:
        if not decision.allowed:
            log.info("refused %s by %s in %s: %s", what, user_id, room_id or "-", decision.reason)

    # --- room creation -----------------------------------------------------------------
    @guarded(on_error=None)
    async def on_create_room(self, requester: Any, config: dict[str, Any], is_requester_admin: bool) -> None:
        """Mark the room's kind in its create event, keep history shared, and for a
        client-created channel bring the bot in with power to apply channel policy."""
        creator = requester.user.to_string()
        if creator == self.bot:
            return
        request = RoomRequest.from_config(config, self.bot)
        kind = classify(request, self.config.staff.max_dm_invitees)
        creation = config.get("creation_content")
        creation = dict(creation) if isinstance(creation, dict) else {}
        creation[KIND_KEY] = str(kind)
        config["creation_content"] = creation
        config["initial_state"] = shared_history_initial_state(config.get("initial_state"))
        if kind is RoomKind.CHANNEL:
            # Room version 12 gives creators unlimited power: the bot could never apply the
            # channel's power levels. Channels use Carebridge's room version.
            config["room_version"] = CHANNEL_ROOM_VERSION
            invite = [u for u in config.get("invite") or [] if isinstance(u, str) and u != self.bot]
            config["invite"] = [*invite, self.bot]
            config["power_level_content_override"] = creation_power_override(
                creator, self.bot, config.get("power_level_content_override")
            )

    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_create_room(self, user_id: str, room_config: dict[str, Any]) -> SpamResult:
        """Anyone may open a DM; only channel creators may create a channel.

        Invitees named in the request must also pass the invite rule (otherwise Synapse
        would create the room and only then fail on the invite)."""
        request = RoomRequest.from_config(room_config, self.bot)
        decision = decide_room_creation(
            user_id, request, self.policy.channel_creators(), self.bot, self.config.staff.max_dm_invitees
        )
        self._log("room creation", decision, user_id)
        if not decision.allowed:
            return to_spam_result(decision)
        if request.third_party_invites:
            return to_spam_result(decide_third_party_invite())
        for invitee in request.invitees:
            invited = decide_invite(await self._invitee_facts(invitee))
            if not invited.allowed:
                self._log("room creation invite", invited, user_id)
                return to_spam_result(invited)
        return NOT_SPAM

    # --- invites -------------------------------------------------------------------------
    async def _invitee_facts(self, invitee: str) -> InviteeFacts:
        if not self.api.is_mine(invitee):
            return InviteeFacts(local=False, exists=False, deactivated=False)
        info = await self.api.get_userinfo_by_id(invitee)
        if info is None:
            return InviteeFacts(local=True, exists=False, deactivated=False)
        return InviteeFacts(local=True, exists=True, deactivated=bool(info.is_deactivated))

    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_invite(self, inviter: str, invitee: str, room_id: str) -> SpamResult:
        """Only colleagues with a working account on this server can be invited."""
        decision = decide_invite(await self._invitee_facts(invitee))
        self._log("invite", decision, inviter, room_id)
        return to_spam_result(decision)

    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_send_3pid_invite(
        self, inviter: str, medium: str, address: str, room_id: str
    ) -> SpamResult:
        """Email invitations always leave the organisation: refused."""
        decision = decide_third_party_invite()
        self._log("3pid invite", decision, inviter, room_id)
        return to_spam_result(decision)

    # --- respond-only members ----------------------------------------------------------
    @guarded(on_error=INTERNAL_ERROR)
    async def check_event_for_spam(self, event: Any) -> SpamResult:
        """Refuse a respond-only member's top-level message in their channel."""
        if event.type not in MESSAGE_TYPES:
            return NOT_SPAM
        if not self.api.is_mine(event.sender) or event.sender == self.bot:
            return NOT_SPAM
        state = await self.api.get_room_state(event.room_id, [(CHANNEL_STATE_TYPE, "")])
        channel_event = state.get((CHANNEL_STATE_TYPE, ""))
        if channel_event is None:
            return NOT_SPAM
        rights = ChannelRights.from_content(channel_event.content)
        content = event.content
        target = None
        if needs_target_lookup(event.sender, event.type, content, rights):
            relation = relation_of(content)
            assert relation is not None
            target = await self._target_facts(event.room_id, relation.event_id)
        decision = decide_message(event.sender, event.type, content, rights, target)
        self._log("message", decision, event.sender, event.room_id)
        return to_spam_result(decision)

    async def _target_facts(self, room_id: str, event_id: str) -> TargetFacts:
        def lookup(txn: Any) -> tuple[str, str] | None:
            txn.execute("SELECT room_id, sender FROM events WHERE event_id = ?", (event_id,))
            row = txn.fetchone()
            return (str(row[0]), str(row[1])) if row else None

        found = await self.api.run_db_interaction("carebridge_relation_target", lookup)
        if found is None or found[0] != room_id:
            return TargetFacts(in_room=False)
        return TargetFacts(in_room=True, sender=found[1])

    # --- room settings -----------------------------------------------------------------
    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_send_state_event(
        self, user_id: str, room_id: str, event_type: str, state_key: str, content: dict[str, Any]
    ) -> SpamResult:
        """History stays shared and rooms invite-only, whoever holds the power level."""
        decision = decide_state_change(user_id, event_type, content, self.bot)
        self._log(f"state {event_type}", decision, user_id, room_id)
        return to_spam_result(decision)

    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_publish_room(self, user_id: str, room_id: str) -> SpamResult:
        """No room is listed in the public room directory."""
        decision = decide_publish(user_id, self.bot)
        self._log("room publish", decision, user_id, room_id)
        return to_spam_result(decision)
