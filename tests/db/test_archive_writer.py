"""The writer's fast path (cached head, no look-ups) falls back safely on every surprise."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bridge.archive.keyring import Keyring
from bridge.archive.verify import verify_archive
from bridge.archive.writer import ArchiveWriter
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events, archive_relations, as_transactions
from tests.archive_helpers import message_event


def event(**extra: Any) -> dict[str, Any]:
    return message_event({"body": "x", **extra})


async def test_interleaved_writers_replays_and_duplicates(db_url: str) -> None:
    keyring = Keyring.generate()
    e1, e2 = create_engine(db_url), create_engine(db_url)
    await migrate(e1)
    bridge, cli = ArchiveWriter(e1, keyring), ArchiveWriter(e2, keyring)
    try:
        first = event()
        await bridge.ingest_transaction("t1", [first, event()])  # bridge now caches head 2
        await cli.append([event()], source="export")  # another process takes seq 3
        after = await bridge.ingest_transaction("t2", [event()])  # cached head is stale
        assert [a.seq for a in after.appended] == [4]
        # A known txnId with an event not yet archived (Synapse on SQLite reuses ids after
        # a restart): the event is archived, the txnId proves nothing.
        reused = await bridge.ingest_transaction("t2", [event()])
        assert reused.replayed and [a.seq for a in reused.appended] == [5]
        dup = event()
        mixed = await bridge.ingest_transaction("t3", [first, dup, dup])
        assert [a.event["event_id"] for a in mixed.appended] == [dup["event_id"]]
        edit = event(**{"m.relates_to": {"rel_type": "m.replace", "event_id": first["event_id"]}})
        await bridge.ingest_transaction("t4", [edit])
        report = await verify_archive(e1, None, None)
        assert report.ok and report.rows == 7
        async with e1.connect() as conn:
            ids = [r[0] for r in await conn.execute(select(archive_events.c.event_id))]
            rel = (await conn.execute(select(archive_relations))).one()
        assert len(ids) == len(set(ids)) == 7
        assert (rel.event_id, rel.target_event_id, rel.rel_type) == (
            edit["event_id"],
            first["event_id"],
            "m.replace",
        )
    finally:
        await e1.dispose()
        await e2.dispose()


async def test_failed_fast_write_is_rolled_back_whole_and_a_restart_continues(db_url: str) -> None:
    """A transaction that repeats an archived event on the fast path (cached head, one trip
    to the database) is rolled back whole and written again carefully: its txnId is
    recorded once, as new, with only the new event; a writer started afresh on the same
    database (a restart) reads the head and continues the same valid chain."""
    keyring = Keyring.generate()
    engine = create_engine(db_url)
    await migrate(engine)
    writer = ArchiveWriter(engine, keyring)
    try:
        first = event()
        await writer.ingest_transaction("t1", [first])
        await writer.ingest_transaction("t2", [event()])  # the head is cached from here on
        new = event()
        result = await writer.ingest_transaction("t3", [new, first])
        assert not result.replayed
        assert [(a.seq, a.event["event_id"]) for a in result.appended] == [(3, new["event_id"])]
        async with engine.connect() as conn:
            txns = (await conn.execute(select(as_transactions.c.txn_id, as_transactions.c.event_count))).all()
        assert sorted(tuple(t) for t in txns) == [("t1", 1), ("t2", 1), ("t3", 1)]
        await writer.close()
        writer = ArchiveWriter(engine, keyring)
        assert [a.seq for a in (await writer.ingest_transaction("t4", [event()])).appended] == [4]
        assert [a.seq for a in (await writer.ingest_transaction("t5", [event(), event()])).appended] == [5, 6]
        report = await verify_archive(engine, None, None)
        assert report.ok and report.rows == 6
    finally:
        await writer.close()
        await engine.dispose()
