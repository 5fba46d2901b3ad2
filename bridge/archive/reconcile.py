"""Reconciliation: at start-up, compare the archive with Synapse and append what is missing.

Synapse's transaction queue already makes delivery durable; this is the second line: for
every room the archive knows and every room Synapse lists (admin API), page the room's
timeline forward through the admin messages API and append any event the archive lacks
(source "reconcile"). A per-room high-water mark (the pagination token after the last page
checked) makes the next start-up read only what is new.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from mautrix.errors import MatrixRequestError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.writer import ArchiveWriter, MalformedEvent, validate_events
from bridge.core.clock import now_ms
from bridge.core.synapse_http import ADMIN, SynapseHTTP, seg
from bridge.db.tables import archive_events, reconcile_marks

log = logging.getLogger(__name__)


@dataclass
class ReconcileStats:
    """What one reconciliation did."""

    rooms: int = 0
    checked: int = 0
    appended: int = 0
    failed_rooms: int = 0
    pages: int = 0


class Reconciler:
    """Finds events Synapse has and the archive lacks, room by room."""

    def __init__(
        self,
        engine: AsyncEngine,
        writer: ArchiveWriter,
        http: SynapseHTTP,
        page_size: int = 500,
        concurrency: int = 4,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.http = http
        self.page_size = page_size
        self.concurrency = concurrency
        self.clock = clock

    async def synapse_rooms(self) -> list[str]:
        """Every room Synapse knows (admin API, paged)."""
        rooms: list[str] = []
        offset = 0
        while True:
            page = await self.http.request(
                "GET", f"{ADMIN}/v1/rooms", params={"from": str(offset), "limit": "500"}
            )
            rooms.extend(str(r["room_id"]) for r in page.get("rooms", []))
            if "next_batch" not in page:
                return rooms
            offset = int(page["next_batch"])

    async def archived_rooms(self) -> list[str]:
        """Every room with at least one archived event."""
        async with self.engine.connect() as conn:
            return [r[0] for r in await conn.execute(select(archive_events.c.room_id).distinct())]

    async def _mark(self, room_id: str) -> str | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(reconcile_marks.c.token).where(reconcile_marks.c.room_id == room_id)
            )
        return str(value) if value else None

    async def _save_mark(self, room_id: str, token: str) -> None:
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(reconcile_marks)
                .where(reconcile_marks.c.room_id == room_id)
                .values(token=token, updated_ts=self.clock())
            )
            if done.rowcount == 0:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            reconcile_marks.insert().values(
                                room_id=room_id, token=token, updated_ts=self.clock()
                            )
                        )
                except IntegrityError:
                    pass

    async def _missing(self, events: list[dict[str, object]]) -> list[dict[str, object]]:
        ids = [str(e["event_id"]) for e in events]
        async with self.engine.connect() as conn:
            known = {
                r[0]
                for r in await conn.execute(
                    select(archive_events.c.event_id).where(archive_events.c.event_id.in_(ids))
                )
            }
        return [e for e in events if e["event_id"] not in known]

    async def reconcile_room(self, room_id: str, stats: ReconcileStats) -> None:
        """Page one room forward from its high-water mark; append what is missing."""
        token = await self._mark(room_id)
        path = f"{ADMIN}/v1/rooms/{seg(room_id)}/messages"
        while True:
            params = {"dir": "f", "limit": str(self.page_size)}
            if token:
                params["from"] = token
            try:
                page = await self.http.request("GET", path, params=params)
            except MatrixRequestError as exc:
                if exc.http_status == 400 and token:
                    log.warning("reconcile: stale token for %s; rescanning the room", room_id)
                    token = None
                    continue
                raise
            stats.pages += 1
            chunk = page.get("chunk", [])
            if chunk:
                try:
                    events = validate_events(chunk)
                except MalformedEvent:
                    events = [e for e in chunk if _well_formed(e)]
                stats.checked += len(events)
                missing = await self._missing(events)
                if missing:
                    result = await self.writer.append(missing, source="reconcile")
                    stats.appended += len(result.appended)
                    if result.appended:
                        log.info("reconcile: appended %d missing events of %s", len(result.appended), room_id)
            end = page.get("end")
            if not end or end == token:
                return
            token = str(end)
            await self._save_mark(room_id, token)
            if not chunk:
                return

    async def run(self) -> ReconcileStats:
        """Reconcile every known room; a room that fails is logged and skipped."""
        stats = ReconcileStats()
        rooms = list(dict.fromkeys([*await self.synapse_rooms(), *await self.archived_rooms()]))
        stats.rooms = len(rooms)
        limit = asyncio.Semaphore(self.concurrency)

        async def one(room_id: str) -> None:
            async with limit:
                try:
                    await self.reconcile_room(room_id, stats)
                except MatrixRequestError as exc:
                    if exc.http_status not in (403, 404):
                        stats.failed_rooms += 1
                        log.warning("reconcile of %s failed: %s %s", room_id, exc.http_status, exc.errcode)
                    # 403/404: a room Synapse does not have (e.g. Carebridge's own audit records)

        await asyncio.gather(*(one(r) for r in rooms))
        log.info(
            "reconciliation: %d rooms, %d events checked, %d appended, %d rooms failed",
            stats.rooms,
            stats.checked,
            stats.appended,
            stats.failed_rooms,
        )
        return stats


def _well_formed(event: object) -> bool:
    try:
        validate_events([event])
    except MalformedEvent:
        return False
    return True
