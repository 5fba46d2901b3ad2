"""Reconciliation against the real Synapse: an empty archive is filled from the admin API,
and the per-room high-water mark makes the next run read only what is new."""

from __future__ import annotations

from pathlib import Path

from nio import RoomCreateResponse, RoomSendResponse
from sqlalchemy import select

from bridge.archive.keyring import Keyring
from bridge.archive.reconcile import Reconciler, ReconcileStats
from bridge.archive.writer import ArchiveWriter
from bridge.core.synapse_http import SynapseHTTP
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events, reconcile_marks
from tests.harness.scenarios import send_texts
from tests.harness.stack import Stack


async def test_reconcile_fills_gaps_and_resumes_from_the_mark(stack: Stack, tmp_path: Path) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    await migrate(engine)
    writer = ArchiveWriter(engine, Keyring.generate())
    http = SynapseHTTP(stack.hs_url, stack.as_token)
    try:
        room = await client.room_create(name="reconcile", is_direct=True)
        assert isinstance(room, RoomCreateResponse), room
        sent = await send_texts(client, room.room_id, (f"r{i}" for i in range(7)))

        reconciler = Reconciler(engine, writer, http, page_size=4)
        stats = await reconciler.run()
        assert stats.failed_rooms == 0 and stats.appended >= len(sent)
        assert room.room_id in await reconciler.synapse_rooms()
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(archive_events.c.event_id, archive_events.c.source, archive_events.c.event_type)
                    .where(archive_events.c.room_id == room.room_id)
                    .order_by(archive_events.c.seq)
                )
            ).all()
            mark = await conn.scalar(
                select(reconcile_marks.c.token).where(reconcile_marks.c.room_id == room.room_id)
            )
        assert [r.event_id for r in rows if r.event_type == "m.room.message"] == sent, "all, once, in order"
        assert {r.source for r in rows} == {"reconcile"}
        assert rows[0].event_type == "m.room.create"
        assert mark

        again = ReconcileStats()
        await reconciler.reconcile_room(room.room_id, again)
        assert (again.checked, again.appended) == (0, 0), "nothing new: the mark skips everything"

        late = await client.room_send(room.room_id, "m.room.message", {"msgtype": "m.text", "body": "late"})
        assert isinstance(late, RoomSendResponse), late
        newer = ReconcileStats()
        await reconciler.reconcile_room(room.room_id, newer)
        assert (newer.checked, newer.appended) == (1, 1)
        async with engine.connect() as conn:
            count = await conn.scalar(
                select(archive_events.c.seq).where(archive_events.c.event_id == late.event_id)
            )
        assert count is not None
    finally:
        await client.close()
        await http.close()
        await engine.dispose()
