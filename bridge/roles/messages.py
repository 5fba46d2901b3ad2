"""Consumer `roles`: messages to roles, urgent messages, and replies that count as read.

For each archived m.room.message:
- in a role room, from the person writing to the role: if nobody can read it there (the
  role is empty, or its holders are away), the sender is told at once and a copy goes to
  the backup (or the away holder's forward-to, or the administrators' room);
- an urgent message (policy.urgent.is_urgent) starts its timers for its recipients: the
  role's readers, the other people of a direct conversation, or those mentioned in a
  channel. Recipients who are away are not alerted: the message goes to their
  forward-to, or escalates at once;
- a message from a recipient after an urgent message counts as reading it.
45 CFR 164.312(b) audit controls; 164.308(a)(6) (an urgent message is never silent).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.archive.writer import ArchivedEvent
from bridge.core.room_ops import ensure_bot_joined, joined_members
from bridge.roles.desk import Delivered, Desk
from bridge.roles.store import RoleRoom
from bridge.roles.urgent_store import UrgentRow
from bridge.roles.urgent_timers import UrgentTimers
from policy.event_types import FORWARDED_KEY
from policy.roles import Away, RouteReason, route
from policy.urgent import is_urgent, minutes_text

log = logging.getLogger(__name__)

ROLE_EVENT_TYPES = frozenset({"m.room.message"})


class RoleMessages:
    """Routes messages to roles and starts urgent timers."""

    def __init__(self, desk: Desk, timers: UrgentTimers) -> None:
        self.desk = desk
        self.timers = timers

    async def handle(self, archived: ArchivedEvent) -> None:
        """Dispatcher handler (idempotent: copies and notices have stable txn ids, urgent
        rows are keyed by event id)."""
        event = archived.event
        sender = str(event.get("sender", ""))
        content = event.get("content")
        if (
            event.get("type") != "m.room.message"
            or sender == self.desk.bot
            or not isinstance(content, Mapping)
        ):
            return
        room_id = str(event["room_id"])
        await self.timers.read_by_reply(room_id, sender, archived.seq)
        urgent = is_urgent(content)
        room = await self.desk.store.room(room_id)
        if room is not None and room.role is not None and sender == room.requester:
            await self._to_role(room, event, urgent)
        elif urgent:
            await self._urgent_to_people(event, room)

    async def _to_role(self, room: RoleRoom, event: Mapping[str, Any], urgent: bool) -> None:
        desk = self.desk
        assert room.role is not None
        now = desk.now_ms()
        facts = await desk.store.facts(now)
        away = await desk.store.away(now)
        spec = facts[room.role].spec if room.role in facts else None
        label = spec.display_name if spec else room.role
        found = route(room.role, facts, now, away)
        if found.reason is RouteReason.HOLDER:
            if urgent:
                await self._track(
                    event, found.readers, "role", room.role, spec.escalation_ms if spec else None
                )
            return
        if found.reason is RouteReason.FORWARDED:
            gone = found.holding.away if found.holding else ()
            why = f"to {label}; {await desk.names(list(gone))} is away"
            target = found.readers[0]
        else:
            why = f"to {label}; nobody holds it now"
            target = (
                f"role:{found.via[-1]}" if found.reason is RouteReason.BACKUP and len(found.via) > 1 else ""
            )
            if found.reason is RouteReason.BACKUP and len(found.via) == 1:
                target = found.readers[0]  # the role's backup is a person
        where = await self._label(target, found.readers)
        delivered = await desk.forward(event, target or "admins", found.readers, where, why, urgent)
        await desk.notice(
            room.room_id,
            f"{why.removeprefix('to ')}. Your message was sent to {delivered.label}.",
            f"routed|{event['event_id']}",
            {FORWARDED_KEY: _routing(event, delivered, found.reason.value)},
            mention=[str(event["sender"])],
        )
        if urgent and delivered.readers:
            await self._track_copy(event, delivered, "role", found.via[-1])

    async def _label(self, target: str, readers: Sequence[str]) -> str:
        desk = self.desk
        if not target or target == "admins":
            return "the administrators"
        if target.startswith("role:"):
            specs = await desk.store.specs()
            role = specs.get(target.removeprefix("role:"))
            title = role.display_name if role else target
            return f"{title} ({await desk.names(list(readers))})" if readers else title
        return await desk.name(target)

    async def _urgent_to_people(self, event: Mapping[str, Any], room: RoleRoom | None) -> None:
        desk = self.desk
        room_id, sender = str(event["room_id"]), str(event["sender"])
        channel = await desk.directory.channel_by_room(room_id)
        members = [m for m in await joined_members(desk.intent, room_id) if m not in (desk.bot, sender)]
        if channel is not None:
            mentions = (event["content"].get("m.mentions") or {}).get("user_ids") or []
            recipients = [m for m in members if m in mentions]
            if not recipients:
                await desk.notice(
                    room_id,
                    "An urgent message in a channel alerts the people it mentions; this one mentions nobody.",
                    f"urgent-nobody|{event['event_id']}",
                    mention=[sender],
                )
                return
            settings = await desk.urgent_settings(channel.name)
            kind = "channel"
        else:
            recipients = members
            settings = await desk.urgent_settings()
            kind = "role" if room is not None else "dm"
        if not recipients:
            return
        await ensure_bot_joined(desk.intent, room_id)  # it alerts, tells and reads receipts there
        away = await desk.store.away(desk.now_ms())
        here = [r for r in recipients if r not in away]
        for person in [r for r in recipients if r in away]:
            await self._away(event, person, away[person], settings.escalate_to)
        if here:
            await self._track(
                event, here, kind, None, settings.escalate_ms, settings.repeat_ms, settings.escalate_to
            )

    async def _away(
        self, event: Mapping[str, Any], person: str, state: Away, escalate_to: str | None
    ) -> None:
        """An urgent message to someone away: their forward-to, else the escalation target."""
        desk = self.desk
        name = await desk.name(person)
        target = state.forward_to or escalate_to or "admins"
        readers = await self.timers.readers_of(target)
        why = f"{name} is away (do not disturb)"
        where = await self._label(target, readers)
        delivered = await desk.forward(event, target, readers, where, why, urgent=True)
        await desk.notice(
            str(event["room_id"]),
            f"{why}. Your urgent message was sent to {delivered.label}.",
            f"away|{event['event_id']}|{person}",
            {FORWARDED_KEY: _routing(event, delivered, "away")},
            mention=[str(event["sender"])],
        )
        await self.timers.record(
            str(event["room_id"]),
            str(event["event_id"]),
            "forwarded",
            {
                "away": person,
                "to": list(delivered.readers),
                "copy_event_id": delivered.event_id,
            },
        )
        if delivered.readers:
            await self._track_copy(event, delivered, "dm", None)

    async def _track(
        self,
        event: Mapping[str, Any],
        recipients: Sequence[str],
        kind: str,
        role: str | None,
        escalate_ms: int | None,
        repeat_ms: int | None = None,
        escalate_to: str | None = None,
    ) -> None:
        settings = await self.desk.urgent_settings()
        row = UrgentRow(
            event_id=str(event["event_id"]),
            room_id=str(event["room_id"]),
            sender=str(event["sender"]),
            kind=kind,
            role=role,
            recipients=tuple(sorted(recipients)),
            sent_ts=self.desk.now_ms(),
            repeat_ms=repeat_ms or settings.repeat_ms,
            escalate_ms=escalate_ms if escalate_ms is not None else settings.escalate_ms,
            escalate_to=escalate_to if kind != "role" else None,
        )
        if await self.desk.urgent.add(row):
            log.info(
                "urgent message %s in %s (%s, %d recipients)",
                row.event_id,
                row.room_id,
                kind,
                len(recipients),
            )
            self.timers.poke()

    async def _track_copy(
        self, event: Mapping[str, Any], delivered: Delivered, kind: str, role: str | None
    ) -> None:
        """The forwarded copy is urgent in its own right (its own timers, its own backup)."""
        specs = await self.desk.store.specs()
        spec = specs.get(role) if role else None
        settings = await self.desk.urgent_settings()
        row = UrgentRow(
            event_id=delivered.event_id,
            room_id=delivered.room_id,
            sender=str(event["sender"]),
            kind="role" if role else kind,
            role=role,
            recipients=delivered.readers,
            sent_ts=self.desk.now_ms(),
            repeat_ms=settings.repeat_ms,
            escalate_ms=spec.escalation_ms if spec else settings.escalate_ms,
            escalate_to=None if role else "admins",
            escalated_from=str(event["event_id"]),
        )
        if await self.desk.urgent.add(row):
            self.timers.poke()


def _routing(event: Mapping[str, Any], delivered: Delivered, reason: str) -> dict[str, Any]:
    return {
        "event_id": event["event_id"],
        "to": list(delivered.readers),
        "room_id": delivered.room_id,
        "copy_event_id": delivered.event_id,
        "reason": reason,
    }


__all__ = ["ROLE_EVENT_TYPES", "RoleMessages", "minutes_text"]
