"""The compliance scheduler against real Synapse, on a manual clock: end-of-shift logout ends
the session and is recorded as automatic; a missing person is alerted once at shift start
plus grace; the daily summary is posted."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import aiohttp
from nio import LogoutResponse

from bridge.commands.matrix import MautrixBot
from bridge.compliance.reports import Reports
from bridge.compliance.scheduler import AdminApiTerminator, ComplianceScheduler
from bridge.core.clock import ManualClock, from_ms
from bridge.db.engine import create_engine
from bridge.org.roster import Person, Roster, StaticRosterSource
from config.settings import ComplianceSettings
from policy.shifts import spec_from_definition
from tests.compliance_helpers import admin_room_id, bot_intent, client_api, ledger, wait_for
from tests.harness.stack import Stack

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def shift(start: datetime, hours: int = 8, **extra: object) -> dict[str, object]:
    end = start + timedelta(hours=hours)
    return {"days": EVERY_DAY, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "grace_minutes": 15, **extra}


async def test_end_of_shift_logout_ends_the_session_and_records_it_as_automatic(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    rows, _ = await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[0]) == 1, what="login")
    logged_in = from_ms(rows[0].login_ts)
    spec = spec_from_definition(
        "ward", shift(logged_in - timedelta(hours=1), end_of_shift_logout=True), "UTC"
    )
    directory = StaticRosterSource(
        Roster("UTC", {user_id: Person(user_id, "Nurse", "staff", "ward")}, {"ward": spec})
    )
    clock = ManualClock(logged_in + timedelta(hours=6))  # within the shift: nothing due
    room = await admin_room_id(stack)
    engine = create_engine(stack.s.database_url)
    settings = ComplianceSettings(missing_alerts=False, daily_summary_at=None)
    async with aiohttp.ClientSession() as http:
        intent = bot_intent(stack, http)
        reports = Reports(engine, directory, clock)
        scheduler = ComplianceScheduler(
            engine,
            directory,
            reports,
            MautrixBot(intent),
            AdminApiTerminator(intent),
            settings,
            clock,
            lambda: room,
        )
        try:
            assert (await scheduler.run_once()).ended == {}
            clock.set(logged_in + timedelta(hours=7, minutes=14))  # end + 14 min: still within grace
            assert (await scheduler.run_once()).ended == {}
            clock.set(logged_in + timedelta(hours=7, minutes=16))  # past end + grace
            assert (await scheduler.run_once()).ended == {user_id: [client.device_id]}
        finally:
            await engine.dispose()
    status, body = await client_api(stack, "GET", "/_matrix/client/v3/account/whoami", client.access_token)
    assert status == 401, body
    rows, _ = await wait_for(
        lambda: ledger(stack, user_id), lambda r: r[0][0].logout_ts is not None, what="closed"
    )
    assert (rows[0].close_reason, rows[0].close_detail) == ("automatic", "end_of_shift")
    assert rows[0].closed_by == f"@carebridge:{stack.server_name}"
    await client.close()


async def test_missing_alert_once_at_start_plus_grace_and_daily_summary(stack: Stack) -> None:
    present_id, password = await stack.create_user()
    absent_id, _ = await stack.create_user()
    client = await stack.login(present_id, password)
    rows, _ = await wait_for(lambda: ledger(stack, present_id), lambda r: len(r[0]) == 1, what="login")
    logged_in = from_ms(rows[0].login_ts)
    name = f"shift-{present_id[1:9]}"
    spec = spec_from_definition(name, shift(logged_in - timedelta(minutes=5)), "UTC")
    people = {
        present_id: Person(present_id, "Present Person", "staff", name),
        absent_id: Person(absent_id, "Absent Person", "staff", name),
    }
    directory = StaticRosterSource(Roster("UTC", people, {name: spec}))
    instance = spec.instance_on(spec.local_date(logged_in - timedelta(minutes=5)))
    assert instance is not None
    clock = ManualClock(instance.deadline - timedelta(minutes=1))
    room = await admin_room_id(stack)
    engine = create_engine(stack.s.database_url)
    settings = ComplianceSettings(missing_alerts=True, daily_summary_at="00:30")
    next_midnight = datetime.combine(instance.day + timedelta(days=1), time(0), UTC)
    async with aiohttp.ClientSession() as http:
        intent = bot_intent(stack, http)
        scheduler = ComplianceScheduler(
            engine, directory, Reports(engine, directory, clock), MautrixBot(intent),
            AdminApiTerminator(intent), settings, clock, lambda: room,
        )  # fmt: skip
        try:
            before = await scheduler.run_once()
            assert not [k for k in before.alerts if k.startswith("missing:")], "not before start + grace"
            clock.set(instance.deadline)
            first = await scheduler.run_once()
            assert first.alerts == [f"missing:{name}:{instance.day.isoformat()}"]
            assert (await scheduler.run_once()).alerts == [], "posted once"
            out = await client.logout()  # signs out within the shift
            assert isinstance(out, LogoutResponse), out
            await wait_for(
                lambda: ledger(stack, present_id), lambda r: r[0][0].logout_ts is not None, what="out"
            )
            clock.set(next_midnight + timedelta(minutes=29))  # before the summary time
            assert not [k for k in (await scheduler.run_once()).alerts if k.startswith("summary:")]
            clock.set(next_midnight + timedelta(minutes=31))
            summary = await scheduler.run_once()
            assert f"summary:{instance.day.isoformat()}" in summary.alerts
        finally:
            await engine.dispose()

    async def notices() -> list[str]:
        events = [e.event for e in await stack.archived(room) if e.event["type"] == "m.room.message"]
        return [str(e["content"].get("body", "")) for e in events]

    bodies = await wait_for(
        notices,
        lambda b: (
            any(x.startswith(f"Missing from {name}") for x in b)
            and any(absent_id in x and "summary" in x for x in b)
        ),
        what="alert and summary archived",
    )
    alert = next(b for b in bodies if b.startswith(f"Missing from {name}"))
    assert absent_id in alert and present_id not in alert
    summary_text = next(
        b for b in bodies if b.startswith(f"Daily compliance summary for {instance.day.isoformat()}")
    )
    assert f"Absent Person ({absent_id}): missing" in summary_text
    assert present_id not in summary_text, "on time, signed out before the end: nothing to report"
    await client.close()
