"""Readiness verdicts from what the bridge saw (pure: Synapse and the database stubbed)."""

from __future__ import annotations

from unittest.mock import AsyncMock, Mock

from bridge.health.readiness import Readiness
from config.settings import ReadinessSettings


def _readiness(ping: AsyncMock) -> Readiness:
    http = Mock()
    http.request = AsyncMock(side_effect=ConnectionError("synapse down"))
    readiness = Readiness(ReadinessSettings(max_lag_seconds=60), Mock(), http, ping, lambda: "!admins:x")
    readiness.started = True
    return readiness


def test_a_non_2xx_answer_makes_deliveries_failing_until_the_next_2xx() -> None:
    """Synapse retries a transaction answered 500: not ready until one is answered 200."""
    readiness = _readiness(AsyncMock())
    assert readiness.reasons() == []
    readiness.record_answer(500)
    assert readiness.reasons() == ["deliveries_failing"]
    readiness.record_answer(200)
    assert readiness.reasons() == []


async def test_a_failed_ping_means_synapse_cannot_reach_the_bridge() -> None:
    """The appservice ping failing is reported; it clears when the ping works again."""
    ping = AsyncMock(side_effect=ConnectionError("refused"))
    readiness = _readiness(ping)
    await readiness.probe()
    assert readiness.reasons() == ["synapse_cannot_reach_bridge"]
    ping.side_effect = None
    await readiness.probe()
    assert readiness.reasons() == []


def test_lag_beyond_the_setting_and_starting_are_reasons() -> None:
    """An archive behind Synapse by more than max_lag_seconds, or a bridge still starting."""
    readiness = _readiness(AsyncMock())
    readiness.lag_seconds = 61
    readiness.started = False
    assert readiness.reasons() == ["starting", "archive_lagging"]
