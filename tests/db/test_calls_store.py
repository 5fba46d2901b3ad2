"""The call log on SQLite and PostgreSQL: invites, transitions, the missed schedule."""

from __future__ import annotations

from bridge.db.engine import create_engine, migrate
from bridge.staff.calls.model import MISSED_GRACE_MS, CallEvent, Outcome
from bridge.staff.calls.store import CallStore


def event(etype: str, call_id: str, sender: str, ts: int, **content: object) -> CallEvent:
    parsed = CallEvent.parse(
        {
            "type": etype,
            "room_id": "!r:hs",
            "sender": sender,
            "origin_server_ts": ts,
            "event_id": f"${call_id}{ts}",
            "content": {"call_id": call_id, "version": "1", **content},
        }
    )
    assert parsed is not None
    return parsed


async def test_call_log_lifecycle(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        store = CallStore(engine)
        talk = event("m.call.invite", "talk", "@a:hs", 1_000, lifetime=60_000)
        assert await store.record_invite(talk, "@b:hs", 2, Outcome.RINGING)
        assert not await store.record_invite(talk, "@b:hs", 2, Outcome.RINGING)  # replay
        ring = event("m.call.invite", "ring", "@a:hs", 2_000, lifetime=5_000)
        assert await store.record_invite(ring, "@b:hs", 2, Outcome.RINGING)
        assert await store.next_due_ms() == 7_000 + MISSED_GRACE_MS

        answered = await store.apply(event("m.call.answer", "talk", "@b:hs", 4_000))
        assert answered is not None and answered.outcome is Outcome.ANSWERED
        ended = await store.apply(event("m.call.hangup", "talk", "@a:hs", 64_000, reason="user_hangup"))
        assert ended is not None and ended.duration_ms == 60_000
        assert await store.apply(event("m.call.answer", "unknown", "@b:hs", 5_000)) is None

        assert await store.expire_ringing(7_000) == 0
        assert await store.expire_ringing(7_000 + MISSED_GRACE_MS) == 1
        pending = await store.missed_without_notice()
        assert [r.call_id for r in pending] == ["ring"]
        await store.set_notice("!r:hs", "ring", "$notice")
        assert await store.missed_without_notice() == []
        assert await store.next_due_ms() is None

        day = await store.between(0, 10_000)
        assert [r.call_id for r in day] == ["talk", "ring"]
        assert await store.between(0, 10_000, "@nobody:hs") == []
    finally:
        await engine.dispose()
