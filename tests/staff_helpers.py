"""Helpers shared by the channels / DMs / calls / files integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from nio import AsyncClient, SyncResponse
from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")


async def client_api(
    client: AsyncClient,
    method: str,
    path: str,
    body: Any = None,
    data: bytes | None = None,
    content_type: str | None = None,
) -> tuple[int, Any]:
    """A raw client-server request with the nio client's token: (status, JSON body)."""
    headers = {"Authorization": f"Bearer {client.access_token}"}
    if content_type:
        headers["Content-Type"] = content_type
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{client.homeserver}{path}", json=body, data=data, headers=headers) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 20.0, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy (no timing assertions: a deadline only)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


async def timeline(client: AsyncClient, room_id: str) -> list[dict[str, Any]]:
    """Every event the client can read in a room, oldest first (via /messages)."""
    status, data = await client_api(
        client, "GET", f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=500"
    )
    assert status == 200, data
    return list(reversed(data["chunk"]))


async def sync_once(client: AsyncClient) -> SyncResponse:
    """One sync, response type asserted."""
    resp = await client.sync(timeout=0)
    assert isinstance(resp, SyncResponse), resp
    return resp


async def refusal_count(hs_url: str, reason: str) -> float:
    """carebridge_policy_refusals_total{reason} as Synapse exports it (the test harness
    serves /_synapse/metrics on the client port)."""
    async with aiohttp.ClientSession() as session, session.get(f"{hs_url}/_synapse/metrics") as resp:
        assert resp.status == 200, resp.status
        text = await resp.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "carebridge_policy_refusals_total" and sample.labels.get("reason") == reason:
                return float(sample.value)
    return 0.0
