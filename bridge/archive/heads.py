"""Publishing the archive's chain head to the administrators' room, and reading it back.

The hash chain shows that no row was changed, removed or reordered, but not that the
newest rows were cut off (a truncated tail is still a valid chain), nor that the whole
chain was recomputed by someone with write access to the database. So the bridge
publishes the head (sequence number + row hash) as an `org.carebridge.chain_head` event in
the administrators' room and appends it to the heads log (bridge.archive.heads_log): within minutes
of the archive growing (archive.head_interval_minutes), at clean shutdown and on demand.
Those copies live outside the archive database; `carebridge archive verify` checks the
archive against all of them. Besides these publications, the head after every commit is in
the heads log before the commit is acknowledged (bridge.archive.commit_log), so a cut tail
is seen at once; each head carries the chain key's MAC when the key covers its row.
45 CFR 164.312(c)(1) integrity, 164.312(b) audit controls.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import ChainKey
from bridge.archive.heads_log import COMMIT, PUBLISHED, append_head, read_heads_log
from bridge.archive.writer import read_head
from bridge.core.clock import now_ms
from bridge.core.synapse_http import ADMIN, SynapseHTTP, seg
from bridge.core.tasks import cancel_and_wait
from bridge.db.tables import archive_events, archive_heads
from policy.event_types import HEAD_EVENT_TYPE

log = logging.getLogger(__name__)

ALGORITHM = "carebridge-chain-sha256/1"


@dataclass(frozen=True)
class Head:
    """The newest row of the archive: its sequence number and row hash."""

    seq: int
    row_hash: bytes


@dataclass(frozen=True, slots=True)
class PublishedHead:
    """A head as published in Synapse or written to the heads log: where (`event_id`: the
    event, or the log's line), when, its MAC (None if written without one) and its kind
    (`published`, or `commit` for the per-commit lines of the heads log)."""

    seq: int
    row_hash: bytes
    published_ts: int
    event_id: str
    mac: bytes | None = None
    kind: str = PUBLISHED


async def current_head(engine: AsyncEngine) -> Head:
    """The archive's head (seq 0 and the genesis hash for an empty archive)."""
    async with engine.connect() as conn:
        seq, row_hash = await read_head(conn)
    return Head(seq, row_hash)


def head_mac(head: Head, chain_key: ChainKey | None) -> bytes | None:
    """The chain key's MAC of the head, when the key covers its row."""
    if chain_key is None or not chain_key.covers(head.seq):
        return None
    return chain_key.mac(head.seq, head.row_hash)


def head_content(head: Head, published_ts: int, mac: bytes | None = None) -> dict[str, object]:
    """The event content for a published head (machine fields plus a line for humans)."""
    content: dict[str, object] = {
        "seq": head.seq,
        "hash": head.row_hash.hex(),
        "algorithm": ALGORITHM,
        "published_ts": published_ts,
        "body": f"Archive chain head: row {head.seq}, sha256 {head.row_hash.hex()}",
    }
    if mac is not None:
        content["mac"] = mac.hex()
    return content


@dataclass(frozen=True)
class HeadsLog:
    """Where heads are written besides Synapse: the log file, and syslog if enabled."""

    path: Path
    syslog: bool = False


async def publish_head(
    engine: AsyncEngine,
    http: SynapseHTTP,
    admin_room_id: str,
    clock: Callable[[], int] = now_ms,
    heads_log: HeadsLog | None = None,
    chain_key: ChainKey | None = None,
) -> PublishedHead:
    """Send the current head to the administrators' room and log it locally (the heads
    log gets the line even when Synapse cannot be reached; the error is then raised)."""
    head = await current_head(engine)
    now = clock()
    mac = head_mac(head, chain_key)
    try:
        event_id = await http.send_event(admin_room_id, HEAD_EVENT_TYPE, head_content(head, now, mac))
    except BaseException:  # also a cancelled send (shutdown timeout): the line is written
        _log_line(heads_log, head, now, None, mac)
        raise
    _log_line(heads_log, head, now, event_id, mac)
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
    return PublishedHead(head.seq, head.row_hash, now, event_id, mac)


def _log_line(
    heads_log: HeadsLog | None, head: Head, now: int, event_id: str | None, mac: bytes | None
) -> None:
    if heads_log is None:
        return
    try:
        append_head(heads_log.path, head.seq, head.row_hash, now, event_id, heads_log.syslog, mac)
    except OSError as exc:  # the Synapse copy still stands; say loudly that this one failed
        log.error("chain head seq=%d not appended to %s (%s)", head.seq, heads_log.path, exc)


def logged_heads(path: Path) -> list[PublishedHead]:
    """The heads in the heads log file, as published heads (named by their line)."""
    return [
        PublishedHead(
            h.seq,
            h.row_hash,
            h.published_ts,
            f"{path.name} line {h.line}" if h.kind == COMMIT or not h.event_id else h.event_id,
            h.mac,
            h.kind,
        )
        for h in read_heads_log(path)
    ]


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
    mac_hex = content.get("mac")
    try:
        mac = bytes.fromhex(mac_hex) if isinstance(mac_hex, str) else None
    except ValueError:
        mac = b""  # present but not hex: never valid
    return PublishedHead(seq, row_hash, ts if isinstance(ts, int) else 0, str(event.get("event_id")), mac)


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
        page = await http.request("GET", f"{ADMIN}/v1/rooms/{seg(admin_room_id)}/messages", params=params)
        for event in page.get("chunk", []):
            head = parse_head_event(event)
            if head is not None:
                yield head
        next_token = page.get("end")
        if not next_token or next_token == token:
            return
        token = next_token


class HeadScheduler:
    """Publishes the head every `interval` seconds while the archive grows (its own head
    events do not count as growth, or an idle archive would publish forever), once at
    start-up, and once more at a clean stop; retries after `retry` seconds on failure."""

    def __init__(
        self,
        engine: AsyncEngine,
        http: SynapseHTTP,
        admin_room_id: str,
        interval: float,
        bot_user_id: str,
        heads_log: HeadsLog | None = None,
        retry: float = 60.0,
        chain_key: Callable[[], ChainKey | None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.http = http
        self.admin_room_id = admin_room_id
        self.interval = interval
        self.bot_user_id = bot_user_id
        self.heads_log = heads_log
        self.retry = min(retry, interval)
        self.chain_key = chain_key
        self._task: asyncio.Task[None] | None = None

    async def _grown(self) -> bool:
        t = archive_events
        async with self.engine.connect() as conn:
            last = await conn.scalar(
                select(archive_heads.c.seq).order_by(archive_heads.c.published_ts.desc()).limit(1)
            )
            if last is None:
                return True
            newer = await conn.scalar(
                select(t.c.seq)
                .where(
                    t.c.seq > last,
                    or_(t.c.event_type != HEAD_EVENT_TYPE, t.c.sender != self.bot_user_id),
                )
                .limit(1)
            )
        return newer is not None

    async def publish_if_grown(self) -> PublishedHead | None:
        """Publish the head if rows were added since the last publication."""
        if not await self._grown():
            return None
        return await publish_head(
            self.engine, self.http, self.admin_room_id, heads_log=self.heads_log, chain_key=self.chain_key()
        )

    async def _run(self) -> None:
        while True:
            try:
                await self.publish_if_grown()
                await asyncio.sleep(self.interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried; the next publication covers it
                log.warning("publishing the chain head failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self.retry)

    def start(self) -> None:
        """Start publishing in the background."""
        self._task = asyncio.create_task(self._run(), name="carebridge-chain-head")

    async def stop(self, final_timeout: float = 10.0) -> None:
        """Stop the background task, then publish a last head if the archive grew."""
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await asyncio.wait_for(self.publish_if_grown(), final_timeout)
        except Exception as exc:  # noqa: BLE001 - shutdown goes on; the heads log has the line
            log.warning("publishing the chain head at shutdown failed (%s)", type(exc).__name__)
