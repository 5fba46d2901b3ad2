"""The appservice transaction endpoint, driven directly over HTTP on the running bridge."""

from __future__ import annotations

import json
import secrets
from typing import Any

import aiohttp

from policy.event_types import MALFORMED_EVENT_TYPE
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


async def test_only_a_body_that_is_not_json_gets_400(stack: Stack) -> None:
    """A body that is not JSON is refused (400, nothing stored); the bridge keeps serving."""
    for i, body in enumerate([b"{not json", b"\xff\xfe", b""]):
        status, reply = await put_txn(stack, f"notjson-{secrets.token_hex(3)}-{i}", body, stack.hs_token)
        assert status == 400 and reply["errcode"] == "M_NOT_JSON", (body, status, reply)
    good = synthetic_event()
    assert (await put_txn(stack, f"after-{secrets.token_hex(3)}", {"events": [good]}, stack.hs_token))[
        0
    ] == 200
    assert good["event_id"] in await stack.archived_ids()


async def test_odd_events_are_archived_as_malformed_records_and_answered_200(stack: Stack) -> None:
    """Events that cannot be archived as they are (missing origin_server_ts, empty or
    missing ids, a bad state_key, junk content, not an object, nested junk, a body without
    an events list) are each kept as a sealed raw record marked malformed, the transaction
    is answered 200 (Synapse would retry anything else forever), the good event beside
    them is archived normally, and a retry stores nothing twice."""
    good = synthetic_event()
    no_ts = {k: v for k, v in synthetic_event().items() if k != "origin_server_ts"}
    nested: object = {"a": [None, {"b": [1.5, True, {"c": "x" * 300}]}]}
    for _ in range(200):
        nested = [nested]
    odd: list[object] = [
        no_ts,
        {**synthetic_event(), "type": ""},
        {**synthetic_event(), "type": "", "state_key": ""},
        {**synthetic_event(), "state_key": 5},
        {**synthetic_event(), "content": ["junk", {"x": None}]},
        {**synthetic_event(), "room_id": "!r" * 200},
        {"event_id": "$only-an-id"},
        7,
        nested,
    ]
    txn = f"odd-{secrets.token_hex(4)}"
    for _ in range(2):
        status, reply = await put_txn(stack, txn, {"events": [*odd, good]}, stack.hs_token)
        assert status == 200, reply
    status, reply = await put_txn(stack, f"odd-{secrets.token_hex(4)}", {"events": "nope"}, stack.hs_token)
    assert status == 200, reply
    archived = {a.event["event_id"]: a.event for a in await stack.archived()}
    assert archived[good["event_id"]]["content"] == good["content"]
    records = [e for e in archived.values() if e["type"] == MALFORMED_EVENT_TYPE]
    raws = [r["content"]["raw"] for r in records]
    for item in odd:
        assert raws.count(item) == 1, item
    assert {"events": "nope"} in raws
    by_raw = {json.dumps(r["content"]["raw"], sort_keys=True): r for r in records}
    assert by_raw[json.dumps(no_ts, sort_keys=True)]["content"]["reason"] == "bad_origin_server_ts"
    assert by_raw[json.dumps(no_ts, sort_keys=True)]["event_id"] == no_ts["event_id"]


async def test_user_and_alias_queries_need_the_token(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{stack.bridge_url}/_matrix/app/v1/users/@x:{stack.server_name}"
        async with session.get(url, headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401
