"""Readiness that tells the truth: is the pipe from Synapse into the archive working?

"The port answers" is not enough: a bridge that answers every transaction 500, or that
Synapse cannot reach, or whose archive has stopped moving, must say so. Three checks:

- `deliveries_failing`: the last authenticated transaction was answered 5xx (the archive
  could not take it; Synapse is retrying it); cleared by the next 2xx. A 4xx refuses one
  request for what it is (too large, not JSON: nothing Synapse sends) and says nothing
  about the pipe, so it is counted but does not make the bridge unready.
- `synapse_cannot_reach_bridge`: Synapse's appservice ping (Synapse calls the bridge
  back) failed at the last probe, and Synapse has not reached the bridge since (any
  authenticated ping or delivery from Synapse clears it at once). While a probe finds a
  problem, the next one runs after `RETRY_SECONDS` instead of the full interval, so the
  verdict follows a recovery within seconds.
- `archive_lagging`: an event Synapse holds in the administrators' room (where every
  login/logout record and chain head goes) is still not archived `max_lag_seconds` after
  it was sent.

The verdict feeds GET /_carebridge/ready (200 or 503 with the reasons), `carebridge status`
(through the supervisor), and the `carebridge_ready` metric.
45 CFR 164.312(b) audit controls: a pipe that is watched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import Counter, Gauge
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.core.metrics import REGISTRY
from bridge.core.synapse_http import ADMIN, SynapseHTTP, seg
from bridge.core.tasks import cancel_and_wait
from bridge.db.tables import archive_events
from config.settings import ReadinessSettings

log = logging.getLogger(__name__)

READY = Gauge("carebridge_ready", "1 when the bridge is ready (see /_carebridge/ready)", registry=REGISTRY)
ARCHIVE_LAG = Gauge(
    "carebridge_archive_lag_seconds",
    "Age of the oldest event Synapse holds in the admins' room that is not archived (0: none)",
    registry=REGISTRY,
)
ANSWERS = Counter(
    "carebridge_transaction_answers",
    "Answers given to Synapse's authenticated transaction deliveries, by status class",
    ["status"],
    registry=REGISTRY,
)
RECENT = 20
RETRY_SECONDS = 1.0


def _now() -> float:
    return time.time()


@dataclass
class Readiness:
    """Tracks the pipe's health; `probe` runs in the background, `verdict` is instant."""

    settings: ReadinessSettings
    engine: AsyncEngine
    http: SynapseHTTP
    ping: Callable[[], Awaitable[object]]
    admin_room: Callable[[], str | None]
    clock: Callable[[], float] = _now
    started: bool = False
    last_status: int | None = None
    last_failure_at: float | None = None
    delivery_failing: bool = False
    ping_ok: bool = True
    lag_seconds: float = 0.0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def record_answer(self, status: int) -> None:
        """The appservice endpoint answered an authenticated delivery with `status` (so
        Synapse reached the bridge)."""
        self.last_status = status
        self.ping_ok = True
        ANSWERS.labels(f"{status // 100}xx").inc()
        if status >= 500:
            self.delivery_failing = True
            self.last_failure_at = self.clock()
            log.warning("answered a transaction delivery with %d; Synapse will retry it", status)
        elif 200 <= status < 300:
            self.delivery_failing = False
        else:
            log.warning("refused a transaction request with %d (the request, not the pipe)", status)
        self._publish()

    def synapse_reached(self) -> None:
        """Synapse called the bridge (an authenticated appservice ping): it can reach us."""
        if not self.ping_ok:
            log.info("Synapse reaches the bridge again")
        self.ping_ok = True
        self._publish()

    def reasons(self) -> list[str]:
        """Why the bridge is not ready (empty: ready)."""
        found = []
        if not self.started:
            found.append("starting")
        if self.delivery_failing:
            found.append("deliveries_failing")
        if not self.ping_ok:
            found.append("synapse_cannot_reach_bridge")
        if self.lag_seconds > self.settings.max_lag_seconds:
            found.append("archive_lagging")
        return found

    def next_probe_in(self) -> float:
        """Seconds until the next probe: the interval, or RETRY_SECONDS while a probe's
        finding stands (so a recovery shows within seconds, not at the next interval)."""
        interval = self.settings.probe_interval_seconds
        failing = not self.ping_ok or self.lag_seconds > self.settings.max_lag_seconds
        return min(interval, RETRY_SECONDS) if failing else interval

    def _publish(self) -> None:
        READY.set(0 if self.reasons() else 1)
        ARCHIVE_LAG.set(self.lag_seconds)

    async def _lag(self) -> float:
        room_id = self.admin_room()
        if room_id is None:
            return 0.0
        page = await self.http.request(
            "GET",
            f"{ADMIN}/v1/rooms/{seg(room_id)}/messages",
            params={"dir": "b", "limit": str(RECENT)},
        )
        sent = {
            str(e["event_id"]): int(e.get("origin_server_ts") or 0)
            for e in page.get("chunk", [])
            if isinstance(e, dict) and isinstance(e.get("event_id"), str)
        }
        if not sent:
            return 0.0
        async with self.engine.connect() as conn:
            known = {
                r[0]
                for r in await conn.execute(
                    select(archive_events.c.event_id).where(archive_events.c.event_id.in_(list(sent)))
                )
            }
        missing = [ts for event_id, ts in sent.items() if event_id not in known]
        return max(0.0, self.clock() - min(missing) / 1000) if missing else 0.0

    async def probe(self) -> None:
        """Ask Synapse to ping the bridge, and measure the archive's lag."""
        try:
            await self.ping()
            self.ping_ok = True
        except Exception as exc:  # noqa: BLE001 - that is the finding
            if self.ping_ok:
                log.warning("Synapse cannot reach the bridge (appservice ping: %s)", type(exc).__name__)
            self.ping_ok = False
        try:
            self.lag_seconds = await self._lag()
        except Exception as exc:  # noqa: BLE001 - Synapse down: the ping finding covers it
            log.info("archive lag not measured (%s)", type(exc).__name__)
        if self.lag_seconds > self.settings.max_lag_seconds:
            log.warning("archive lags Synapse by %.0f s", self.lag_seconds)
        self._publish()

    async def _run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.next_probe_in())

    def start(self) -> None:
        """The bridge is up: start probing."""
        self.started = True
        self._publish()
        self._task = asyncio.create_task(self._run(), name="carebridge-readiness")

    async def stop(self) -> None:
        """Stop probing; not ready from now on."""
        self.started = False
        self._publish()
        await cancel_and_wait(self._task)
        self._task = None

    async def handle(self, _request: web.Request) -> web.Response:
        """GET /_carebridge/ready: 200 when ready, else 503; the reasons either way."""
        reasons = self.reasons()
        body = {
            "ready": not reasons,
            "reasons": reasons,
            "last_delivery_status": self.last_status,
            "archive_lag_seconds": round(self.lag_seconds, 1),
            "max_lag_seconds": self.settings.max_lag_seconds,
        }
        return web.json_response(body, status=503 if reasons else 200)
