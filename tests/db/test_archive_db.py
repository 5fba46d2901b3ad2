"""The archive writer on SQLite and PostgreSQL: atomic txns, replays, chain, encryption."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from typing import Any

from sqlalchemy import func, select

from bridge.archive.chain import GENESIS_HASH, RowMeta, row_hash
from bridge.archive.keyring import Keyring
from bridge.archive.reader import iter_events
from bridge.archive.writer import ArchiveWriter
from bridge.db.engine import create_engine, current_revisions, migrate, script_heads
from bridge.db.tables import archive_events, as_transactions
from tests.archive_helpers import message_event


def event(body: str = "hello", room: str = "!r:test") -> dict[str, Any]:
    return message_event({"msgtype": "m.text", "body": body}, room_id=room, ts=1_700_000_000_000)


async def rows(engine: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(archive_events).order_by(archive_events.c.seq))).all())


async def test_migrations_create_schema_idempotently(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        await migrate(engine)
        assert set(await current_revisions(engine)) == set(script_heads())
    finally:
        await engine.dispose()


async def test_txn_committed_once_and_replay_is_noop(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    writer = ArchiveWriter(engine, Keyring.generate())
    try:
        events = [event("a"), event("b")]
        first = await writer.ingest_transaction("t1", events)
        again = await writer.ingest_transaction("t1", events)
        assert [a.seq for a in first.appended] == [1, 2]
        assert again.replayed and again.appended == ()
        # The same events in a new txn (e.g. after reconciliation) are not stored twice.
        third = await writer.ingest_transaction("t2", [events[1], event("c")])
        assert [a.event["content"]["body"] for a in third.appended] == ["c"]
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(archive_events)) == 3
            assert await conn.scalar(select(func.count()).select_from(as_transactions)) == 2
    finally:
        await engine.dispose()


async def test_reused_txn_id_archives_the_events_not_yet_archived(db_url: str) -> None:
    """Synapse on SQLite numbers transactions from 1 again after a restart: a known txnId
    whose events are not all archived gets the missing ones archived, each exactly once."""
    engine = create_engine(db_url)
    await migrate(engine)
    writer = ArchiveWriter(engine, Keyring.generate())
    try:
        before = [event("a"), event("b")]
        await writer.ingest_transaction("1", before)
        after_restart = [before[1], event("c"), event("d")]
        for _ in range(2):  # the fast path and, on the retry, the careful one
            result = await writer.ingest_transaction("1", after_restart)
            assert result.replayed
        async with engine.connect() as conn:
            ids = [r[0] for r in await conn.execute(select(archive_events.c.event_id))]
        assert sorted(ids) == sorted(e["event_id"] for e in [*before, *after_restart[1:]])
    finally:
        await engine.dispose()


async def test_chain_links_and_ciphertext_has_no_plaintext(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    keyring = Keyring.generate()
    writer = ArchiveWriter(engine, keyring)
    try:
        marker = "patient-bed-12-" + secrets.token_hex(4)
        await writer.ingest_transaction("t1", [event(marker), event("x")])
        stored = await rows(engine)
        prev = GENESIS_HASH
        for row in stored:
            meta = RowMeta(
                row.seq,
                row.event_id,
                row.room_id,
                row.sender,
                row.event_type,
                row.state_key,
                row.origin_ts,
                row.received_ts,
                row.source,
                row.key_id,
            )
            assert bytes(row.prev_hash) == prev
            assert bytes(row.row_hash) == row_hash(prev, meta, bytes(row.ciphertext))
            assert marker.encode() not in bytes(row.ciphertext)
            prev = bytes(row.row_hash)
        decrypted = [a.event["content"]["body"] async for a in iter_events(engine, keyring)]
        assert decrypted == [marker, "x"]
    finally:
        await engine.dispose()


async def test_concurrent_writers_keep_one_linear_chain(db_url: str) -> None:
    """Two writers (as the bridge and a CLI process would be) never fork the chain."""
    keyring = Keyring.generate()
    e1, e2 = create_engine(db_url), create_engine(db_url)
    await migrate(e1)
    w1, w2 = ArchiveWriter(e1, keyring), ArchiveWriter(e2, keyring)
    try:
        await asyncio.gather(
            *(
                w.ingest_transaction(f"{name}{i}", [event(), event()])
                for i in range(10)
                for name, w in (("a", w1), ("b", w2))
            )
        )
        stored = await rows(e1)
        assert [r.seq for r in stored] == list(range(1, 41))
        for before, after in itertools.pairwise(stored):
            assert bytes(after.prev_hash) == bytes(before.row_hash)
    finally:
        await e1.dispose()
        await e2.dispose()
