"""The pipe from Synapse to the archive in real operation: restarts, odd events, big bursts."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from policy.event_types import MALFORMED_EVENT_TYPE
from tests.harness.stack import Stack


@pytest.fixture(scope="module")
def pipe_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Synapse + bridge without start-up reconciliation: what reaches the archive here came
    through Synapse's transactions, nothing was filled in afterwards."""
    stack = Stack(
        root=tmp_path_factory.mktemp("pipe"), extra_settings={"archive": {"reconcile_on_start": False}}
    )
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        yield stack
    finally:
        stack.stop()


async def _dm(stack: Stack, people: int) -> tuple[list[AsyncClient], str]:
    clients = []
    for _ in range(people):
        user_id, password = await stack.create_user()
        clients.append(await stack.login(user_id, password))
    room = await clients[0].room_create(is_direct=True, invite=[c.user_id for c in clients[1:]])
    assert isinstance(room, RoomCreateResponse), room
    for client in clients[1:]:
        assert isinstance(await client.join(room.room_id), JoinResponse)
    return clients, room.room_id


async def _burst(clients: list[AsyncClient], room_id: str, label: str, per_sender: int) -> list[str]:
    async def one(index: int, client: AsyncClient) -> list[str]:
        ids = []
        for i in range(per_sender):
            resp = await client.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": f"{label}-{index}-{i}"}
            )
            assert isinstance(resp, RoomSendResponse), resp
            ids.append(resp.event_id)
        return ids

    return [e for ids in await asyncio.gather(*(one(i, c) for i, c in enumerate(clients))) for e in ids]


@pytest.mark.slow
async def test_synapse_restarts_between_bursts_lose_nothing(tmp_path: Path) -> None:
    """Synapse on SQLite reuses transaction ids 1, 2, ... after a restart (clean or kill -9);
    while the bridge keeps its database, every event sent after each restart is still
    archived live, exactly once."""
    stack = Stack(root=tmp_path)
    stack.init()
    clients: list[AsyncClient] = []
    try:
        stack.start_synapse()
        stack.start_bridge()
        clients, room_id = await _dm(stack, 2)
        sent: list[str] = []
        for label, kill in (("first", None), ("after-clean", False), ("after-kill", True)):
            if kill is not None:
                stack.stop_synapse(kill=kill)
                stack.start_synapse()
            burst = await _burst(clients, room_id, label, 10)
            sent += burst
            ids = await stack.wait_archived(burst, timeout=60)
            missing = set(burst) - set(ids)
            assert not missing, f"{len(missing)} of {len(burst)} events of burst {label!r} not archived"
        counts = Counter(await stack.archived_ids())
        assert all(counts[e] == 1 for e in sent), [e for e in sent if counts[e] != 1]
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        stack.stop()


async def _client_put(stack: Stack, client: AsyncClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    url = f"{stack.hs_url}/_matrix/client/v3{path}"
    headers = {"Authorization": f"Bearer {client.access_token}"}
    async with aiohttp.ClientSession() as session, session.put(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_odd_events_from_staff_are_archived_and_do_not_stall_other_rooms(pipe_stack: Stack) -> None:
    """A staff member's empty-type event and empty-type state event (Synapse accepts both)
    are archived as malformed raw records; messages sent afterwards in another room are
    still archived live."""
    stack = pipe_stack
    clients, room_id = await _dm(stack, 2)
    others, other_room = await _dm(stack, 2)
    try:
        txn = secrets.token_hex(6)
        status, sent = await _client_put(stack, clients[0], f"/rooms/{room_id}/send//{txn}", {"body": "odd"})
        assert status == 200, sent
        status, state = await _client_put(
            stack, clients[0], f"/rooms/{room_id}/state//odd", {"x": [1, {"y": None}]}
        )
        assert status == 200, state
        probes = await _burst(others, other_room, "probe", 2)
        ids = await stack.wait_archived([*probes, sent["event_id"], state["event_id"]], timeout=30)
        assert set(probes) <= set(ids), "messages after the odd events were not archived"
        records = {a.event["event_id"]: a.event for a in await stack.archived(room_id)}
        for event_id, raw_content in (
            (sent["event_id"], {"body": "odd"}),
            (state["event_id"], {"x": [1, {"y": None}]}),
        ):
            record = records[event_id]
            assert record["type"] == MALFORMED_EVENT_TYPE
            assert record["content"]["reason"] == "bad_type"
            assert record["content"]["raw"]["type"] == ""
            assert record["content"]["raw"]["content"] == raw_content
    finally:
        await asyncio.gather(*(c.close() for c in [*clients, *others]))


async def test_burst_of_large_messages_is_archived_whole(pipe_stack: Stack) -> None:
    """50 messages of 63 KB from 5 senders, sent while the bridge is busy with an earlier
    transaction (its database briefly held by another writer), reach it as one transaction
    far over 1 MiB; every one of them is archived."""
    stack = pipe_stack
    clients, room_id = await _dm(stack, 5)
    db = sqlite3.connect(stack.s.database_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")  # the first transaction waits; Synapse queues the rest
        sent: list[str] = []

        async def sender(index: int, client: AsyncClient) -> None:
            for i in range(10):
                body = f"{index}-{i}-" + secrets.token_hex(31_500)[:63_000]
                resp = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
                assert isinstance(resp, RoomSendResponse), resp
                sent.append(resp.event_id)

        await asyncio.gather(*(sender(i, c) for i, c in enumerate(clients)))
        db.execute("ROLLBACK")
        ids = await stack.wait_archived(sent, timeout=90)
        missing = set(sent) - set(ids)
        assert not missing, f"{len(missing)} of {len(sent)} large messages not archived"
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
        await asyncio.gather(*(c.close() for c in clients))
