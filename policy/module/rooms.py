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
from synapse.module_api.errors import Codes, SynapseError

from policy.decision import Decision
from policy.event_types import KIND_KEY, REASON_KEY
from policy.invites import InviteeFacts, decide_invite, decide_third_party_invite
from policy.module.guard import guarded
from policy.module.metrics import count_refusal
from policy.module.policy_file import PolicyFile
from policy.module.sessions import current_request
from policy.room_request import sanitise_room_config
from policy.room_settings import decide_alias, decide_publish, decide_state_change
from policy.rooms import (
    RoomKind,
    RoomRequest,
    classify,
    creation_power_override,
    decide_room_creation,
    decide_room_version,
    room_version_rewritten,
)
from policy.session_reason import is_create_room_request
from policy.staff_decision import Reason

if TYPE_CHECKING:
    from policy.module.config import ModuleConfig

log = logging.getLogger("carebridge.module")

SpamResult = Literal["NOT_SPAM"] | tuple[Codes, dict[str, Any]]
INTERNAL_MESSAGE = "Carebridge could not check this request; please try again or contact IT."
INTERNAL_ERROR: SpamResult = (Codes.FORBIDDEN, {"error": INTERNAL_MESSAGE})


def to_spam_result(decision: Decision) -> SpamResult:
    """A Decision as a spam-checker answer: the client sees `message` as the error."""
    if decision.allowed:
        return NOT_SPAM
    code = Codes.TOO_LARGE if decision.errcode == Codes.TOO_LARGE else Codes.FORBIDDEN
    return code, {"error": decision.message or "Not allowed.", REASON_KEY: str(decision.reason)}


def refusal_error(decision: Decision) -> SynapseError:
    """A Decision as an exception Synapse passes to the client unchanged (403)."""
    return SynapseError(
        403,
        decision.message or "Not allowed.",
        decision.errcode or Codes.FORBIDDEN,
        {REASON_KEY: str(decision.reason)},
    )


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
            user_may_publish_room=self.user_may_publish_room,
            user_may_create_room_alias=self.user_may_create_room_alias,
        )
        self.api.register_third_party_rules_callbacks(
            on_create_room=self.on_create_room, check_event_allowed=self.check_state_allowed
        )

    def _log(self, what: str, decision: Decision, user_id: str, room_id: str | None = None) -> None:
        if not decision.allowed:
            log.info("refused %s by %s in %s: %s", what, user_id, room_id or "-", decision.reason)
            count_refusal(str(decision.reason))

    # --- room creation -----------------------------------------------------------------
    async def on_create_room(self, requester: Any, config: dict[str, Any], is_requester_admin: bool) -> None:
        """Decide, then rewrite, a client's /createRoom (fail closed: an error refuses it).

        The room's kind is decided from the request as sent; everything else the request
        carries is rewritten so the room is the one the rules make (policy.room_request),
        and the kind is written into its create event. A client-created channel brings
        the bot in with power to apply channel policy."""
        try:
            await self._shape_room(requester.user.to_string(), config)
        except SynapseError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed, ids only
            log.error("carebridge callback on_create_room failed: %s", type(exc).__name__)
            raise SynapseError(403, INTERNAL_MESSAGE, Codes.FORBIDDEN) from None

    async def _shape_room(self, creator: str, config: dict[str, Any]) -> None:
        # Every room, the bot's too, is made in the room version the rules are written for
        # (version 12 would give creators unlimited power: the bot could never apply a
        # channel's power levels).
        if room_version_rewritten(config):
            log.info("rewrote a room request by %s: room_version", creator)
            count_refusal(str(Reason.ROOM_VERSION))
        if creator == self.bot:
            return
        request = RoomRequest.from_config(config, self.bot)
        decision = decide_room_creation(
            creator, request, self.policy.channel_creators(), self.bot, self.config.staff.max_dm_invitees
        )
        self._log("room creation", decision, creator)
        if not decision.allowed:
            raise refusal_error(decision)
        kind = classify(request, self.config.staff.max_dm_invitees)
        refused = sanitise_room_config(config, kind)
        if refused:
            log.info("rewrote a %s request by %s: dropped %s", kind, creator, ",".join(refused))
            count_refusal(str(Reason.CREATE_SANITISED))
        if kind is RoomKind.CHANNEL:
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
        creation = room_config.get("creation_content")
        # A /createRoom's creation content holds no version (on_create_room rewrote its
        # room_version); an upgrade's holds the version it upgrades to.
        version = decide_room_version(creation.get("room_version") if isinstance(creation, dict) else None)
        if not version.allowed:
            self._log("room upgrade", version, user_id)
            return to_spam_result(version)
        kind = creation.get(KIND_KEY) if isinstance(creation, dict) else None
        if kind in (RoomKind.DM, RoomKind.CHANNEL):
            # on_create_room classified the request as sent, then rewrote it: keep its kind.
            is_dm = kind == RoomKind.DM
            request = RoomRequest(is_dm, False, False, request.invitees, request.third_party_invites)
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

    # --- room settings -----------------------------------------------------------------
    async def check_state_allowed(self, event: Any, state_events: Any) -> tuple[bool, dict[str, Any] | None]:
        """History stays shared, rooms invite-only and Carebridge's own state the bot's,
        whoever holds the power level. Judged as the event is built (PUT /state, createRoom's
        initial state, upgrades), so the refusal can carry the organisation's words: the
        `user_may_send_state_event` spam check can only answer a bare errcode. Fails closed."""
        del state_events
        if not event.is_state() or not self.api.is_mine(event.sender):
            return True, None
        try:
            decision = decide_state_change(str(event.sender), str(event.type), event.content, self.bot)
        except Exception as exc:  # noqa: BLE001 - fail closed, ids only
            log.error("carebridge callback check_state_allowed failed: %s", type(exc).__name__)
            raise SynapseError(403, INTERNAL_MESSAGE, Codes.FORBIDDEN) from None
        if decision.allowed:
            return True, None
        self._log(f"state {event.type}", decision, str(event.sender), str(event.room_id))
        raise refusal_error(decision)

    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_publish_room(self, user_id: str, room_id: str) -> SpamResult:
        """No room is listed in the public room directory."""
        decision = decide_publish(user_id, self.bot)
        self._log("room publish", decision, user_id, room_id)
        return to_spam_result(decision)

    @guarded(on_error=INTERNAL_ERROR)
    async def user_may_create_room_alias(self, user_id: str, room_alias: Any) -> SpamResult:
        """Addresses only for channels: given at creation by a channel creator (the
        request was already judged as a channel), or by the bot; never PUT /directory/room."""
        decision = decide_alias(user_id, self.bot, is_create_room_request(current_request()))
        self._log("room alias", decision, user_id)
        return to_spam_result(decision)
