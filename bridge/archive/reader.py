"""Reading the archive back: decrypted events in sequence order, streamed in pages."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import ColumnElement, and_, select, text, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.archive.chain import event_aad
from bridge.archive.keyring import KeyringError, Sealer
from bridge.archive.writer import ArchivedEvent
from bridge.db.tables import archive_events

log = logging.getLogger(__name__)

PAGE = 500


async def iter_events(
    engine: AsyncEngine,
    keyring: Sealer,
    after_seq: int = 0,
    where: ColumnElement[bool] | None = None,
    page_size: int = PAGE,
    skip_unreadable: bool = False,
) -> AsyncIterator[ArchivedEvent]:
    """Yield decrypted archived events with seq > after_seq, page by page (flat memory).

    A row that cannot be opened (altered ciphertext, unknown key id) raises, unless
    `skip_unreadable`: then it is logged by seq and event id and skipped, so a consumer
    keeps going while `carebridge archive verify` reports the damage.
    """
    t = archive_events
    cursor = after_seq
    condition = where if where is not None else true()
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.c.seq, t.c.event_id, t.c.room_id, t.c.key_id, t.c.ciphertext)
                    .where(and_(t.c.seq > cursor, condition))
                    .order_by(t.c.seq)
                    .limit(page_size)
                )
            ).all()
        if not rows:
            return
        for seq, event_id, room_id, key_id, sealed in rows:
            archived = open_row(keyring, seq, event_id, room_id, key_id, sealed, skip_unreadable)
            if archived is not None:
                yield archived
        cursor = rows[-1][0]
        if len(rows) < page_size:
            return


def open_row(
    keyring: Sealer,
    seq: int,
    event_id: str,
    room_id: str,
    key_id: str,
    sealed: bytes,
    skip_unreadable: bool,
) -> ArchivedEvent | None:
    """Decrypt one archive row; an unreadable one raises, or (skip_unreadable) is logged
    by seq and event id and gives None."""
    try:
        event: dict[str, Any] = json.loads(keyring.open(key_id, bytes(sealed), event_aad(event_id, room_id)))
    except (InvalidTag, KeyringError, ValueError) as exc:
        if not skip_unreadable:
            raise
        log.error("archive row seq=%d event=%s unreadable (%s); skipped", seq, event_id, type(exc).__name__)
        return None
    return ArchivedEvent(seq=seq, event=event)


async def head_seq(engine: AsyncEngine) -> int:
    """The sequence number of the newest archive row (0 for an empty archive)."""
    async with engine.connect() as conn:
        value = await conn.scalar(select(archive_events.c.seq).order_by(archive_events.c.seq.desc()).limit(1))
    return int(value or 0)


# The key ids in use, one index look-up per key (a loose scan of ix_archive_key_id, migration
# 0020) instead of a DISTINCT over every row: the archive holds millions of rows sealed
# under a handful of keys.
_KEY_IDS = text(
    "WITH RECURSIVE k(id) AS ("
    " SELECT MIN(key_id) FROM archive_events"
    " UNION ALL"
    " SELECT (SELECT MIN(key_id) FROM archive_events WHERE key_id > k.id) FROM k WHERE k.id IS NOT NULL"
    ") SELECT id FROM k WHERE id IS NOT NULL"
)


async def archive_key_ids(conn: AsyncConnection) -> list[str]:
    """The key ids the archive's rows are sealed under, sorted."""
    return sorted(str(r[0]) for r in await conn.execute(_KEY_IDS))
