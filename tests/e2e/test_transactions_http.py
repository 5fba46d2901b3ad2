"""The appservice transaction endpoint, driven directly over HTTP on the running bridge."""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp

from tests.harness.stack import Stack


def synthetic_event(room: str = "!synthetic:test.carebridge") -> dict[str, Any]:
    return {
        "event_id": f"$syn-{secrets.token_hex(8)}",
        "room_id": room,
        "sender": "@someone:test.carebridge",
        "type": "m.room.message",
        "origin_server_ts": 1_700_000_000_000,
        "content": {"msgtype": "m.text", "body": "synthetic"},
    }


async def put_txn(
    stack: Stack, txn_id: str, body: bytes | dict[str, Any], token: str | None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{stack.bridge_url}/_matrix/app/v1/transactions/{txn_id}"
    async with aiohttp.ClientSession() as session:
        kwargs: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
        async with session.put(url, headers=headers, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)


async def test_same_transaction_twice_stores_once(stack: Stack) -> None:
    events = [synthetic_event(), synthetic_event()]
    txn = f"dup-{secrets.token_hex(4)}"
    assert (await put_txn(stack, txn, {"events": events}, stack.hs_token))[0] == 200
    assert (await put_txn(stack, txn, {"events": events}, stack.hs_token))[0] == 200
    ids = await stack.archived_ids()
    for e in events:
        assert ids.count(e["event_id"]) == 1


async def test_wrong_or_missing_token_refused_and_stores_nothing(stack: Stack) -> None:
    wrong = synthetic_event()
    status, body = await put_txn(stack, "bad-token-1", {"events": [wrong]}, "not-the-token" * 4)
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    missing = synthetic_event()
    status, body = await put_txn(stack, "bad-token-2", {"events": [missing]}, None)
    assert status == 401 and body["errcode"] == "M_UNAUTHORIZED"
    ids = await stack.archived_ids()
    assert wrong["event_id"] not in ids and missing["event_id"] not in ids


async def test_malformed_bodies_get_400_and_bridge_survives(stack: Stack) -> None:
    cases: list[bytes | dict[str, Any]] = [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        {"no_events": []},
        {"events": "nope"},
        {"events": [{"event_id": "$x"}]},
        {"events": [{**synthetic_event(), "state_key": 5}]},
    ]
    for i, body in enumerate(cases):
        status, reply = await put_txn(stack, f"malformed-{secrets.token_hex(3)}-{i}", body, stack.hs_token)
        assert status == 400, (body, status, reply)
        assert reply["errcode"] in {"M_NOT_JSON", "M_BAD_JSON"}
    good = synthetic_event()
    assert (await put_txn(stack, f"after-{secrets.token_hex(3)}", {"events": [good]}, stack.hs_token))[
        0
    ] == 200
    assert good["event_id"] in await stack.archived_ids()


async def test_user_and_alias_queries_need_the_token(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{stack.bridge_url}/_matrix/app/v1/users/@x:{stack.server_name}"
        async with session.get(url, headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401
