"""The bridge's Prometheus registry and the /metrics endpoint, served on its private
(appservice) listener, plus database statement latency. Features define their own metrics
in this registry (the archive's in bridge/archive/metrics.py) and hand the endpoint a
refresh step for gauges read on demand. Labels carry only reason codes, sources and
consumer names: never ids or content. 45 CFR 164.312(b): audit controls need a pipe that
is watched.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

REGISTRY = CollectorRegistry()
DB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

DB_STATEMENT_SECONDS = Histogram(
    "carebridge_db_statement_seconds",
    "Latency of database statements",
    buckets=DB_BUCKETS,
    registry=REGISTRY,
)

Refresh = Callable[[], Awaitable[None]]


def instrument_engine(engine: AsyncEngine) -> None:
    """Observe every statement's latency on this engine."""

    def before(conn: Any, _cursor: Any, _stmt: Any, _params: Any, _context: Any, _many: Any) -> None:
        conn.info.setdefault("carebridge_t0", []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, _stmt: Any, _params: Any, _context: Any, _many: Any) -> None:
        started = conn.info.get("carebridge_t0")
        if started:
            DB_STATEMENT_SECONDS.observe(time.perf_counter() - started.pop())

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)


def metrics_handler(refresh: Sequence[Refresh] = ()) -> Any:
    """aiohttp handler for GET /metrics (Prometheus text format); each `refresh` step
    updates its gauges first."""

    async def handle(_request: web.Request) -> web.Response:
        for step in refresh:
            await step()
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle
