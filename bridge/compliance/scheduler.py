"""The compliance scheduler: missing-staff alerts, the daily summary, end-of-shift logout.

Runs inside the bridge, checking the (injectable) clock every few seconds; each pass is
`run_once()`, which tests call directly with a ManualClock. Alerts and summaries are
posted once: `compliance_alerts` remembers each, and the message's transaction id is
derived from its key, so a crash between posting and remembering does not post twice.
45 CFR 164.308(a)(5)(ii)(C) log-in monitoring; 164.312(a)(2)(iii) automatic logoff.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from mautrix.api import Method
from mautrix.appservice import IntentAPI
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.commands.matrix import BotClient
from bridge.compliance.report_queries import open_sessions
from bridge.compliance.reports import Evaluated, Reports, fmt_dt, summarise
from bridge.core.clock import Clock, to_ms
from bridge.core.synapse_http import ADMIN
from bridge.core.tasks import cancel_and_wait
from bridge.db.tables import compliance_alerts
from bridge.org.roster import Roster, RosterSource
from config.settings import ComplianceSettings
from policy.session_reason import REASON_PARAM
from policy.shifts import Flag, ShiftInstance, Status, logout_due, parse_hhmm

log = logging.getLogger(__name__)


class SessionTerminator(Protocol):
    """Ends sessions on the homeserver (the bot is a Synapse admin)."""

    async def end_sessions(self, user_id: str, device_ids: list[str]) -> None:
        """Delete the devices (and so their access tokens), marked as end-of-shift."""
        ...


class AdminApiTerminator:
    """POST /_synapse/admin/v2/users/<user>/delete_devices?carebridge_reason=end_of_shift.

    The marker lets the module record these logouts as automatic; it believes the marker
    only from the bot.
    """

    def __init__(self, intent: IntentAPI) -> None:
        self.intent = intent

    async def end_sessions(self, user_id: str, device_ids: list[str]) -> None:
        """Delete the given devices of `user_id`."""
        await self.intent.api.request(
            Method.POST,
            f"{ADMIN}/v2/users/{quote(user_id, safe='')}/delete_devices",
            {"devices": device_ids},
            query_params={REASON_PARAM: "end_of_shift"},
        )


@dataclass
class PassResult:
    """What one scheduler pass did (for logs and tests)."""

    alerts: list[str] = field(default_factory=list)
    ended: dict[str, list[str]] = field(default_factory=dict)


def _txn(key: str) -> str:
    return "cb-alert-" + hashlib.sha256(key.encode()).hexdigest()[:32]


class ComplianceScheduler:
    """Clock-driven compliance duties."""

    def __init__(
        self,
        engine: AsyncEngine,
        directory: RosterSource,
        reports: Reports,
        bot: BotClient,
        terminator: SessionTerminator,
        settings: ComplianceSettings,
        clock: Clock,
        admin_room: Callable[[], str | None],
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.reports = reports
        self.bot = bot
        self.terminator = terminator
        self.settings = settings
        self.clock = clock
        self.admin_room = admin_room
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Run passes every `scheduler_interval_seconds` until stop()."""
        self._task = asyncio.create_task(self._loop(), name="carebridge-compliance-scheduler")

    async def stop(self) -> None:
        """Cancel the loop."""
        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("compliance scheduler pass failed; retrying next interval")
            await self.clock.sleep(self.settings.scheduler_interval_seconds)

    # --- one pass ------------------------------------------------------------------
    async def run_once(self) -> PassResult:
        """Do whatever is due at the clock's current time."""
        result = PassResult()
        roster = await self.directory.roster()
        now = self.clock.now()
        if self.settings.missing_alerts:
            await self._missing_alerts(roster, now, result)
        if self.settings.daily_summary_at is not None:
            await self._daily_summary(roster, now, result)
        await self._end_of_shift(roster, now, result)
        return result

    async def _missing_alerts(self, roster: Roster, now: datetime, result: PassResult) -> None:
        today = now.astimezone(roster.tz).date()
        for name, spec in roster.schedules.items():
            for day in (today - timedelta(days=1), today):
                instance = spec.instance_on(day)
                if instance is None or not instance.deadline <= now < instance.end:
                    continue
                key = f"missing:{name}:{day.isoformat()}"
                if await self._sent(key):
                    continue
                items = [i for i in await self.reports.evaluate(day, day, roster) if i.spec.name == name]
                missing = [i for i in items if i.evaluation.status is Status.MISSING]
                event_id = (
                    await self._post(key, *_missing_message(instance, missing, roster)) if missing else None
                )
                await self._remember(key, event_id)
                if event_id is not None:
                    result.alerts.append(key)

    async def _daily_summary(self, roster: Roster, now: datetime, result: PassResult) -> None:
        assert self.settings.daily_summary_at is not None
        local = now.astimezone(roster.tz)
        if local.time() < parse_hhmm(self.settings.daily_summary_at):
            return
        day = local.date() - timedelta(days=1)
        key = f"summary:{day.isoformat()}"
        if await self._sent(key):
            return
        items = await self.reports.evaluate(day, day, roster)
        event_id = await self._post(key, *_summary_message(day, items, roster))
        await self._remember(key, event_id)
        result.alerts.append(key)

    async def _end_of_shift(self, roster: Roster, now: datetime, result: PassResult) -> None:
        enforced = {p.user_id: spec for p, spec in roster.scheduled() if spec.end_of_shift_logout}
        if not enforced:
            return
        by_user = defaultdict(list)
        for row in await open_sessions(self.engine):
            if row.user_id in enforced:
                by_user[row.user_id].append(row)
        for user_id, rows in sorted(by_user.items()):
            due = logout_due(enforced[user_id], [r.facts() for r in rows], now)
            devices = sorted({f.device_id for f in due if f.device_id})
            if not devices:
                continue
            await self.terminator.end_sessions(user_id, devices)
            result.ended[user_id] = devices
            log.info("end-of-shift logout of %s: %d device(s)", user_id, len(devices))

    # --- bookkeeping ---------------------------------------------------------------
    async def _sent(self, key: str) -> bool:
        async with self.engine.connect() as conn:
            found = await conn.scalar(select(compliance_alerts.c.key).where(compliance_alerts.c.key == key))
        return found is not None

    async def _remember(self, key: str, event_id: str | None) -> None:
        async with self.engine.begin() as conn:
            if (
                await conn.scalar(select(compliance_alerts.c.key).where(compliance_alerts.c.key == key))
                is None
            ):
                await conn.execute(
                    insert(compliance_alerts).values(
                        key=key, sent_ts=to_ms(self.clock.now()), event_id=event_id
                    )
                )

    async def _post(self, key: str, plain: str, rich: str) -> str | None:
        room = self.admin_room()
        if room is None:
            return None
        content = {
            "msgtype": "m.notice",
            "body": plain,
            "format": "org.matrix.custom.html",
            "formatted_body": rich,
        }
        event_id = await self.bot.send(room, content, _txn(key))
        log.info("posted %s as %s", key.split(":")[0], event_id)
        return event_id


def _who(item: Evaluated) -> str:
    person = item.person
    return f"{person.display_name} ({person.user_id})" if person.display_name else person.user_id


def _message(head: str, lines: list[str], footer: str = "") -> tuple[str, str]:
    plain = "\n".join([head, *(f"- {line}" for line in lines), *([footer] if footer else [])])
    rich = f"<p><strong>{html.escape(head)}</strong></p>"
    if lines:
        rich += "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
    if footer:
        rich += f"<p>{html.escape(footer)}</p>"
    return plain, rich


def _missing_message(instance: ShiftInstance, missing: list[Evaluated], roster: Roster) -> tuple[str, str]:
    spec = instance.spec
    grace = int(spec.grace.total_seconds() // 60)
    head = (
        f"Missing from {spec.name} (started {fmt_dt(instance.start, roster.tz)}, grace {grace} min): "
        f"{len(missing)} not signed in"
    )
    return _message(head, [_who(i) for i in missing])


def _summary_message(day: date, items: list[Evaluated], roster: Roster) -> tuple[str, str]:
    counts = summarise(items)
    order = [s.value for s in Status] + [f.value for f in Flag]
    tally = (
        ", ".join(f"{k.replace('_', ' ')}: {counts[k]}" for k in order if counts.get(k))
        or "nothing scheduled"
    )
    head = f"Daily compliance summary for {day.isoformat()} ({len(items)} scheduled): {tally}"
    attention = (Status.MISSING, Status.LATE, Status.OFF_SHIFT)
    lines = [
        f"{_who(i)}: {', '.join(i.evaluation.labels)}"
        for i in items
        if i.evaluation.status in attention or i.evaluation.flags
    ]
    return _message(head, lines, f"Full report: !report day {day.isoformat()} (times in {roster.timezone})")
