"""A real Synapse with the Carebridge bridge running in the test's own event loop on a
manual clock (hand-overs and urgent timers are driven by the roles feature's `run_once()`
after the test moves the clock; nothing sleeps through a shift), and the organisation of the
roles tests applied with the real `carebridge provision apply`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nio import AsyncClient

from bridge.core.clock import ManualClock
from bridge.service import Bridge
from tests.harness.provision import carebridge
from tests.harness.stack import Stack, strong_password

# Monday 7 January 2030, two minutes before the day shift (the organisation runs on UTC).
T0 = datetime(2030, 1, 7, 6, 58, tzinfo=UTC)
PEOPLE = {
    "nina": ("Nina Nurse", "er-nurses"),
    "omar": ("Omar Nurse", "er-nurses"),
    "sam": ("Sam Supervisor", "supervisors"),
    "lee": ("Dr. Lee", "physicians"),
    "pat": ("Pat Pharmacist", "pharmacists"),
    "ray": ("Ray Pharmacist", "pharmacists"),
}

ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Carebridge tests//Rota//EN
BEGIN:VEVENT
UID:nights@carebridge.test
DTSTART:20300106T190000Z
DURATION:PT12H
RRULE:FREQ=DAILY;COUNT=5
X-CAREBRIDGE-ROLE:er-charge-nurse
ATTENDEE:mailto:omar@clinic.example
END:VEVENT
END:VCALENDAR
"""


def org_yaml() -> str:
    """Two roles with a rota (days in the org file, nights from rota.ics), a supervisor role
    as their backup, and a pharmacist role nobody holds."""
    users = "".join(
        f"  - {{username: {u}, display_name: {name}, email: {u}@clinic.example, groups: [{group}]}}\n"
        for u, (name, group) in PEOPLE.items()
    )
    return (
        "organization: {name: Roles Clinic, timezone: UTC}\n"
        "groups: {er-nurses: {}, supervisors: {}, physicians: {}, pharmacists: {}}\n"
        "schedules:\n"
        '  er-days: {days: [mon, tue, wed, thu, fri, sat, sun], start: "07:00", end: "19:00"}\n'
        f"users:\n{users}"
        "roles:\n"
        "  er-charge-nurse:\n"
        "    display_name: ER charge nurse\n"
        "    schedule: er-days\n"
        "    members: [group:er-nurses]\n"
        "    backup: role:house-supervisor\n"
        "    escalation_minutes: 5\n"
        "  house-supervisor: {display_name: House supervisor, members: [group:supervisors]}\n"
        "  pharmacist-on-call:\n"
        "    display_name: Pharmacist on call\n"
        "    members: [group:pharmacists]\n"
        "    backup: role:house-supervisor\n"
        "    self_assign: true\n"
        "rota:\n"
        "  - {role: er-charge-nurse, user: nina, from: 2030-01-07, until: 2030-01-08}\n"
        '  - {role: house-supervisor, user: sam, start: "2030-01-06 00:00", end: "2030-01-14 00:00"}\n'
        "  - {file: rota.ics}\n"
        "policy:\n"
        "  urgent: {repeat_seconds: 120, escalation_minutes: 5, escalate_to: role:house-supervisor}\n"
    )


@dataclass
class RolesOrg:
    """The running stack, the in-process bridge, its clock and everyone's client."""

    stack: Stack
    bridge: Bridge
    clock: ManualClock
    clients: dict[str, AsyncClient] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def uid(self, name: str) -> str:
        return f"@{name}:{self.stack.server_name}"

    async def tick(self, **delta: float) -> Any:
        """Move the clock forward and run one pass of hand-overs and urgent timers."""
        self.clock.advance(timedelta(**delta))
        return await self.bridge.roles.run_once()


async def _apply(stack: Stack, folder: Path) -> None:
    (folder / "rota.ics").write_text(ICS)
    org_file = folder / "org.yaml"
    org_file.write_text(org_yaml())
    code, out, err = await carebridge(stack, "provision", "apply", "--format", "json", str(org_file))
    assert code == 0, out + err


@asynccontextmanager
async def roles_org(root: Path, web: bool = False) -> AsyncIterator[RolesOrg]:
    """Synapse (subprocess) + the bridge in this event loop on a manual clock + the org;
    with `web`, the bridge also serves the web client."""
    settings = {
        "roles": {"timers_enabled": False},
        "web": {"enabled": web},
        "organization_name": "Roles Clinic",
    }
    stack = Stack(root=root, extra_settings=settings)
    stack.init()
    clock = ManualClock(T0)
    await asyncio.to_thread(stack.start_synapse)
    bridge = Bridge.from_settings(stack.s, clock=clock)
    try:
        await bridge.start()
        await stack.wait_background_updates()
        await _apply(stack, root)
        org = RolesOrg(stack, bridge, clock)
        for name in PEOPLE:
            password = strong_password()
            await stack.admin("PUT", f"/_synapse/admin/v2/users/{org.uid(name)}", {"password": password})
            org.passwords[name] = password
            org.clients[name] = await stack.login(org.uid(name), password)
        yield org
        await asyncio.gather(*(c.close() for c in org.clients.values()))
    finally:
        await bridge.stop()
        stack.stop_synapse()


def records(events: list[Any], event_type: str) -> list[dict[str, Any]]:
    """The contents of archived events of one type."""
    return [dict(e.event["content"]) for e in events if e.event.get("type") == event_type]


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
