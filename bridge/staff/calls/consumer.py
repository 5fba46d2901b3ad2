"""The call-log consumer: m.call.* events from the archive become call-log rows, and an
invite in a room with more than two people is hung up by the bot with a notice."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from mautrix.appservice import IntentAPI

from bridge.archive.writer import ArchivedEvent
from bridge.core.clock import now_ms
from bridge.core.room_ops import ensure_bot_joined, joined_members, send_event
from bridge.staff.calls.model import CALL_HANGUP, CALL_INVITE, CallEvent, Outcome, person_to_person_violation
from bridge.staff.calls.store import CallStore
from policy.event_types import CALL_KEY, REASON_KEY

log = logging.getLogger(__name__)

ONE_TO_ONE_REASON = "one_to_one_only"
BOT_PARTY_ID = "carebridge"


class CallLog:
    """Consumer `calls`: builds the call log and enforces the person-to-person rule."""

    def __init__(
        self,
        store: CallStore,
        intent: IntentAPI,
        one_to_one_notice: str,
        on_change: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        self.store = store
        self.intent = intent
        self.bot = str(intent.mxid)
        self.one_to_one_notice = one_to_one_notice
        self.on_change = on_change

    async def handle(self, archived: ArchivedEvent) -> None:
        """Dispatcher handler (idempotent: replays change nothing)."""
        event = CallEvent.parse(archived.event)
        if event is None or event.sender == self.bot:
            return
        if event.type == CALL_INVITE:
            await self._invite(event)
        else:
            record = await self.store.apply(event)
            if record is not None:
                log.info("call %s in %s: %s -> %s", event.call_id, event.room_id, event.type, record.outcome)
        if self.on_change is not None:
            result = self.on_change()
            if result is not None:
                await result

    async def _invite(self, event: CallEvent) -> None:
        members = [m for m in await joined_members(self.intent, event.room_id) if m != self.bot]
        others = [m for m in members if m != event.sender]
        callee = event.invitee or (others[0] if len(others) == 1 else None)
        refused = person_to_person_violation(len(members))
        inserted = await self.store.record_invite(event, callee, len(members), Outcome.RINGING)
        if not inserted:
            existing = await self.store.get(event.room_id, event.call_id)
            if existing is None or existing.outcome is not Outcome.RINGING or not refused:
                return
        log.info(
            "call %s invited in %s (%s, %d members)", event.call_id, event.room_id, event.kind, len(members)
        )
        if refused:
            await self._refuse(event)

    async def _refuse(self, event: CallEvent) -> None:
        """Hang up a call in a room of more than two people and explain why."""
        await ensure_bot_joined(self.intent, event.room_id)
        version: str | int = 0 if event.version == "0" else event.version
        hangup_id = await send_event(
            self.intent,
            event.room_id,
            CALL_HANGUP,
            {
                "call_id": event.call_id,
                "version": version,
                "party_id": BOT_PARTY_ID,
                "reason": "user_busy",
                REASON_KEY: ONE_TO_ONE_REASON,
            },
            txn_id=f"cb-hangup-{event.event_id}",
        )
        await send_event(
            self.intent,
            event.room_id,
            "m.room.message",
            {
                "msgtype": "m.notice",
                "body": self.one_to_one_notice,
                "m.mentions": {"user_ids": [event.sender]},
                CALL_KEY: {"call_id": event.call_id, "refused": ONE_TO_ONE_REASON},
            },
            txn_id=f"cb-one-to-one-{event.event_id}",
        )
        now = now_ms()
        await self.store.mark_refused(event.room_id, event.call_id, self.bot, now, ONE_TO_ONE_REASON)
        log.info(
            "call %s in %s refused (person-to-person rule); hangup %s",
            event.call_id,
            event.room_id,
            hangup_id,
        )
