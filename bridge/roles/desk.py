"""What the role and urgent-message parts share: the bot's voice (notices, records,
forwarded copies), people's names, the organisation's time zone and urgent settings.

Every message the bot sends here uses a transaction id derived from what it is about
(the event, the step), so a step repeated after a crash is not sent twice. Bodies of
staff messages are copied only into Matrix rooms (where the archive keeps them), never
into a log line.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from mautrix.appservice import IntentAPI

from bridge.core.clock import Clock, to_ms
from bridge.core.room_ops import send_event
from bridge.db.directory import Directory
from bridge.roles.rooms import RoleRooms
from bridge.roles.store import RoleStore
from bridge.roles.urgent_store import UrgentStore
from policy.event_types import FORWARDED_KEY, URGENT_KEY
from policy.urgent import DEFAULT_ESCALATE_MS, DEFAULT_REPEAT_MS, without_keyword

log = logging.getLogger(__name__)


def txn(*parts: object) -> str:
    """A stable transaction id for one bot message about `parts`."""
    return "cb-role-" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class UrgentSettings:
    """How an urgent message's timers run, and where it escalates."""

    repeat_ms: int = DEFAULT_REPEAT_MS
    escalate_ms: int = DEFAULT_ESCALATE_MS
    escalate_to: str | None = None  # "role:NAME" or a user id; None: the administrators' room


@dataclass(frozen=True)
class Delivered:
    """Where a copy went: the room, the copy's event id, who reads it there."""

    room_id: str
    event_id: str
    readers: tuple[str, ...]
    label: str  # "House supervisor (Hana Sup)" / "the administrators"


class Desk:
    """Shared services of the roles feature."""

    def __init__(
        self,
        intent: IntentAPI,
        store: RoleStore,
        urgent: UrgentStore,
        directory: Directory,
        admin_room: Callable[[], str | None],
        clock: Clock,
    ) -> None:
        self.intent = intent
        self.bot = str(intent.mxid)
        self.store = store
        self.urgent = urgent
        self.directory = directory
        self.rooms = RoleRooms(intent, store)
        self.admin_room = admin_room
        self.clock = clock

    def now_ms(self) -> int:
        """The feature's clock, in epoch ms."""
        return to_ms(self.clock.now())

    async def name(self, user_id: str) -> str:
        """A person's display name from the directory (their id if unknown)."""
        user = await self.directory.user(user_id)
        return user.display_name if user is not None else user_id

    async def names(self, user_ids: Sequence[str]) -> str:
        """ "Ann Lee and Bo Chan"."""
        names = [await self.name(u) for u in user_ids]
        return " and ".join(names) if names else "nobody"

    async def tz(self) -> tzinfo:
        """The organisation's time zone."""
        org = await self.directory.setting("organization")
        try:
            return ZoneInfo(str((org or {}).get("timezone") or "UTC"))
        except (KeyError, ValueError):
            return UTC

    async def hhmm(self, ms: int) -> str:
        """A time of day in the organisation's zone."""
        return datetime.fromtimestamp(ms / 1000, await self.tz()).strftime("%H:%M")

    async def urgent_settings(self, channel_name: str | None = None) -> UrgentSettings:
        """policy.urgent from the org file (a channel's own escalation overrides it)."""
        policy = (await self.directory.setting("policy")) or {}
        urgent = policy.get("urgent") or {}
        escalate_to = urgent.get("escalate_to")
        minutes = int(urgent.get("escalation_minutes", DEFAULT_ESCALATE_MS // 60_000))
        if channel_name is not None:
            own = ((await self.directory.setting("channel_escalation")) or {}).get(channel_name) or {}
            escalate_to = own.get("escalate_to") or escalate_to
            minutes = int(own.get("escalation_minutes") or minutes)
        return UrgentSettings(
            repeat_ms=int(urgent.get("repeat_seconds", DEFAULT_REPEAT_MS // 1000)) * 1000,
            escalate_ms=minutes * 60_000,
            escalate_to=escalate_to,
        )

    async def send(
        self, room_id: str, content: dict[str, Any], key: str, event_type: str = "m.room.message"
    ) -> str:
        """Send as the bot with a transaction id derived from `key`."""
        return await send_event(self.intent, room_id, event_type, content, txn(room_id, event_type, key))

    async def notice(
        self,
        room_id: str,
        body: str,
        key: str,
        extra: Mapping[str, Any] | None = None,
        mention: Sequence[str] = (),
        alert: bool = False,
    ) -> str:
        """An m.notice from the bot, mentioning `mention`. With `alert` an m.text instead:
        every client's push rules drop notices (`.m.rule.suppress_notices` comes before the
        mention rules), so a notice never makes a phone ring; alerts must."""
        content: dict[str, Any] = {
            "msgtype": "m.text" if alert else "m.notice",
            "body": body,
            "m.mentions": {"user_ids": list(mention)},
        }
        content.update(extra or {})
        return await self.send(room_id, content, key)

    async def forward(
        self,
        event: Mapping[str, Any],
        target: str,
        readers: Sequence[str],
        label: str,
        why: str,
        urgent: bool,
    ) -> Delivered:
        """Copy a staff message into its sender's conversation with `target` ("role:NAME"
        or a user id) where `readers` read it; or, with no readers, into the
        administrators' room. The copy says who wrote it, to whom and why it moved."""
        sender = str(event["sender"])
        content = event.get("content") or {}
        raw = content.get("body")
        body = raw if isinstance(raw, str) else ""
        body = without_keyword(body) if urgent else body
        heading = f"{'URGENT ' if urgent else ''}from {await self.name(sender)} ({why})"
        copy: dict[str, Any] = {
            "msgtype": "m.text",
            "body": f"{heading}:\n{body}",
            "m.mentions": {"user_ids": list(readers)},
            FORWARDED_KEY: {
                "event_id": event["event_id"],
                "room_id": event["room_id"],
                "sender": sender,
                "reason": why,
                "target": target,
            },
        }
        if urgent:
            copy[URGENT_KEY] = True
        if not readers:
            admin_room = self.admin_room()
            if admin_room is None:
                raise RuntimeError("the administrators' room is not known yet")
            event_id = await self.send(admin_room, copy, f"forward|{event['event_id']}|{target}")
            return Delivered(admin_room, event_id, (), "the administrators")
        room_label = label if target.startswith("role:") else await self.name(target)
        room = await self.rooms.ensure(target, sender, room_label, readers)
        event_id = await self.send(room.room_id, copy, f"forward|{event['event_id']}|{target}")
        log.info(
            "forwarded %s to role room %s (%s)", event["event_id"], room.room_id, target.partition(":")[0]
        )
        return Delivered(room.room_id, event_id, tuple(readers), label)
