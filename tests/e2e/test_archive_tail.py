"""No tail of the archive is unprotected, through the real Synapse and bridge.

A copy of a running deployment's data directory (what an operator with the files can take)
has its newest rows deleted, all of them after the last head published in the
administrators' room (published every 5 minutes: everything since is what used to be
unprotected), or a suffix altered and its hashes recomputed: `carebridge archive verify`
says so and exits 1, with Synapse and --offline. And a bridge killed between committing a
transaction and logging its head is not reported as tampering.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, RoomCreateResponse, RoomSendResponse

from bridge.archive.chain import RowMeta, row_hash
from bridge.archive.heads_log import read_heads_log
from tests.archive_helpers import cli
from tests.harness.stack import Stack

MESSAGES = 12


def db_file(settings_dir: Path) -> Path:
    return settings_dir / "carebridge.db"


def live_copy(stack: Stack, into: Path) -> Path:
    """Copy the running deployment's data directory: the heads log first, then the rest,
    then the bridge's database again through SQLite's online backup (a consistent copy of a
    database being written). Returns the copy's carebridge.yaml."""
    source = stack.s.data_dir
    heads_log = stack.s.path(stack.s.archive.heads_log)
    log_copy = heads_log.read_bytes()
    shutil.copytree(source, into, ignore=shutil.ignore_patterns("*.sock", "carebridge.db*"))
    (into / heads_log.relative_to(source)).write_bytes(log_copy)
    with sqlite3.connect(db_file(source)) as live, sqlite3.connect(db_file(into)) as copy:
        live.backup(copy)
    return into / "carebridge.yaml"


def rows(copy: Path) -> int:
    with sqlite3.connect(db_file(copy.parent)) as db:
        return int(db.execute("SELECT max(seq) FROM archive_events").fetchone()[0])


def delete_after(seq: int) -> Callable[[sqlite3.Connection], None]:
    def tamper(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM archive_events WHERE seq > ?", (seq,))

    return tamper


def recompute_from(seq: int) -> Callable[[sqlite3.Connection], None]:
    """Alter row `seq`'s ciphertext, then rebuild every hash from it on (no key needed)."""

    def tamper(db: sqlite3.Connection) -> None:
        db.row_factory = sqlite3.Row
        (prev,) = db.execute("SELECT row_hash FROM archive_events WHERE seq = ?", (seq - 1,)).fetchone()
        for row in db.execute("SELECT * FROM archive_events WHERE seq >= ? ORDER BY seq", (seq,)).fetchall():
            sealed = bytes(row["ciphertext"])
            if row["seq"] == seq:
                sealed = sealed[:-1] + bytes([sealed[-1] ^ 1])
            meta = RowMeta(*(row[c] for c in RowMeta.__dataclass_fields__))
            digest = row_hash(bytes(prev), meta, sealed)
            db.execute(
                "UPDATE archive_events SET ciphertext = ?, prev_hash = ?, row_hash = ? WHERE seq = ?",
                (sealed, prev, digest, row["seq"]),
            )
            prev = digest

    return tamper


async def verify(config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = await cli(
        "archive", "verify", "-c", str(config), "--format", "json", "--no-media", *extra
    )
    assert out.strip(), err
    return code, json.loads(out)


async def send(client: AsyncClient, room_id: str, count: int) -> list[str]:
    sent = []
    for i in range(count):
        resp = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": f"obs {i}"})
        assert isinstance(resp, RoomSendResponse), resp
        sent.append(resp.event_id)
    return sent


async def wait_logged(stack: Stack, timeout: float = 60) -> int:
    """Wait until the heads log covers the archive's newest row (the bridge is quiet)."""
    heads_log = stack.s.path(stack.s.archive.heads_log)
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(db_file(stack.s.data_dir)) as db:
            head = int(db.execute("SELECT coalesce(max(seq), 0) FROM archive_events").fetchone()[0])
        if max((h.seq for h in read_heads_log(heads_log)), default=0) >= head > 0:
            return head
        assert time.monotonic() < deadline, f"the heads log does not reach row {head}"
        await asyncio.sleep(0.2)


async def test_deleting_or_recomputing_any_suffix_of_a_live_copy_is_reported(
    stack: Stack, tmp_path: Path
) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    try:
        room = await client.room_create(is_direct=True)
        assert isinstance(room, RoomCreateResponse), room
        # The newest head in the administrators' room (published every 5 minutes; the
        # messages below are sent after it, as every message is for minutes at a time).
        published = max(
            (h.seq for h in read_heads_log(stack.s.path(stack.s.archive.heads_log)) if h.kind == "published"),
            default=0,
        )
        sent = await send(client, room.room_id, MESSAGES)
    finally:
        await client.close()
    await stack.wait_archived(sent, timeout=60)
    head = await wait_logged(stack)
    assert head - published > MESSAGES

    cases: dict[str, tuple[Callable[[sqlite3.Connection], None], str, int]] = {
        "last-row": (delete_after(head - 1), "truncated", head),
        "last-5-rows": (delete_after(head - 5), "truncated", head - 4),
        "tail-after-the-published-head": (delete_after(published), "truncated", published + 1),
        "whole-archive-truncated": (delete_after(0), "truncated", 1),
        "suffix-recomputed-unkeyed": (recompute_from(head - 3), "recomputed", head - 3),
    }
    for name, (tamper, kind, seq) in cases.items():
        config = live_copy(stack, tmp_path / name)
        code, report = await verify(config, "--offline")
        assert code == 0 and report["ok"], f"{name}: the untouched copy verifies: {report}"
        with sqlite3.connect(db_file(config.parent)) as db:
            tamper(db)
        for mode in ([], ["--offline"]):
            code, report = await verify(config, *mode)
            found = [(p["kind"], p["seq"]) for p in report["problems"]]
            assert code == 1, f"{name} {mode}: exit {code}, {report}"
            assert found[0] == (kind, seq), f"{name} {mode}: {found}"


@pytest.mark.slow
async def test_a_bridge_killed_between_commit_and_log_line_is_not_reported_as_tampering(
    tmp_path: Path,
) -> None:
    """The heads log is swapped for a FIFO, so the bridge's next log append blocks after the
    transaction committed; the bridge is killed -9 right there. The archive then holds a row
    no head covers: verify counts it as not yet logged and exits 0. Restarted, the bridge
    logs its head; Synapse redelivers the unacknowledged transaction and nothing is archived
    twice."""
    stack = Stack(root=tmp_path)
    stack.init()
    heads_log = stack.s.path(stack.s.archive.heads_log)
    try:
        stack.start_synapse()
        stack.start_bridge()
        user_id, password = await stack.create_user()
        client = await stack.login(user_id, password)
        try:
            room = await client.room_create(is_direct=True)
            assert isinstance(room, RoomCreateResponse), room
            await stack.wait_archived(await send(client, room.room_id, 2), timeout=60)
            await wait_logged(stack)
            kept = heads_log.with_name("heads.log.kept")
            os.rename(heads_log, kept)
            os.mkfifo(heads_log, 0o600)
            (in_flight,) = await send(client, room.room_id, 1)
        finally:
            await client.close()
        await stack.wait_archived([in_flight], timeout=60)  # committed; its line is blocked
        stack.stop_bridge(kill=True)
        heads_log.unlink()
        os.rename(kept, heads_log)

        code, report = await verify(stack.config_path, "--offline")
        assert code == 0 and report["ok"], report
        assert report["unlogged_rows"] >= 1 and report["logged_up_to"] < rows(stack.config_path)

        stack.start_bridge()
        await wait_logged(stack)
        code, report = await verify(stack.config_path)
        assert code == 0 and report["ok"] and report["unlogged_rows"] == 0, report
        ids = await stack.archived_ids()
        assert ids.count(in_flight) == 1
    finally:
        stack.stop()
