"""The urgent-message timers: read receipts stop them, repeat alerts until then, and
escalation to the backup when unread too long.

Each pass (clock-driven; tests call `run_once` on a manual clock) polls the read
receipts of the rooms with open urgent messages, records the ones read, then asks the
pure policy (policy.urgent.next_step) what each other one needs now: a repeat alert (a
bot notice mentioning the recipients, so every client notifies), or escalation (a copy to
the backup, and the sender told "not read by Dr. Lee after 5 min; sent to the house
supervisor"). Every step is an `org.carebridge.urgent.record` event in the message's room,
so the archive and `carebridge export` tell the whole story. 45 CFR 164.312(b).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mautrix.errors import MatrixRequestError

from bridge.archive.reader import iter_events
from bridge.db.tables import archive_events
from bridge.roles.desk import Delivered, Desk
from bridge.roles.receipts import archive_seqs, latest_receipts
from bridge.roles.urgent_store import UrgentRow
from policy.event_types import URGENT_RECORD_TYPE
from policy.roles import ADMINS_TARGET, RouteReason, target_route
from policy.urgent import Step, StepReason, UrgentKind, alert_mentions, minutes_text, next_step

log = logging.getLogger(__name__)


@dataclass
class UrgentPass:
    """What one pass did."""

    read: list[str] = field(default_factory=list)
    alerted: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    next_due_ms: int | None = None


@dataclass(frozen=True)
class Recipient:
    """Where a copy goes now: "role:NAME", a user id or "admins"; who reads it there; how
    notices name it; and the person it was meant for when they are away (DND)."""

    target: str
    readers: tuple[str, ...]
    label: str
    instead_of: str | None = None


ADMINS = Recipient(ADMINS_TARGET, (), "the administrators")


class UrgentTimers:
    """Alerts and escalations of unread urgent messages."""

    def __init__(self, desk: Desk, keyring: Any = None) -> None:
        self.desk = desk
        self.keyring = keyring
        self._poke: Any = None

    def poke(self) -> None:
        """Something changed: the loop should run a pass soon."""
        if self._poke is not None:
            self._poke()

    async def record(self, room_id: str, event_id: str, step: str, extra: Mapping[str, Any]) -> None:
        """Archive one step of an urgent message (an event in its room)."""
        content = {"event_id": event_id, "step": step, "at_ts": self.desk.now_ms(), **extra}
        key = f"urgent-record|{event_id}|{step}|{extra.get('n', '')}"
        await self.desk.send(room_id, content, key, URGENT_RECORD_TYPE)

    async def resolve(self, target: str | None, now: int) -> Recipient:
        """Who reads a copy addressed to `target` ("role:NAME", a user id, None or
        "admins") now (policy.roles.target_route: a role's chain, a person's DND)."""
        desk = self.desk
        facts = await desk.store.facts(now)
        found = target_route(target, facts, now, await desk.store.away(now))
        if not found.readers:
            return ADMINS
        if target is not None and target.startswith("role:"):
            role = found.via[-1]
            title = facts[role].spec.display_name
            names = await desk.names(list(found.readers))
            return Recipient(f"role:{role}", found.readers, f"{title} ({names})")
        (reader,) = found.readers
        if found.reason is RouteReason.FORWARDED and target is not None:
            label = f"{await desk.name(reader)} ({await desk.name(target)} is away)"
            return Recipient(reader, found.readers, label, instead_of=target)
        return Recipient(reader, found.readers, await desk.name(reader))

    async def audience(self, row: UrgentRow, word: str) -> str:
        """The recipients as notices name them: "Nina Nurse", or "everyone in ICU nursing"
        (`word` "everyone"/"anyone") for a channel message that mentioned nobody."""
        if row.kind == UrgentKind.CHANNEL_ALL:
            channel = await self.desk.directory.channel_by_room(row.room_id)
            return f"{word} in {channel.display_name if channel is not None else 'this channel'}"
        return await self.desk.names(list(row.recipients))

    async def read_by_reply(self, room_id: str, sender: str, seq: int) -> None:
        """A recipient wrote in the room after an urgent message: they have read it."""
        rows = [r for r in await self.desk.urgent.open_in_room(room_id) if sender in r.recipients]
        if not rows:
            return
        seqs = await archive_seqs(self.desk.urgent.engine, [r.event_id for r in rows])
        for row in rows:
            if row.event_id in seqs and seqs[row.event_id] < seq:
                await self._read(row, sender, self.desk.now_ms(), "reply")

    async def run_once(self) -> UrgentPass:
        """Do what is due at the clock's instant."""
        result = UrgentPass()
        rows = await self.desk.urgent.open_rows()
        if not rows:
            return result
        try:
            receipts = await latest_receipts(self.desk.intent, {r.room_id for r in rows})
        except MatrixRequestError as exc:
            log.warning("polling read receipts failed: %s", exc.errcode)
            receipts = {}
        wanted = {r.event_id for r in rows} | {
            x.event_id for room in receipts.values() for x in room.values()
        }
        seqs = await archive_seqs(self.desk.urgent.engine, wanted)
        now = self.desk.now_ms()
        roles = await self.desk.store.specs()
        for row in rows:
            reader = _reader(row, receipts.get(row.room_id, {}), seqs)
            if reader is not None:
                # The receipt's own time; when it falls outside [sent, now] (the server's
                # clock disagrees with ours, or a test's manual clock), the time it was seen.
                at = reader[1] if row.sent_ts <= reader[1] <= now else now
                await self._read(row, reader[0], at, "receipt")
                result.read.append(row.event_id)
                continue
            decision = next_step(row.facts(roles), now)
            if decision.step is Step.ALERT:
                await self._alert(row, now)
                result.alerted.append(row.event_id)
            elif decision.step is Step.ESCALATE:
                await self._escalate(row, now, decision.reason is StepReason.ROLE_REMOVED)
                result.escalated.append(row.event_id)
            if decision.next_due_ms is not None and decision.step is not Step.ESCALATE:
                due = result.next_due_ms
                result.next_due_ms = decision.next_due_ms if due is None else min(due, decision.next_due_ms)
        return result

    async def _read(self, row: UrgentRow, by: str, at_ms: int, how: str) -> None:
        if await self.desk.urgent.mark_read(row.event_id, by, at_ms):
            await self.record(
                row.room_id,
                row.event_id,
                "read",
                {
                    "read_by": by,
                    "read_ts": at_ms,
                    "how": how,
                    "alerts": row.alerts,
                    "time_to_read_ms": max(0, at_ms - row.sent_ts),
                },
            )
            log.info("urgent message %s read (%s)", row.event_id, how)

    async def _alert(self, row: UrgentRow, now: int) -> None:
        desk = self.desk
        n = row.alerts + 1
        waited = minutes_text(now - row.sent_ts)
        body = (
            f"URGENT message from {await desk.name(row.sender)} is still unread after {waited}: "
            f"{await self.audience(row, 'everyone')}, please read it."
        )
        extra = {
            URGENT_RECORD_TYPE: {"event_id": row.event_id, "step": "alert", "n": n, "sender": row.sender},
            "m.mentions": alert_mentions(row.recipients),
        }
        await desk.notice(row.room_id, body, f"alert|{row.event_id}|{n}", extra, alert=True)
        await desk.urgent.mark_alert(row.event_id, now, n)

    async def _escalate(self, row: UrgentRow, now: int, role_removed: bool = False) -> None:
        desk = self.desk
        target = await self._target(row, now)
        original = await self._original(row)
        waited = minutes_text(now - row.sent_ts if role_removed else row.escalate_ms or (now - row.sent_ts))
        names = await self.audience(row, "anyone")
        unread = f"not read by {names} after {waited}" + ("; the role was removed" if role_removed else "")
        delivered = await desk.forward(
            original, target.target, target.readers, target.label, f"escalated: {unread}", urgent=True
        )
        await desk.notice(
            row.room_id,
            f"N{unread[1:]}; sent to {delivered.label}.",
            f"escalated|{row.event_id}",
            {
                URGENT_RECORD_TYPE: {
                    "event_id": row.event_id,
                    "step": "escalated",
                    "to": list(delivered.readers),
                }
            },
            mention=[row.sender],
            alert=True,  # the sender is told, wherever they are
        )
        step: dict[str, Any] = {
            "to": list(delivered.readers),
            "target": target.target,
            "room_id": delivered.room_id,
            "copy_event_id": delivered.event_id,
            "after_ms": now - row.sent_ts,
        }
        if target.instead_of is not None:
            step["away"] = target.instead_of  # the person meant, away (DND): their forward-to read it
        await self.record(row.room_id, row.event_id, "escalated", step)
        await desk.urgent.mark_escalated(row.event_id, now, delivered.readers, delivered.room_id)
        if delivered.readers:
            timing = (row.repeat_ms, row.escalate_ms)
            await self.track_copy(row.event_id, row.sender, delivered, target.target, timing, now)
        log.info("urgent message %s escalated (%d readers)", row.event_id, len(delivered.readers))

    async def track_copy(
        self,
        original: str,
        sender: str,
        delivered: Delivered,
        target: str,
        timing: tuple[int, int | None],
        now: int,
    ) -> None:
        """A copy sent on (escalated, forwarded, routed) is urgent in its own right: its own
        repeat alerts, and its own escalation (a role copy: the role's backup after the
        role's time; a person's: the administrators after `timing`'s escalation time).
        `timing`: (repeat_ms, escalate_ms) of the message it copies."""
        repeat_ms, escalate_ms = timing
        desk = self.desk
        role = target.removeprefix("role:") if target.startswith("role:") else None
        spec = (await desk.store.specs()).get(role) if role else None
        added = await desk.urgent.add(
            UrgentRow(
                event_id=delivered.event_id,
                room_id=delivered.room_id,
                sender=sender,
                kind=UrgentKind.ROLE if role else UrgentKind.DM,
                role=role,
                recipients=delivered.readers,
                sent_ts=now,
                repeat_ms=repeat_ms,
                escalate_ms=spec.escalation_ms if spec else escalate_ms,
                escalate_to=None if role else ADMINS_TARGET,
                escalated_from=original,
            )
        )
        if added:
            self.poke()

    async def _target(self, row: UrgentRow, now: int) -> Recipient:
        """Where an unread urgent message goes: a role's backup, else the channel's (or the
        organisation's) escalate_to, else the administrators."""
        if row.kind == UrgentKind.ROLE and row.role is not None:
            role = (await self.desk.store.facts(now)).get(row.role)
            return await self.resolve(role.spec.backup if role is not None else None, now)
        return await self.resolve(row.escalate_to, now)

    async def _original(self, row: UrgentRow) -> dict[str, Any]:
        """The urgent message as archived (its body goes into the copy)."""
        if self.keyring is not None:
            where = archive_events.c.event_id == row.event_id
            async for archived in iter_events(self.desk.urgent.engine, self.keyring, where=where):
                return dict(archived.event)
        return {
            "event_id": row.event_id,
            "room_id": row.room_id,
            "sender": row.sender,
            "content": {"body": ""},
        }


def _reader(row: UrgentRow, receipts: Mapping[str, Any], seqs: Mapping[str, int]) -> tuple[str, int] | None:
    """The first recipient whose receipt covers the message (its event or a later one)."""
    at = seqs.get(row.event_id)
    if at is None:
        return None
    hits = [
        (receipt.ts, user)
        for user, receipt in receipts.items()
        if user in row.recipients and seqs.get(receipt.event_id, -1) >= at
    ]
    if not hits:
        return None
    ts, user = min(hits)
    return user, ts
