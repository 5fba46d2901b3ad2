"""Production shape on this machine: Synapse main + one worker on PostgreSQL and Redis, the
bridge on PostgreSQL; the Foundation end-to-end check runs through it (issue 8, acceptance 2)."""

from __future__ import annotations

import json
import secrets
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

        # Logs are JSON lines and carry no message content.
        logs = stack.log_text()
        for name, text in logs.items():
            assert marker not in text, f"message body leaked into {name}"
        bridge_lines = [line for line in logs["bridge.out"].splitlines() if line.startswith("{")]
        assert bridge_lines and all(json.loads(line)["level"] for line in bridge_lines)
    finally:
        stack.stop()
