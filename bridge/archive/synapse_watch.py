"""The archive compared with Synapse on the bridge's own schedule: at start and at least
hourly (archive.synapse_check_interval_minutes), not only when someone asks.

Each pass is bridge.archive.synapse_check.compare_with_synapse (every room and media file
the archive holds, ids only). Anything Synapse no longer has that was not reported before
is posted to the administrators' room as one alert; each finding is remembered in
`compliance_alerts` (key `synapse-lost:<digest>`), so a restart or the next pass does not
repeat it, and the message's transaction id is derived from what it reports, so a crash
between posting and remembering does not post twice. The admin API's purge and media
delete are refused by the module; this finds what was removed another way (directly in
Synapse's database or media store). 45 CFR 164.312(c)(1) integrity, 164.308(a)(1)(ii)(D)
information system activity review.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.synapse_check import SynapseComparison, SynapseFinding
from bridge.core.clock import Clock, to_ms
from bridge.core.synapse_http import SynapseHTTP, seg
from bridge.core.tasks import cancel_and_wait
from bridge.db.tables import compliance_alerts

log = logging.getLogger(__name__)

KEY_PREFIX = "synapse-lost:"
TICK_S = 30.0
RETRY = timedelta(minutes=5)

Compare = Callable[[], Awaitable[SynapseComparison]]
Post = Callable[[str, str], Awaitable[str]]


def finding_key(finding: SynapseFinding) -> str:
    """The `compliance_alerts` key of one finding (fits the 191-character column)."""
    digest = hashlib.sha256(f"{finding.kind}\0{finding.room_id}\0{finding.item}".encode()).hexdigest()
    return KEY_PREFIX + digest


def http_poster(http: SynapseHTTP, admin_room_id: str) -> Post:
    """Post an alert as the bot into the administrators' room (a retry with the same
    transaction id is the same message)."""

    async def post(text: str, txn: str) -> str:
        path = f"/_matrix/client/v3/rooms/{seg(admin_room_id)}/send/m.room.message/{txn}"
        result = await http.request("PUT", path, {"msgtype": "m.text", "body": text}, kind="event.send")
        return str(result["event_id"])

    return post


class SynapseWatch:
    """Runs the comparison when due and alerts the administrators about new losses."""

    def __init__(
        self, engine: AsyncEngine, compare: Compare, post: Post, interval: timedelta, clock: Clock
    ) -> None:
        self.engine = engine
        self.compare = compare
        self.post = post
        self.interval = interval
        self.clock = clock
        self.next_run: datetime | None = None  # None: due now (the pass at start)
        self._task: asyncio.Task[None] | None = None

    def due(self) -> bool:
        """Whether a pass should run now."""
        return self.next_run is None or self.clock.now() >= self.next_run

    async def tick(self) -> SynapseComparison | None:
        """Run a pass if one is due (the loop calls this; tests call it with a ManualClock).
        A pass that fails is tried again after RETRY (or the interval, if shorter)."""
        if not self.due():
            return None
        started = self.clock.now()
        try:
            found = await self.run_once()
        except Exception as exc:  # noqa: BLE001 - Synapse or the database away: try again soon
            log.warning("comparing the archive with Synapse failed (%s); retrying", type(exc).__name__)
            self.next_run = started + min(RETRY, self.interval)
            return None
        self.next_run = started + self.interval
        return found

    async def run_once(self) -> SynapseComparison:
        """Compare now; alert about findings not reported before."""
        found = await self.compare()
        new = [f for f in found.findings if not await self._known(finding_key(f))]
        log.info(
            "archive vs Synapse: %d room(s), %d event(s), %d media file(s) compared; %d finding(s), %d new",
            found.rooms_checked,
            found.events_checked,
            found.media_checked,
            len(found.findings),
            len(new),
        )
        if new:
            keys = sorted(finding_key(f) for f in new)
            txn = "cb-synapse-" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
            event_id = await self.post(replace(found, findings=new).alert_text(), txn)
            await self._remember(keys, event_id)
            log.warning("alerted the administrators: %d archived item(s) Synapse no longer has", len(new))
        return found

    async def _known(self, key: str) -> bool:
        async with self.engine.connect() as conn:
            return (
                await conn.scalar(select(compliance_alerts.c.key).where(compliance_alerts.c.key == key))
                is not None
            )

    async def _remember(self, keys: list[str], event_id: str) -> None:
        now = to_ms(self.clock.now())
        async with self.engine.begin() as conn:
            for key in keys:
                known = await conn.scalar(
                    select(compliance_alerts.c.key).where(compliance_alerts.c.key == key)
                )
                if known is None:
                    await conn.execute(
                        insert(compliance_alerts).values(key=key, sent_ts=now, event_id=event_id)
                    )

    # --- lifecycle -----------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            await self.tick()
            await self.clock.sleep(TICK_S)

    def start(self) -> None:
        """Compare now, then whenever due, in the background."""
        self._task = asyncio.create_task(self._run(), name="carebridge-synapse-watch")

    async def stop(self) -> None:
        """Stop the background task."""
        await cancel_and_wait(self._task)
        self._task = None
