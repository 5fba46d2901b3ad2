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


def test_a_refused_oversized_or_malformed_request_does_not_make_the_bridge_unready() -> None:
    """413 (too large) and 400 (not JSON) refuse that request, not the pipe: counted, but
    only a 5xx (the archive could not take a delivery) is deliveries_failing."""
    readiness = _readiness(AsyncMock())
    for status in (413, 400):
        readiness.record_answer(status)
        assert readiness.reasons() == [], status
    readiness.record_answer(500)
    readiness.record_answer(413)
    assert readiness.reasons() == ["deliveries_failing"], "a 4xx does not clear a failing pipe either"
    readiness.record_answer(200)
    assert readiness.reasons() == []


async def test_synapse_reaching_the_bridge_clears_a_failed_ping_at_once() -> None:
    """A ping or delivery from Synapse proves it reaches the bridge: no wait for a probe."""
    readiness = _readiness(AsyncMock(side_effect=ConnectionError("refused")))
    await readiness.probe()
    assert readiness.reasons() == ["synapse_cannot_reach_bridge"]
    readiness.synapse_reached()
    assert readiness.reasons() == []
    await readiness.probe()
    readiness.record_answer(200)
    assert readiness.reasons() == []


async def test_probes_come_every_second_while_a_finding_stands() -> None:
    """The interval (30 s by default) between healthy probes; 1 s while the ping fails or
    the archive lags, so a recovery is seen within seconds."""
    ping = AsyncMock(side_effect=ConnectionError("refused"))
    readiness = _readiness(ping)
    assert readiness.next_probe_in() == 30.0
    await readiness.probe()
    assert readiness.next_probe_in() == 1.0
    ping.side_effect = None
    await readiness.probe()
    assert readiness.next_probe_in() == 30.0
    readiness.lag_seconds = 61
    assert readiness.next_probe_in() == 1.0
