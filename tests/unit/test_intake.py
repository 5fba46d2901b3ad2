"""Reading a transaction body: only non-JSON is refused; everything else is archivable."""

from __future__ import annotations

import json

import pytest

from bridge.archive.intake import NotJson, parse_body, problem
from policy.event_types import MALFORMED_EVENT_TYPE

GOOD = {
    "event_id": "$e",
    "room_id": "!r:x",
    "sender": "@a:x",
    "type": "m.room.message",
    "origin_server_ts": 1,
    "content": {"body": "hi"},
}


def test_not_json_is_the_only_refusal() -> None:
    """Bytes that are not JSON raise NotJson; valid JSON of any shape does not."""
    for body in (b"{", b"\xff", b""):
        with pytest.raises(NotJson):
            parse_body(body, 5)
    assert parse_body(b'{"ephemeral": []}', 5).events == []
    for body in (b"[1, 2]", b'{"events": 3}', b"null"):
        intake = parse_body(body, 5)
        assert intake.malformed == 1 and intake.events[0]["type"] == MALFORMED_EVENT_TYPE


def test_too_deep_for_the_parser_is_kept_as_text() -> None:
    """JSON nested deeper than Python parses becomes one malformed record holding the text."""
    body = ('{"events": [' + "[" * 100_000 + "]" * 100_000 + "]}").encode()
    intake = parse_body(body, 5)
    assert intake.malformed == 1
    record = intake.events[0]
    assert record["content"]["reason"] == "too_deeply_nested"
    assert record["content"]["raw"]["raw_text"] == body.decode()
    json.dumps(record)  # sealable


def test_each_problem_is_named_and_the_good_event_kept_as_is() -> None:
    """A reason code per kind of oddity; well-formed events pass through unchanged."""
    assert problem(GOOD) is None
    cases = {
        "bad_type": {**GOOD, "type": ""},
        "bad_event_id": {k: v for k, v in GOOD.items() if k != "event_id"},
        "bad_origin_server_ts": {**GOOD, "origin_server_ts": True},
        "bad_state_key": {**GOOD, "state_key": ["x"]},
        "bad_content": {**GOOD, "content": "text"},
        "bad_room_id": {**GOOD, "room_id": "!" * 256},
        "not_an_object": "event",
    }
    for reason, raw in cases.items():
        assert problem(raw) == reason
    intake = parse_body(json.dumps({"events": [GOOD, cases["bad_type"]]}).encode(), 5)
    assert intake.events[0] == GOOD and intake.malformed == 1
    record = intake.events[1]
    assert record["event_id"] == "$e" and record["origin_server_ts"] == 1
    assert record["content"] == {"reason": "bad_type", "raw": cases["bad_type"]}
    no_id = parse_body(json.dumps({"events": [cases["bad_event_id"]] * 2}).encode(), 5).events
    assert no_id[0]["event_id"] == no_id[1]["event_id"], "the same junk gets the same id"
