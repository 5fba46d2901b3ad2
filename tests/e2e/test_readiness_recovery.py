"""Readiness tells the truth, through the real Synapse and bridge: it turns ready within
seconds of the pipe being back (not at the next 30 s probe), and a request refused as too
large does not make it red."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.harness.stack import Stack

BACK_WITHIN = 5.0  # seconds, from the issue: ready within 5 s of the pipe being back


async def ready(stack: Stack) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{stack.bridge_url}/_carebridge/ready") as resp,
    ):
        return resp.status, await resp.json()


async def wait_until(stack: Stack, want_ready: bool, deadline_s: float, reason: str | None = None) -> float:
    """Poll /ready until it says `want_ready` (and names `reason`, if given); returns the
    seconds it took, or fails at the deadline with the last answer."""
    start = time.monotonic()
    while True:
        status, body = await ready(stack)
        if (status == 200) == want_ready and (reason is None or reason in body["reasons"]):
            return time.monotonic() - start
        assert time.monotonic() - start < deadline_s, f"after {deadline_s}s: {status} {body}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def own_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """Synapse and bridge with the default readiness settings (probe every 30 s)."""
    stack = Stack(root=tmp_path)
    stack.init()
    assert stack.s.readiness.probe_interval_seconds == 30
    try:
        stack.start_synapse()
        stack.start_bridge()
        yield stack
    finally:
        stack.stop()


@pytest.mark.slow
async def test_ready_again_within_seconds_of_synapse_and_of_the_bridge_coming_back(own_stack: Stack) -> None:
    """Synapse killed: within a probe interval the bridge says synapse_cannot_reach_bridge;
    Synapse restarted: ready again within 5 s of Synapse answering (before: up to the
    whole 30 s interval, the finding of the last probe standing). Then the bridge killed
    and restarted: ready within 5 s of it answering."""
    stack = own_stack
    await wait_until(stack, True, 60)
    stack.stop_synapse(kill=True)
    await wait_until(stack, False, 60, reason="synapse_cannot_reach_bridge")
    stack.start_synapse()  # returns once Synapse's /health answers
    await wait_until(stack, True, BACK_WITHIN)

    stack.stop_bridge(kill=True)
    stack.start_bridge()  # returns once the bridge's /health answers
    await wait_until(stack, True, BACK_WITHIN)


async def test_a_transaction_refused_as_too_large_does_not_turn_readiness_red(stack: Stack) -> None:
    """A 16 MiB + 1 byte transaction (with and without Content-Length) is refused with 413
    M_TOO_LARGE; /_carebridge/ready stays 200 (before: 503 deliveries_failing until the next
    delivery)."""
    await wait_until(stack, True, 60)
    url = f"{stack.bridge_url}/_matrix/app/v1/transactions/too-large-{time.time_ns()}"
    headers = {"Authorization": f"Bearer {stack.hs_token}", "Content-Type": "application/json"}
    body = b'{"events": [], "pad": "' + b"x" * (16 * 1024 * 1024) + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    async with aiohttp.ClientSession() as session:
        for data in (body, chunks()):
            async with session.put(url, data=data, headers=headers) as resp:
                assert resp.status == 413, await resp.text()
                assert (await resp.json())["errcode"] == "M_TOO_LARGE"
            status, ready_body = await ready(stack)
            assert status == 200 and ready_body["reasons"] == [], ready_body
            assert ready_body["last_delivery_status"] == 413
