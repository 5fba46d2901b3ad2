"""The bridge's own schedule for comparing the archive with Synapse, with a fake clock (no
sleeping) and a scripted comparison, on SQLite and PostgreSQL: a pass at start, then every
interval (at most an hour); only findings not reported before are alerted, also after a
restart; a failed pass is tried again after a few minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.archive.synapse_check import SynapseComparison, SynapseFinding
from bridge.archive.synapse_watch import RETRY, SynapseWatch
from bridge.core.clock import ManualClock
from bridge.db.engine import create_engine, migrate

ROOM = "!ward:test"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def purged(event_id: str) -> SynapseFinding:
    return SynapseFinding("purged", ROOM, event_id, "in the archive, no longer in Synapse's room history")


class Script:
    """What Synapse 'still has' at each pass, and what was posted."""

    def __init__(self) -> None:
        self.findings: list[SynapseFinding] = []
        self.fail = False
        self.passes = 0
        self.posted: list[tuple[str, str]] = []

    async def compare(self) -> SynapseComparison:
        self.passes += 1
        if self.fail:
            raise ConnectionError("Synapse is down")
        return SynapseComparison(rooms_checked=1, events_checked=10, findings=list(self.findings))

    async def post(self, text: str, txn: str) -> str:
        self.posted.append((text, txn))
        return f"$alert{len(self.posted)}"


async def test_passes_at_start_then_hourly_and_alerts_each_loss_once(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        clock, script = ManualClock(START), Script()
        watch = SynapseWatch(engine, script.compare, script.post, timedelta(minutes=60), clock)

        assert (await watch.tick()) is not None and script.passes == 1  # at start
        assert script.posted == []
        clock.advance(timedelta(minutes=59))
        assert await watch.tick() is None and script.passes == 1  # not yet due

        script.findings = [purged("$gone1")]
        clock.advance(timedelta(minutes=1))
        await watch.tick()
        assert script.passes == 2 and len(script.posted) == 1
        text = script.posted[0][0]
        assert text.startswith("ALERT: Synapse no longer holds") and "$gone1" in text

        script.findings = [purged("$gone1"), purged("$gone2")]
        clock.advance(timedelta(minutes=60))
        await watch.tick()
        assert script.passes == 3 and len(script.posted) == 2
        assert "$gone2" in script.posted[1][0] and "$gone1" not in script.posted[1][0]

        # A restart: the pass at start reports nothing already reported.
        restarted = SynapseWatch(engine, script.compare, script.post, timedelta(minutes=60), clock)
        await restarted.tick()
        assert script.passes == 4 and len(script.posted) == 2
    finally:
        await engine.dispose()


async def test_a_failed_pass_is_retried_soon_and_the_interval_is_configurable(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        clock, script = ManualClock(START), Script()
        watch = SynapseWatch(engine, script.compare, script.post, timedelta(minutes=15), clock)
        script.fail = True
        assert await watch.tick() is None and script.passes == 1
        assert watch.next_run == START + RETRY
        clock.advance(RETRY)
        script.fail = False
        assert await watch.tick() is not None and script.passes == 2
        clock.advance(timedelta(minutes=14))
        await watch.tick()
        assert script.passes == 2
        clock.advance(timedelta(minutes=1))
        await watch.tick()
        assert script.passes == 3
    finally:
        await engine.dispose()


async def test_the_same_loss_posted_again_after_a_crash_keeps_its_transaction_id(db_url: str) -> None:
    """Posted but not remembered (the bridge died in between): the next pass posts the same
    alert with the same transaction id, which Synapse treats as the same message."""
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        clock, script = ManualClock(START), Script()
        script.findings = [purged("$gone")]

        async def crash_after_post(text: str, txn: str) -> str:
            await script.post(text, txn)
            raise ConnectionError("the bridge died before remembering")

        first = SynapseWatch(engine, script.compare, crash_after_post, timedelta(minutes=60), clock)
        assert await first.tick() is None
        second = SynapseWatch(engine, script.compare, script.post, timedelta(minutes=60), clock)
        await second.tick()
        assert len(script.posted) == 2 and script.posted[0][1] == script.posted[1][1]
        third = SynapseWatch(engine, script.compare, script.post, timedelta(minutes=60), clock)
        await third.tick()
        assert len(script.posted) == 2
    finally:
        await engine.dispose()
