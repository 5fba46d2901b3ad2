"""Export holds every archived room event: custom and unknown types with their raw content,
locations, polls, malformed-event records, state, and edits by someone other than the
sender (kept, marked, never taken as the message's current text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.archive.export.stream import ExportFilter
from bridge.archive.intake import malformed_record
from policy.event_types import MALFORMED_EVENT_TYPE
from tests.db.test_export_db import ROOM, A, B, archive, edit, ev, export, member, msg, react

__all__ = ["archive"]  # the fixture, shared with the other export tests

POLL = {
    "org.matrix.msc3381.poll.start": {
        "question": {"org.matrix.msc1767.text": "Night shift swap?"},
        "kind": "org.matrix.msc3381.poll.disclosed",
        "answers": [
            {"id": "y", "org.matrix.msc1767.text": "yes"},
            {"id": "n", "org.matrix.msc1767.text": "no"},
        ],
    }
}


async def test_every_kind_of_room_event_is_exported(archive: Any, tmp_path: Path) -> None:
    """A room export has a record for every archived event of the room (raw content for all
    but plain text), an edit by someone else inside its message marked by_other_sender;
    a person's export holds their edits of and reactions to other people's messages."""
    engine, keyring, writer = archive
    original = msg(A, "dose 5 mg")
    foreign_edit = edit(B, original, "dose 50 mg")
    location = ev(
        A, "m.room.message", {"msgtype": "m.location", "body": "Ward 3", "geo_uri": "geo:51.5,-0.1"}
    )
    custom = ev(A, "com.example.vitals", {"pulse": 72, "nested": [{"bp": [120, 80]}]})
    poll = ev(A, "org.matrix.msc3381.poll.start", POLL)
    vote = ev(
        B,
        "org.matrix.msc3381.poll.response",
        {
            "org.matrix.msc3381.poll.response": {"answers": ["y"]},
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll["event_id"]},
        },
    )
    topic = ev(A, "m.room.topic", {"topic": "Ward 3 handover"}, state_key="")
    junk = malformed_record({**msg(B, "odd"), "type": ""}, "bad_type", 1)
    junk["room_id"] = ROOM
    events = [
        member(A, "join"),
        member(B, "join"),
        original,
        foreign_edit,
        location,
        custom,
        poll,
        vote,
        topic,
        junk,
    ]
    await writer.ingest_transaction("t1", events)

    records = await export(engine, keyring, tmp_path, ExportFilter(room_id=ROOM))
    by_id = {r["event_id"]: r for r in records}
    expected = [e["event_id"] for e in events if e is not foreign_edit]
    assert list(by_id) == expected, "every event but the edit (inside its message) is a record"
    first = by_id[original["event_id"]]
    assert first["current_body"] == "dose 5 mg", "an edit by someone else does not change the text"
    assert first["revisions"] == [
        {
            "event_id": foreign_edit["event_id"],
            "time": first["revisions"][0]["time"],
            "body": "dose 50 mg",
            "sender": B,
            "by_other_sender": True,
        }
    ]
    assert by_id[location["event_id"]]["content"]["geo_uri"] == "geo:51.5,-0.1"
    assert by_id[custom["event_id"]]["content"] == custom["content"]
    assert by_id[custom["event_id"]]["kind"] == "event"
    assert by_id[poll["event_id"]]["content"] == POLL
    assert by_id[vote["event_id"]]["content"]["org.matrix.msc3381.poll.response"] == {"answers": ["y"]}
    assert by_id[topic["event_id"]]["state_key"] == "" and by_id[topic["event_id"]]["content"]["topic"]
    assert by_id[junk["event_id"]]["type"] == MALFORMED_EVENT_TYPE
    assert by_id[junk["event_id"]]["content"]["raw"]["content"]["body"] == "odd"

    # A person's export holds their edit of (and reaction to) someone else's message.
    reaction = react(B, original, "👍")
    await writer.ingest_transaction("t2", [reaction])
    mine = await export(engine, keyring, tmp_path, ExportFilter(user_id=B))
    ids = [r["event_id"] for r in mine]
    assert foreign_edit["event_id"] in ids and reaction["event_id"] in ids and vote["event_id"] in ids
