"""Synapse callback for what channel members may send: respond-only and read-only members.

Adapts policy/respond_only.py. `check_event_for_spam` runs for every (non-membership) event a
local client sends, before Synapse checks power levels, so a read-only member is told in the
organisation's words why they cannot write, and a respond-only member's non-reply events
(custom types, calls, replies to state or membership events) are refused. Failing closed:
an error while judging refuses the event.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from synapse.module_api import NOT_SPAM, ModuleApi

from policy.event_types import CHANNEL_STATE_TYPE
from policy.module.guard import guarded
from policy.module.metrics import count_refusal
from policy.module.rooms import INTERNAL_ERROR, SpamResult, to_spam_result
from policy.respond_only import (
    ChannelRights,
    TargetFacts,
    decide_message,
    decide_read_only,
    targets_to_look_up,
)

if TYPE_CHECKING:
    from policy.module.config import ModuleConfig

log = logging.getLogger("carebridge.module")
POWER_LEVELS = "m.room.power_levels"


def _target(txn: Any, event_id: str) -> tuple[str, str, str, bool] | None:
    txn.execute(
        "SELECT e.room_id, e.sender, e.type, "
        "(SELECT COUNT(*) FROM state_events s WHERE s.event_id = e.event_id), "
        "(SELECT COUNT(*) FROM rejections r WHERE r.event_id = e.event_id) "
        "FROM events e WHERE e.event_id = ?",
        (event_id,),
    )
    row = txn.fetchone()
    if row is None or int(row[4]):
        return None
    return str(row[0]), str(row[1]), str(row[2]), bool(int(row[3]))


class MessageRules:
    """Registers check_event_for_spam for channel members' events."""

    def __init__(self, config: ModuleConfig, api: ModuleApi) -> None:
        self.api = api
        self.bot = config.bot_user_id

    def register(self) -> None:
        """Register the callback with Synapse."""
        self.api.register_spam_checker_callbacks(check_event_for_spam=self.check_event_for_spam)

    @guarded(on_error=INTERNAL_ERROR)
    async def check_event_for_spam(self, event: Any) -> SpamResult:
        """Refuse what a channel's respond-only or read-only member may not send."""
        if not self.api.is_mine(event.sender) or event.sender == self.bot:
            return NOT_SPAM
        keys = [(CHANNEL_STATE_TYPE, ""), (POWER_LEVELS, "")]
        state = await self.api.get_room_state(event.room_id, keys)
        channel_event = state.get((CHANNEL_STATE_TYPE, ""))
        if channel_event is None:
            return NOT_SPAM
        rights = ChannelRights.from_content(channel_event.content)
        levels = state.get((POWER_LEVELS, ""))
        decision = decide_read_only(event.sender, levels.content if levels is not None else None, rights)
        if decision.allowed and not event.is_state():
            content = event.content
            wanted = targets_to_look_up(event.sender, event.type, content, rights)
            targets = {i: await self._target_facts(event.room_id, i) for i in wanted}
            decision = decide_message(event.sender, event.type, content, rights, targets)
        if decision.allowed:
            return NOT_SPAM
        log.info("refused %s by %s in %s: %s", event.type, event.sender, event.room_id, decision.reason)
        count_refusal(str(decision.reason))
        return to_spam_result(decision)

    async def _target_facts(self, room_id: str, event_id: str) -> TargetFacts:
        found = await self.api.run_db_interaction("carebridge_relation_target", _target, event_id)
        if found is None or found[0] != room_id:
            return TargetFacts(in_room=False)
        return TargetFacts(in_room=True, sender=found[1], event_type=found[2], is_state=found[3])
