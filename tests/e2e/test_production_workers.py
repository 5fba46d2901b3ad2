"""Production shape on this machine: Synapse main + one worker on PostgreSQL and Redis, the
bridge on PostgreSQL: a DM between two staff is archived (the bot never joined), and the
worker, not the main process, delivers the appservice transactions."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path

import pytest

from tests.harness.scenarios import exchange_dm
from tests.harness.workers import WorkerStack, metric, scrape


@pytest.mark.slow
async def test_dm_archived_through_synapse_worker_on_postgres_and_redis(tmp_path: Path) -> None:
    stack = WorkerStack(root=tmp_path)
    try:
        stack.init()
        stack.start_synapse()
        stack.start_bridge()
        marker = f"phi-marker-{secrets.token_hex(8)}"
        dm = await exchange_dm(stack, f"BP 120/80 {marker}")

        ids = await stack.wait_archived(list(dm.event_ids), timeout=30)
        assert set(dm.event_ids) <= set(ids)
        archived = await stack.archived(dm.room_id)
        members = {e.event["state_key"] for e in archived if e.event["type"] == "m.room.member"}
        assert members == {dm.alice_id, dm.bob_id}, "the bot never joined, yet the DM is archived"
        bodies = [e.event["content"].get("body") for e in archived if e.event["type"] == "m.room.message"]
        assert bodies == [f"BP 120/80 {marker}", "ack"]

        # The worker, not the main process, delivered the appservice transactions.
        on_worker = scrape(stack.worker_metrics_url)
        on_main = scrape(stack.main_metrics_url)
        assert metric(on_worker, "synapse_appservice_api_sent_transactions_total", service="carebridge") > 0
        assert metric(on_main, "synapse_appservice_api_sent_transactions_total") == 0

        # Synapse's metrics listener exports the module's counters; the bridge its own.
        with urllib.request.urlopen(stack.main_metrics_url, timeout=5) as resp:
            assert "carebridge_policy_refusals_total" in resp.read().decode()
        on_bridge = scrape(f"{stack.bridge_url}/metrics")
        assert metric(on_bridge, "carebridge_transactions_committed_total") >= 1
        assert metric(on_bridge, "carebridge_transactions_failed_total") == 0
        # The DM arrived through transactions; the bridge's own start-up events (the admins'
        # room) may be archived by start-up reconciliation first under load, so every row is
        # counted under one source or another.
        assert metric(on_bridge, "carebridge_events_archived_total", source="txn") >= len(dm.event_ids)
        assert metric(on_bridge, "carebridge_events_archived_total") == len(ids)
        assert metric(on_bridge, "carebridge_archive_head_seq") == len(ids)
        assert metric(on_bridge, "carebridge_db_statement_seconds_count") > 0
        assert "carebridge_archive_newest_event_age_seconds" in on_bridge

        # Logs are JSON lines and carry no message content.
        logs = stack.log_text()
        assert set(logs) == {"synapse.out", "appservice1.out", "bridge.out"}
        for name, text in logs.items():
            for phi in (marker, "Alice Nurse", "Bob Physician"):
                assert phi not in text, f"PHI ({phi!r}) leaked into {name}"
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            assert lines, f"{name} is empty"
        assert all(line["level"] for line in map(json.loads, logs["bridge.out"].splitlines()))
    finally:
        stack.stop()
