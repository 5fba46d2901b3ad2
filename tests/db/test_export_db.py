"""The export engine on SQLite and PostgreSQL: revisions, reactions, membership, filters,
pages, and flat memory."""

from __future__ import annotations

import itertools
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.export.job import ExportJob, run_export
from bridge.archive.export.stream import Exporter, ExportFilter
from bridge.archive.keyring import Keyring
from bridge.archive.reader import iter_events
from bridge.archive.writer import ArchiveWriter
from bridge.db.engine import create_engine, migrate

ROOM, OTHER = "!ward:test", "!other:test"
A, B, C = "@a:test", "@b:test", "@c:test"
_ids = itertools.count(1)


def ev(sender: str, kind: str, content: dict[str, Any], room: str = ROOM, **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    return {
        "event_id": f"$ev{n}",
        "room_id": room,
        "sender": sender,
        "type": kind,
        "origin_server_ts": 1_700_000_000_000 + n * 1000,
        "content": content,
        **extra,
    }


def member(user: str, membership: str, room: str = ROOM) -> dict[str, Any]:
    return ev(user, "m.room.member", {"membership": membership}, room=room, state_key=user)


def msg(sender: str, body: str, room: str = ROOM, **content: Any) -> dict[str, Any]:
    return ev(sender, "m.room.message", {"msgtype": "m.text", "body": body, **content}, room=room)


def edit(sender: str, target: dict[str, Any], body: str) -> dict[str, Any]:
    return msg(
        sender,
        f"* {body}",
        **{
            "m.new_content": {"body": body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": target["event_id"]},
        },
    )


def react(sender: str, target: dict[str, Any], key: str) -> dict[str, Any]:
    relates = {"rel_type": "m.annotation", "event_id": target["event_id"], "key": key}
    return ev(sender, "m.reaction", {"m.relates_to": relates})


async def export(
    engine: AsyncEngine, keyring: Keyring, tmp_path: Path, flt: ExportFilter, page: int = 200
) -> list[Any]:
    exporter = Exporter(engine, keyring, tmp_path / "media", tmp_path / "out", page=page)
    return [r async for r in exporter.records(flt)]


@pytest.fixture
async def archive(db_url: str) -> Any:
    engine = create_engine(db_url)
    await migrate(engine)
    keyring = Keyring.generate()
    yield engine, keyring, ArchiveWriter(engine, keyring)
    await engine.dispose()


async def test_revisions_reactions_replies_and_membership(archive: Any, tmp_path: Path) -> None:
    engine, keyring, writer = archive
    m1 = msg(A, "first")
    m2 = msg(B, "second")
    m3 = msg(A, "third", url="mxc://test/never-fetched", filename="scan.pdf")
    reply = msg(A, "re: first", **{"m.relates_to": {"m.in_reply_to": {"event_id": m1["event_id"]}}})
    events = [
        member(A, "join"),
        member(B, "join"),
        m1,
        msg(A, "elsewhere", room=OTHER),
        member(C, "join"),
        m2,
        edit(A, m1, "first (fixed)"),
        member(B, "leave"),
        m3,
        edit(C, m1, "not C's message to edit"),
        react(C, m2, "✅"),
        react(A, m2, "👀"),
        edit(A, m1, "first (fixed twice)"),
        reply,
    ]
    for start in range(0, len(events), 3):  # several transactions, like Synapse sends
        await writer.ingest_transaction(f"t{start}", events[start : start + 3])

    for page in (200, 2):  # relations found across page boundaries too
        records = await export(engine, keyring, tmp_path, ExportFilter(room_id=ROOM), page=page)
        by_id = {r["event_id"]: r for r in records if r["kind"] == "message"}
        assert list(by_id) == [m1["event_id"], m2["event_id"], m3["event_id"], reply["event_id"]]
        first = by_id[m1["event_id"]]
        assert first["body"] == "first"
        assert [(r["body"], r.get("by_other_sender", False)) for r in first["revisions"]] == [
            ("first (fixed)", False),
            ("not C's message to edit", True),
            ("first (fixed twice)", False),
        ]
        assert first["current_body"] == "first (fixed twice)"
        assert first["members"] == [A, B]
        assert by_id[m2["event_id"]]["members"] == [A, B, C]
        assert [(r["sender"], r["key"]) for r in by_id[m2["event_id"]]["reactions"]] == [(C, "✅"), (A, "👀")]
        assert by_id[m3["event_id"]]["members"] == [A, C]
        assert by_id[m3["event_id"]]["attachment"]["status"] == "not-archived"
        assert by_id[reply["event_id"]]["in_reply_to"] == m1["event_id"]

    window = ExportFilter(room_id=ROOM, since_ms=m2["origin_server_ts"], until_ms=m3["origin_server_ts"])
    records = await export(engine, keyring, tmp_path, window)
    assert [r["event_id"] for r in records if r["kind"] == "message"] == [m2["event_id"]]
    assert records[0]["members"] == [A, B, C], "membership counts events before --since"

    records = [
        r for r in await export(engine, keyring, tmp_path, ExportFilter(user_id=A)) if r["kind"] == "message"
    ]
    assert [r["body"] for r in records] == ["first", "elsewhere", "third", "re: first"]
    assert records[1]["room_id"] == OTHER and records[1]["members"] == []


async def test_export_job_records_itself_and_refuses_a_used_folder(archive: Any, tmp_path: Path) -> None:
    engine, keyring, writer = archive
    await writer.ingest_transaction("t", [member(A, "join"), msg(A, "hello")])
    out = tmp_path / "exp"
    job = ExportJob(ExportFilter(room_id=ROOM), "jsonl", out, operator="records officer")
    result = await run_export(engine, keyring, writer, tmp_path / "media", job, "test", "@carebridge:test")
    assert result.counts.messages == 1
    assert (out / "messages.jsonl").stat().st_mode & 0o077 == 0
    manifest = json.loads((out / "manifest.json").read_text())
    records = [
        a.event async for a in iter_events(engine, keyring) if a.event["type"] == "org.carebridge.export"
    ]
    assert [r["content"]["phase"] for r in records] == ["started", "completed"]
    assert records[0]["content"]["operator"] == "records officer"
    assert records[0]["room_id"] == "!carebridge-audit:test"
    assert records[1]["content"]["files"]["messages.jsonl"] == manifest["files"]["messages.jsonl"]
    with pytest.raises(FileExistsError):
        await run_export(engine, keyring, writer, tmp_path / "media", job, "test", "@carebridge:test")


async def _peak(engine: AsyncEngine, keyring: Keyring, tmp_path: Path) -> int:
    tracemalloc.start()
    try:
        count = 0
        async for _ in Exporter(engine, keyring, tmp_path, tmp_path / "o", page=100).records(
            ExportFilter(room_id=ROOM)
        ):
            count += 1
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_memory_stays_flat_as_the_archive_grows(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'big.db'}")
    await migrate(engine)
    keyring = Keyring.generate()
    writer = ArchiveWriter(engine, keyring)
    try:
        await writer.ingest_transaction("m", [member(A, "join")])
        peaks = []
        for size in (1000, 4000):
            batch = [msg(A, "x" * 200) for _ in range(size)]
            for start in range(0, len(batch), 500):
                await writer.ingest_transaction(f"b{size}-{start}", batch[start : start + 500])
            peaks.append(await _peak(engine, keyring, tmp_path))
        small, large = peaks
        assert large < small * 1.5 + 512 * 1024, f"peak grew from {small} to {large} bytes"
    finally:
        await engine.dispose()
