"""Hand-overs: when who holds a role changes (a shift boundary in the rota, an assignment
by hand, a person taking or releasing the role), the bot makes every role room of that
role follow, and records the hand-over.

Each pass compares "who holds it now" (policy.roles.who_holds on the clock's instant)
with the holders last applied (`role_holders`); on a difference it posts the record
(`org.carebridge.role.handover`, archived through the durable pipe) in the
administrators' room and a notice in each of the role's rooms, joins the next holder
(who reads the history: rooms keep it `shared`), removes the previous one, then stores
the new holders. A pass repeated after a crash sends the same records with the same
transaction ids. 45 CFR 164.312(b) audit controls: who held a role when, and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bridge.roles.desk import Desk
from policy.event_types import ROLE_HANDOVER_TYPE
from policy.roles import Holding, HoldReason, RoleSpec, who_holds

log = logging.getLogger(__name__)


@dataclass
class HandOverPass:
    """What one pass did (tests and logs)."""

    changed: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    next_due_ms: int | None = None


class HandOvers:
    """Clock-driven: keeps role rooms' membership on the current holders."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def run_once(self) -> HandOverPass:
        """Apply every hand-over due at the clock's instant."""
        desk = self.desk
        now = desk.now_ms()
        facts = await desk.store.facts(now)
        away = await desk.store.away(now)
        applied = await desk.store.holders()
        result = HandOverPass()
        for name, role in sorted(facts.items()):
            holding = who_holds(role, now, away)
            want = {c.user_id: c.source.value for c in sorted(holding.covers, key=lambda c: c.start_ms)}
            have = applied.get(name, {})
            if set(want) != set(have):
                # The key of this transition: the applied state's age (stable if the pass is
                # repeated after a crash, different for each later transition).
                applied_since = max((since for since, _ in have.values()), default=0)
                await self._hand_over(role.spec, tuple(sorted(have)), want, holding, now, applied_since)
                result.changed[name] = (tuple(sorted(have)), tuple(sorted(want)))
            if holding.until_ms is not None:
                due = result.next_due_ms
                result.next_due_ms = holding.until_ms if due is None else min(due, holding.until_ms)
        return result

    async def _hand_over(
        self,
        spec: RoleSpec,
        before: tuple[str, ...],
        want: dict[str, str],
        holding: Holding,
        now: int,
        applied_since: int,
    ) -> None:
        desk = self.desk
        after = tuple(sorted(want))
        source = "rota" if holding.reason is HoldReason.EMPTY else holding.reason.value
        if holding.reason in (HoldReason.FORWARDED, HoldReason.ALL_AWAY):
            source = sorted(set(want.values()))[0] if want else "rota"
        key = f"handover|{spec.name}|{','.join(before)}|{','.join(after)}|{applied_since}"
        record = {
            "role": spec.name,
            "display_name": spec.display_name,
            "from": list(before),
            "to": list(after),
            "source": source,
            "at_ts": now,
            "until_ts": holding.until_ms,
        }
        admin_room = desk.admin_room()
        if admin_room is not None:
            await desk.send(admin_room, record, key, ROLE_HANDOVER_TYPE)
        text = await self._text(spec, after, source, holding)
        for room in await desk.store.rooms_of(f"role:{spec.name}"):
            await desk.rooms.set_members(room, set(after))
            await desk.notice(room.room_id, text, key, {ROLE_HANDOVER_TYPE: record}, mention=after)
        await desk.store.set_holders(spec.name, want, now)
        log.info("role %s handed over (%d -> %d holders, %s)", spec.name, len(before), len(after), source)

    async def _backup(self, spec: RoleSpec) -> str:
        """The backup's name: a role's display name, a person's name, or the administrators."""
        if spec.backup is None:
            return "the administrators"
        if spec.backup.startswith("role:"):
            specs = await self.desk.store.specs()
            backup = specs.get(spec.backup.removeprefix("role:"))
            return f"its backup, {backup.display_name}" if backup else "its backup"
        return f"its backup, {await self.desk.name(spec.backup)}"

    async def _text(self, spec: RoleSpec, after: tuple[str, ...], source: str, holding: Holding) -> str:
        if not after:
            return f"Nobody holds {spec.display_name} now; messages here go to {await self._backup(spec)}."
        until = f", until {await self.desk.hhmm(holding.until_ms)}" if holding.until_ms is not None else ""
        how = {"rota": "by the rota", "assigned": "assigned by an administrator", "self": "taken"}.get(
            source, source
        )
        return f"{await self.desk.names(list(after))} now holds {spec.display_name} ({how}{until})."
