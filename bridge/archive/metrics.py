"""The archive's metrics: transactions received/committed/replayed/failed, events
archived, and the archive's lag (age of the newest archived event and, per post-commit
consumer, how many archived events it has not handled yet), in the bridge's registry.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.writer import ArchiveWriter, IngestResult, JsonDict
from bridge.core.metrics import DB_BUCKETS, REGISTRY
from bridge.db.tables import archive_events, consumer_cursors

TXN_RECEIVED = Counter(
    "carebridge_transactions_received", "Appservice transactions handed to the archive", registry=REGISTRY
)
TXN_COMMITTED = Counter(
    "carebridge_transactions_committed", "Transactions committed (Synapse got 200)", registry=REGISTRY
)
TXN_REPLAYED = Counter(
    "carebridge_transactions_replayed",
    "Transactions whose id was seen before (their events are still checked one by one)",
    registry=REGISTRY,
)
TXN_FAILED = Counter(
    "carebridge_transactions_failed",
    "Transactions whose archive write failed (Synapse retries)",
    registry=REGISTRY,
)
EVENTS_ARCHIVED = Counter(
    "carebridge_events_archived", "Events appended to the archive", ["source"], registry=REGISTRY
)
ARCHIVE_WRITE_SECONDS = Histogram(
    "carebridge_archive_write_seconds",
    "Time to commit one archive write",
    buckets=DB_BUCKETS,
    registry=REGISTRY,
)
ARCHIVE_AGE = Gauge(
    "carebridge_archive_newest_event_age_seconds",
    "Now minus origin_server_ts of the newest archived event (grows while rooms are quiet)",
    registry=REGISTRY,
)
ARCHIVE_HEAD = Gauge(
    "carebridge_archive_head_seq", "Sequence number of the newest archive row", registry=REGISTRY
)
CONSUMER_LAG = Gauge(
    "carebridge_consumer_lag_events",
    "Archived events a post-commit consumer has not handled yet",
    ["consumer"],
    registry=REGISTRY,
)


class MeteredArchiveWriter(ArchiveWriter):
    """ArchiveWriter that counts transactions and events and times each write."""

    async def ingest_transaction(self, txn_id: str, events: Sequence[JsonDict]) -> IngestResult:
        TXN_RECEIVED.inc()
        try:
            with ARCHIVE_WRITE_SECONDS.time():
                result = await super().ingest_transaction(txn_id, events)
        except Exception:
            TXN_FAILED.inc()
            raise
        if result.replayed:
            TXN_REPLAYED.inc()
        else:
            TXN_COMMITTED.inc()
        EVENTS_ARCHIVED.labels("txn").inc(len(result.appended))
        return result

    async def append(self, events: Sequence[JsonDict], source: str) -> IngestResult:
        with ARCHIVE_WRITE_SECONDS.time():
            result = await super().append(events, source)
        EVENTS_ARCHIVED.labels(source).inc(len(result.appended))
        return result


async def refresh_archive_gauges(engine: AsyncEngine) -> None:
    """Read the archive head and consumer cursors (two indexed queries) into the gauges."""
    async with engine.connect() as conn:
        head = (
            await conn.execute(
                select(archive_events.c.seq, archive_events.c.origin_ts)
                .order_by(archive_events.c.seq.desc())
                .limit(1)
            )
        ).first()
        cursors = (await conn.execute(select(consumer_cursors.c.name, consumer_cursors.c.seq))).all()
    head_seq = int(head[0]) if head else 0
    ARCHIVE_HEAD.set(head_seq)
    if head is not None:
        ARCHIVE_AGE.set(max(0.0, time.time() - int(head[1]) / 1000))
    for name, seq in cursors:
        CONSUMER_LAG.labels(name).set(max(0, head_seq - int(seq)))
