"""Missed-call notices: a call nobody answered leaves a notice for the callee.

A call is missed when its invite's `lifetime` runs out (plus a short grace for a late
answer) while it still rings, or when the caller gives up first. The watcher's schedule
is derived from the call log itself, so after a restart it picks up every call that
was ringing or missed without a notice: nothing is kept only in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo

from mautrix.appservice import IntentAPI
from mautrix.errors import MatrixRequestError

from bridge.core.room_ops import ensure_bot_joined, send_event
from bridge.core.tasks import cancel_and_wait
from bridge.staff.calls.store import CallRecord, CallStore
from policy.event_types import MISSED_CALL_KEY

log = logging.getLogger(__name__)

Clock = Callable[[], float]
IDLE_POLL_S = 60.0


def notice_text(template: str, kind: str, caller: str, when_ms: int, tz: tzinfo) -> str:
    """The notice, from carebridge.yaml's calls.missed_call_notice with {kind},
    {caller} and {time} filled in."""
    when = datetime.fromtimestamp(when_ms / 1000, tz).strftime("%H:%M")
    return template.replace("{kind}", kind).replace("{caller}", caller).replace("{time}", when)


class MissedCallWatcher:
    """Turns ringing calls into missed ones when due and leaves each callee a notice."""

    def __init__(
        self,
        store: CallStore,
        intent: IntentAPI,
        template: str,
        tz: Callable[[], Awaitable[tzinfo]] | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.intent = intent
        self.template = template
        self.tz = tz
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """The call log changed: re-plan now."""
        self._wake.set()

    async def start(self) -> None:
        """Run the watcher (it first handles whatever was due while the bridge was down)."""
        self._task = asyncio.create_task(self._run(), name="carebridge-missed-calls")

    async def stop(self) -> None:
        """Stop after the current step."""
        await cancel_and_wait(self._task)
        self._task = None

    async def run_once(self) -> float:
        """Expire due calls, send pending notices; returns seconds until the next due."""
        now_ms = int(self.clock() * 1000)
        await self.store.expire_ringing(now_ms)
        for record in await self.store.missed_without_notice():
            try:
                await self._notify(record)
            except MatrixRequestError as exc:
                log.warning(
                    "missed-call notice for %s in %s failed: %s", record.call_id, record.room_id, exc.errcode
                )
        due = await self.store.next_due_ms()
        if due is None:
            return IDLE_POLL_S
        return min(max((due - int(self.clock() * 1000)) / 1000, 0.05), IDLE_POLL_S)

    async def _notify(self, record: CallRecord) -> None:
        assert record.callee is not None
        caller = await self._display_name(record.caller)
        tz = await self.tz() if self.tz is not None else UTC
        body = notice_text(self.template, record.kind, caller, record.invite_ts, tz)
        await ensure_bot_joined(self.intent, record.room_id)
        event_id = await send_event(
            self.intent,
            record.room_id,
            "m.room.message",
            {
                "msgtype": "m.notice",
                "body": body,
                "m.mentions": {"user_ids": [record.callee]},
                MISSED_CALL_KEY: {
                    "call_id": record.call_id,
                    "caller": record.caller,
                    "callee": record.callee,
                    "kind": record.kind,
                    "invite_ts": record.invite_ts,
                },
            },
            txn_id=f"cb-missed-{record.room_id}-{record.call_id}",
        )
        await self.store.set_notice(record.room_id, record.call_id, event_id)
        log.info("missed-call notice %s for call %s in %s", event_id, record.call_id, record.room_id)

    async def _display_name(self, user_id: str) -> str:
        try:
            name = await self.intent.get_displayname(user_id)  # type: ignore[arg-type]
        except MatrixRequestError:
            name = None
        return name or user_id

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.run_once()
            except Exception:
                log.exception("missed-call watcher step failed")
                delay = 5.0
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
