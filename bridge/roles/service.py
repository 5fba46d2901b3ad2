"""What staff can do with roles, shared by the web client's endpoints and the bot:
see who holds each role, open a conversation with one, take or release a role, and set
"do not disturb". Decisions come from policy.roles; each change is recorded (hand-overs
by the next pass, away status at once) in the administrators' room.
45 CFR 164.308(a)(4) information access management; 164.312(b) audit controls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bridge.roles.desk import Desk
from policy.event_types import AWAY_RECORD_TYPE
from policy.roles import CoverSource, may_take, who_holds
from policy.shifts import spec_from_definition

SELF_ASSIGN_MAX = timedelta(hours=12)


class RoleError(Exception):
    """A refusal with the HTTP status and Matrix errcode the client gets."""

    def __init__(self, message: str, status: int = 400, errcode: str = "M_INVALID_PARAM") -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode


class RoleService:
    """Staff-facing role actions over the started feature's Desk; `run_once` runs a
    hand-over pass so a change shows at once."""

    def __init__(self, desk: Desk | None, run_once: Callable[[], Awaitable[object]]) -> None:
        if desk is None:
            raise RoleError("The bridge is starting; try again in a moment.", 503, "M_UNKNOWN")
        self.desk = desk
        self._run_once = run_once

    async def overview(self, user_id: str) -> list[dict[str, Any]]:
        """Every role: holders now (with names), until when, backup, may the person take it."""
        now = self.desk.now_ms()
        facts = await self.desk.store.facts(now)
        away = await self.desk.store.away(now)
        out = []
        for name, role in sorted(facts.items(), key=lambda kv: kv[1].spec.display_name.lower()):
            holding = who_holds(role, now, away)
            holders = [
                {"user_id": u, "display_name": await self.desk.name(u), "away": u in holding.away}
                for u in holding.assigned_to
            ]
            until = max((c.end_ms for c in holding.covers), default=None)
            out.append(
                {
                    "name": name,
                    "display_name": role.spec.display_name,
                    "holders": holders,
                    "until_ts": until,
                    "reason": holding.reason.value,
                    "backup": role.spec.backup,
                    "can_take": may_take(role.spec, user_id) and user_id not in holding.assigned_to,
                    "holds": user_id in holding.assigned_to,
                }
            )
        return out

    async def open_room(self, name: str, user_id: str) -> str:
        """The person's conversation room with the role (holders joined)."""
        now = self.desk.now_ms()
        facts = await self.desk.store.facts(now)
        if name not in facts:
            raise RoleError(f"There is no role {name!r}.", 404, "M_NOT_FOUND")
        holding = who_holds(facts[name], now, await self.desk.store.away(now))
        if user_id in holding.assigned_to:
            raise RoleError("You hold this role yourself.", 400, "M_INVALID_PARAM")
        applied = (await self.desk.store.holders()).get(name, {})
        room = await self.desk.rooms.ensure(
            f"role:{name}", user_id, facts[name].spec.display_name, list(applied)
        )
        return room.room_id

    async def take(self, name: str, user_id: str) -> str:
        """Take the role until the end of its current shift (at most 12 hours)."""
        now = self.desk.now_ms()
        facts = await self.desk.store.facts(now)
        if name not in facts:
            raise RoleError(f"There is no role {name!r}.", 404, "M_NOT_FOUND")
        spec = facts[name].spec
        if not may_take(spec, user_id):
            why = "is not open to taking" if not spec.self_assign else "is for its members only"
            raise RoleError(f"{spec.display_name} {why}; ask an administrator.", 403, "M_FORBIDDEN")
        end = await self._shift_end(name, now)
        await self.desk.store.assign(name, user_id, now, end, CoverSource.SELF.value, user_id)
        await self._run_once()
        return f"You hold {spec.display_name} until {await self.desk.hhmm(end)}."

    async def release(self, name: str, user_id: str, by: str) -> str:
        """Give the role up now (a rota stretch or an assignment)."""
        now = self.desk.now_ms()
        facts = await self.desk.store.facts(now)
        if name not in facts:
            raise RoleError(f"There is no role {name!r}.", 404, "M_NOT_FOUND")
        rota_end = max((c.end_ms for c in facts[name].rota.at(now) if c.user_id == user_id), default=None)
        if not await self.desk.store.release(name, user_id, now, by, rota_end):
            raise RoleError(
                f"{user_id} does not hold {facts[name].spec.display_name}.", 400, "M_INVALID_PARAM"
            )
        await self._run_once()
        return f"{facts[name].spec.display_name} released."

    async def _shift_end(self, name: str, now: int) -> int:
        cap = now + int(SELF_ASSIGN_MAX.total_seconds() * 1000)
        raw = ((await self.desk.directory.setting("roles")) or {}).get(name) or {}
        schedule = raw.get("schedule")
        definitions = await self.desk.directory.schedules()
        if schedule is None or schedule not in definitions:
            return cap
        org = (await self.desk.directory.setting("organization")) or {}
        spec = spec_from_definition(
            schedule, definitions[schedule].model_dump(mode="json"), str(org.get("timezone") or "UTC")
        )
        at = datetime.fromtimestamp(now / 1000, spec.tz)
        for inst in spec.instances_between(at.date() - timedelta(days=1), at.date()):
            if inst.start.timestamp() * 1000 <= now < inst.end.timestamp() * 1000:
                return min(cap, int(inst.end.timestamp() * 1000))
        return cap

    async def away_state(self, user_id: str) -> dict[str, Any]:
        """{"away": bool, "forward_to", "until_ts"}."""
        state = (await self.desk.store.away(self.desk.now_ms())).get(user_id)
        if state is None:
            return {"away": False, "forward_to": None, "until_ts": None}
        return {"away": True, "forward_to": state.forward_to, "until_ts": state.until_ms}

    async def set_away(self, user_id: str, away: bool, forward_to: str | None, until_ms: int | None) -> str:
        """Set or clear do not disturb; recorded in the administrators' room."""
        now = self.desk.now_ms()
        if forward_to is not None:
            colleague = await self.desk.directory.user(forward_to)
            if colleague is None or not colleague.active or forward_to == user_id:
                raise RoleError(
                    "Forward to an active colleague (their @user:server id).", 400, "M_INVALID_PARAM"
                )
        if until_ms is not None and until_ms <= now:
            raise RoleError("The end of do not disturb must be in the future.", 400, "M_INVALID_PARAM")
        if away:
            await self.desk.store.set_away(user_id, now, until_ms, forward_to)
            text = "Do not disturb is on" + (
                f"; urgent messages go to {await self.desk.name(forward_to)}" if forward_to else ""
            )
        else:
            await self.desk.store.clear_away(user_id)
            text = "Do not disturb is off"
        admin_room = self.desk.admin_room()
        if admin_room is not None:
            record = {
                "user_id": user_id,
                "away": away,
                "forward_to": forward_to,
                "until_ts": until_ms,
                "at_ts": now,
            }
            await self.desk.send(admin_room, record, f"away|{user_id}|{now}", AWAY_RECORD_TYPE)
        await self._run_once()
        return text + "."
