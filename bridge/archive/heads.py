"""Publishing the archive's chain head to the administrators' room, and reading it back.

The hash chain shows that no row was changed, removed or reordered, but not that the
newest rows were cut off (a truncated tail is still a valid chain), nor that the whole
chain was recomputed by someone with write access to the database. So the bridge
publishes the head (sequence number + row hash) as an `org.carebridge.chain_head` event in
the administrators' room, at least daily and on demand: a copy held by Synapse, outside the
archive database, that `carebridge archive verify` checks the archive against.
45 CFR 164.312(c)(1) integrity, 164.312(b) audit controls.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.writer import read_head
from bridge.core.clock import now_ms
from bridge.core.synapse_http import SynapseHTTP, seg
from bridge.core.tasks import cancel_and_wait
from bridge.db.tables import archive_heads

log = logging.getLogger(__name__)

HEAD_EVENT_TYPE = "org.carebridge.chain_head"
ALGORITHM = "carebridge-chain-sha256/1"


@dataclass(frozen=True)
class Head:
    """The newest row of the archive: its sequence number and row hash."""

    seq: int
    row_hash: bytes


@dataclass(frozen=True)
class PublishedHead:
    """A head as published in Synapse: where, when, and by which event."""

    seq: int
    row_hash: bytes
    published_ts: int
    event_id: str


async def current_head(engine: AsyncEngine) -> Head:
    """The archive's head (seq 0 and the genesis hash for an empty archive)."""
    async with engine.connect() as conn:
        seq, row_hash = await read_head(conn)
    return Head(seq, row_hash)


def head_content(head: Head, published_ts: int) -> dict[str, object]:
    """The event content for a published head (machine fields plus a line for humans)."""
    return {
        "seq": head.seq,
        "hash": head.row_hash.hex(),
        "algorithm": ALGORITHM,
        "published_ts": published_ts,
        "body": f"Archive chain head: row {head.seq}, sha256 {head.row_hash.hex()}",
    }


async def publish_head(
    engine: AsyncEngine, http: SynapseHTTP, admin_room_id: str, clock: Callable[[], int] = now_ms
) -> PublishedHead:
    """Send the current head to the administrators' room and log it locally."""
    head = await current_head(engine)
    now = clock()
    event_id = await http.send_event(admin_room_id, HEAD_EVENT_TYPE, head_content(head, now))
    async with engine.begin() as conn:
        await conn.execute(
            insert(archive_heads).values(
                event_id=event_id,
                room_id=admin_room_id,
                seq=head.seq,
                row_hash=head.row_hash,
                published_ts=now,
            )
        )
    log.info("published archive chain head seq=%d as %s in %s", head.seq, event_id, admin_room_id)
    return PublishedHead(head.seq, head.row_hash, now, event_id)


def parse_head_event(event: dict[str, object]) -> PublishedHead | None:
    """A PublishedHead from an event Synapse returned, or None if it is not one."""
    content = event.get("content")
    if event.get("type") != HEAD_EVENT_TYPE or not isinstance(content, dict):
        return None
    seq, digest = content.get("seq"), content.get("hash")
    if not isinstance(seq, int) or not isinstance(digest, str):
        return None
    try:
        row_hash = bytes.fromhex(digest)
    except ValueError:
        return None
    ts = event.get("origin_server_ts")
    return PublishedHead(seq, row_hash, ts if isinstance(ts, int) else 0, str(event.get("event_id")))


async def published_heads(
    http: SynapseHTTP, admin_room_id: str, bot_user_id: str
) -> AsyncIterator[PublishedHead]:
    """Every head the bot published in the administrators' room, newest first.

    Read through the admin API from Synapse's own copy (not the archive): only events sent
    by the bot count, so a head someone else posts cannot vouch for the archive.
    """
    event_filter = json.dumps({"types": [HEAD_EVENT_TYPE], "senders": [bot_user_id]})
    token: str | None = None
    while True:
        params = {"dir": "b", "limit": "500", "filter": event_filter}
        if token:
            params["from"] = token
        page = await http.request(
            "GET", f"/_synapse/admin/v1/rooms/{seg(admin_room_id)}/messages", params=params
        )
        for event in page.get("chunk", []):
            head = parse_head_event(event)
            if head is not None:
                yield head
        next_token = page.get("end")
        if not next_token or next_token == token:
            return
        token = next_token


class HeadScheduler:
    """Publishes the head every `interval` seconds (at start-up if one is due), retrying
    after `retry` seconds when Synapse cannot be reached."""

    def __init__(
        self,
        engine: AsyncEngine,
        http: SynapseHTTP,
        admin_room_id: str,
        interval: float,
        retry: float = 300.0,
    ) -> None:
        self.engine = engine
        self.http = http
        self.admin_room_id = admin_room_id
        self.interval = interval
        self.retry = retry
        self._task: asyncio.Task[None] | None = None

    async def _last_published_ms(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(archive_heads.c.published_ts).order_by(archive_heads.c.published_ts.desc()).limit(1)
            )
        return int(value or 0)

    async def _run(self) -> None:
        while True:
            try:
                due_in = (await self._last_published_ms() + self.interval * 1000 - now_ms()) / 1000
                if due_in > 0:
                    await asyncio.sleep(due_in)
                    continue
                await publish_head(self.engine, self.http, self.admin_room_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried; the next publication covers it
                log.warning("publishing the chain head failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self.retry)

    def start(self) -> None:
        """Start publishing in the background."""
        self._task = asyncio.create_task(self._run(), name="carebridge-chain-head")

    async def stop(self) -> None:
        """Stop the background task."""
        await cancel_and_wait(self._task)
        self._task = None
