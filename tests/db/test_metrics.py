"""Bridge and module metrics: counters move with what really happened (no timing asserted)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import generate_latest

from bridge.archive import metrics
from bridge.archive.keyring import Keyring
from bridge.core.metrics import instrument_engine
from bridge.db.engine import create_engine, migrate
from policy.module.guard import guarded
from policy.module.metrics import count_refusal
from tests.archive_helpers import message_event


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _event(n: int) -> dict[str, object]:
    return message_event({"body": "x"}, event_id=f"$e{n}", ts=1_700_000_000_000 + n)


async def test_writer_counts_commits_replays_and_failures(db_url: str) -> None:
    engine = create_engine(db_url)
    instrument_engine(engine)
    try:
        await migrate(engine)
        writer = metrics.MeteredArchiveWriter(engine, Keyring.generate())
        before = {
            k: _value(f"carebridge_transactions_{k}_total")
            for k in ("received", "committed", "replayed", "failed")
        }
        events_before = _value("carebridge_events_archived_total", {"source": "txn"})
        await writer.ingest_transaction("t1", [_event(1), _event(2)])
        await writer.ingest_transaction("t1", [_event(1), _event(2)])
        with pytest.raises(KeyError):
            await writer.ingest_transaction("t2", [{"no": "event id"}])
        assert _value("carebridge_transactions_received_total") - before["received"] == 3
        assert _value("carebridge_transactions_committed_total") - before["committed"] == 1
        assert _value("carebridge_transactions_replayed_total") - before["replayed"] == 1
        assert _value("carebridge_transactions_failed_total") - before["failed"] == 1
        assert _value("carebridge_events_archived_total", {"source": "txn"}) - events_before == 2
        assert _value("carebridge_db_statement_seconds_count") > 0

        await metrics.refresh_archive_gauges(engine)
        assert _value("carebridge_archive_head_seq") == 2
        assert _value("carebridge_archive_newest_event_age_seconds") > 0
        text = generate_latest(metrics.REGISTRY).decode()
        assert "carebridge_archive_write_seconds_bucket" in text
    finally:
        await engine.dispose()


async def test_module_refusals_and_contained_errors_are_counted() -> None:
    count_refusal("redaction_forbidden")
    assert DEFAULT_REGISTRY.get_sample_value(
        "carebridge_policy_refusals_total", {"reason": "redaction_forbidden"}
    )

    @guarded(on_error=None)
    async def explodes() -> None:
        raise RuntimeError("boom")

    await explodes()
    assert (
        DEFAULT_REGISTRY.get_sample_value("carebridge_module_callback_errors_total", {"callback": "explodes"})
        == 1
    )
