"""Making Synapse lose data behind its back, for the tests of the archive-vs-Synapse check.

The admin API that would do it (purge_history, media delete) is refused by the Carebridge
module, as it must be. Someone with the server's files can still remove rows from Synapse's
database directly; these helpers do exactly that on the test stack's SQLite file while
Synapse runs (retrying while Synapse holds the write lock).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence

from tests.harness.stack import Stack


def _database(stack: Stack) -> str:
    return str(stack.s.data_dir / "homeserver.db")


async def _delete(stack: Stack, statements: Sequence[tuple[str, tuple[str, ...]]]) -> int:
    for _ in range(100):
        try:
            with sqlite3.connect(_database(stack), timeout=5) as db:
                return sum(db.execute(sql, args).rowcount for sql, args in statements)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            await asyncio.sleep(0.1)
    raise TimeoutError("Synapse's database stayed locked")


async def forget_events(stack: Stack, event_ids: Sequence[str]) -> None:
    """Delete events from Synapse's timeline (as purge_history would): its room history
    (the admin messages API) no longer returns them."""
    statements = [
        (f"DELETE FROM {table} WHERE event_id = ?", (event_id,))
        for event_id in event_ids
        for table in ("events", "event_json")
    ]
    removed = await _delete(stack, statements)
    assert removed == 2 * len(event_ids), removed


async def forget_media(stack: Stack, mxc: str) -> None:
    """Delete an uploaded file's record from Synapse (as the admin media delete would)."""
    media_id = mxc.rsplit("/", 1)[1]
    removed = await _delete(stack, [("DELETE FROM local_media_repository WHERE media_id = ?", (media_id,))])
    assert removed == 1, removed
