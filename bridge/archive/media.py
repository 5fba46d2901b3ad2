"""Copying uploaded files into the archive: a Dispatcher consumer plus a fetch worker.

The consumer (off the transaction hot path) notes every mxc:// URI an archived event
references as a `pending` row in archive_media; the worker downloads it from Synapse's
authenticated media API as the bot, stores it encrypted with its SHA-256, and appends an
`org.carebridge.media` audit record to the archive, which binds the digest into the hash
chain. Pending rows survive a crash; transient failures are retried with back-off for
ever, a file Synapse says is gone is retried a few times and then recorded as unavailable.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from mautrix.errors import MatrixRequestError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.keyring import Sealer
from bridge.archive.media_store import store_media
from bridge.archive.writer import ArchivedEvent, ArchiveWriter
from bridge.core.clock import now_ms
from bridge.core.synapse_http import SynapseHTTP, parse_mxc
from bridge.core.tasks import cancel_and_wait
from bridge.db.tables import archive_media
from policy.event_types import MEDIA_RECORD_TYPE

log = logging.getLogger(__name__)

MEDIA_EVENT_TYPES = frozenset({"m.room.message", "m.sticker", "m.room.avatar"})
PERMANENT_STATUSES = frozenset({400, 403, 404})
MAX_PERMANENT_ATTEMPTS = 5
MAX_BACKOFF_S = 3600
BATCH = 20


def _urls(content: object) -> list[object]:
    if not isinstance(content, dict):
        return []
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    assert isinstance(info, dict)
    candidates: list[object] = [content.get("url"), info.get("thumbnail_url")]
    for holder in (content.get("file"), info.get("thumbnail_file")):
        if isinstance(holder, dict):
            candidates.append(holder.get("url"))
    return candidates


def media_refs(event: dict[str, Any]) -> list[str]:
    """The mxc:// URIs an event references (file, image, video, audio, thumbnails, edits)."""
    if event.get("type") not in MEDIA_EVENT_TYPES:
        return []
    content = event.get("content")
    urls = _urls(content)
    if isinstance(content, dict):
        urls += _urls(content.get("m.new_content"))
    refs: list[str] = []
    for url in urls:
        if isinstance(url, str) and len(url) <= 255 and url not in refs:
            try:
                parse_mxc(url)
            except ValueError:
                continue
            refs.append(url)
    return refs


def media_record_id(mxc: str) -> str:
    """Deterministic event id of the audit record for one file (so appends are idempotent)."""
    return "$carebridge-media-" + hashlib.sha256(mxc.encode()).hexdigest()[:40]


class MediaArchiver:
    """Enqueues referenced media (consumer) and fetches it (worker)."""

    def __init__(
        self,
        engine: AsyncEngine,
        keyring: Sealer,
        writer: ArchiveWriter,
        http: SynapseHTTP,
        media_dir: Path,
        bot_user_id: str,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.writer = writer
        self.http = http
        self.media_dir = media_dir
        self.bot_user_id = bot_user_id
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_appended: Callable[[], None] = lambda: None

    async def enqueue(self, archived: ArchivedEvent) -> None:
        """Dispatcher handler: note each new mxc:// URI as pending (idempotent)."""
        refs = media_refs(archived.event)
        if not refs:
            return
        async with self.engine.begin() as conn:
            known = {
                r[0]
                for r in await conn.execute(select(archive_media.c.mxc).where(archive_media.c.mxc.in_(refs)))
            }
        for mxc in refs:
            if mxc in known:
                continue
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(
                        insert(archive_media).values(
                            mxc=mxc,
                            room_id=archived.event["room_id"],
                            event_id=archived.event["event_id"],
                            seq=archived.seq,
                            status="pending",
                            attempts=0,
                            next_attempt_ts=0,
                        )
                    )
            except IntegrityError:
                continue  # noted by an earlier run of this consumer
        self._wake.set()

    async def _record(self, row: Any, content: dict[str, Any]) -> None:
        record = {
            "event_id": media_record_id(row.mxc),
            "room_id": row.room_id,
            "sender": self.bot_user_id,
            "type": MEDIA_RECORD_TYPE,
            "origin_server_ts": self.clock(),
            "content": {"mxc": row.mxc, "for_event_id": row.event_id, **content},
        }
        result = await self.writer.append([record], source="media")
        if result.appended:
            self.on_appended()

    async def _fetch(self, row: Any) -> None:
        try:
            data, content_type = await self.http.download_media(row.mxc)
        except MatrixRequestError as exc:
            await self._failed(row, exc.http_status, exc.errcode)
            return
        except (OSError, TimeoutError, aiohttp.ClientError) as exc:
            await self._failed(row, None, type(exc).__name__)
            return
        stored = await asyncio.to_thread(store_media, self.media_dir, row.mxc, data, self.keyring)
        del data
        await self._record(
            row,
            {
                "status": "stored",
                "sha256": stored.sha256,
                "size": stored.size,
                "key_id": stored.key_id,
                "path": stored.path,
                "content_type": content_type,
            },
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                update(archive_media)
                .where(archive_media.c.mxc == row.mxc)
                .values(
                    status="stored",
                    attempts=row.attempts + 1,
                    last_error=None,
                    sha256=stored.sha256,
                    cipher_sha256=stored.cipher_sha256,
                    size=stored.size,
                    key_id=stored.key_id,
                    path=stored.path,
                    stored_ts=self.clock(),
                )
            )
        log.info("archived media for event %s (%d bytes)", row.event_id, stored.size)

    async def _failed(self, row: Any, status: int | None, error: str) -> None:
        attempts = row.attempts + 1
        permanent = status in PERMANENT_STATUSES
        give_up = permanent and attempts >= MAX_PERMANENT_ATTEMPTS
        if give_up:
            await self._record(row, {"status": "unavailable", "error": f"{status} {error}"})
        backoff = min(MAX_BACKOFF_S, 5 * 2**attempts)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(archive_media)
                .where(archive_media.c.mxc == row.mxc)
                .values(
                    status="failed" if give_up else "pending",
                    attempts=attempts,
                    next_attempt_ts=self.clock() + backoff * 1000,
                    last_error=f"{status or ''} {error}"[:64],
                )
            )
        log.warning(
            "media download for event %s failed (%s %s), attempt %d%s",
            row.event_id,
            status,
            error,
            attempts,
            "; giving up" if give_up else "",
        )

    async def run_once(self) -> int:
        """Fetch the media that is due now; returns how many rows were tried."""
        m = archive_media
        async with self.engine.connect() as conn:
            due = (
                await conn.execute(
                    select(m.c.mxc, m.c.room_id, m.c.event_id, m.c.seq, m.c.attempts)
                    .where(m.c.status == "pending", m.c.next_attempt_ts <= self.clock())
                    .order_by(m.c.seq)
                    .limit(BATCH)
                )
            ).all()
        for row in due:
            await self._fetch(row)
        return len(due)

    async def _run(self) -> None:
        while True:
            try:
                if await self.run_once():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("media worker error; retrying")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=30)
            except TimeoutError:
                pass

    def start(self) -> None:
        """Start the fetch worker."""
        self._task = asyncio.create_task(self._run(), name="carebridge-media")
        self._wake.set()

    async def stop(self) -> None:
        """Stop the fetch worker."""
        await cancel_and_wait(self._task)
        self._task = None
