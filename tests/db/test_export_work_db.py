"""An export costs what its room or person holds, not what the archive holds.

Counted, not timed: every statement an export runs is captured (SQLAlchemy's cursor
event) and replayed on a plain sqlite3 connection whose progress handler counts SQLite's
virtual-machine steps, a deterministic measure of the rows the database had to visit. The
archive then grows around the target (other people in the same busy room, other rooms,
later days) and the same export must cost the same."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.export.stream import Exporter, ExportFilter
from bridge.archive.keyring import Keyring
from bridge.archive.writer import ArchiveWriter
from bridge.db.engine import create_engine, migrate

BUSY, QUIET, DM = "!busy:test", "!quiet:test", "!dm:test"
A, B = "@a:test", "@b:test"
OTHERS = [f"@o{i}:test" for i in range(40)]
_ids = itertools.count(1)
HOUR = 3_600_000
T0 = 1_750_000_000_000


def ev(sender: str, room: str, ts: int, kind: str = "m.room.message", **extra: Any) -> dict[str, Any]:
    content = {"membership": "join"} if kind == "m.room.member" else {"msgtype": "m.text", "body": "x" * 80}
    return {
        "event_id": f"$w{next(_ids)}",
        "room_id": room,
        "sender": sender,
        "type": kind,
        "origin_server_ts": ts,
        "content": content,
        **extra,
    }


def join(user: str, room: str, ts: int) -> dict[str, Any]:
    return ev(user, room, ts, "m.room.member", state_key=user)


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Every (statement, parameters) the engine sends while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def vm_steps(path: Path, statements: list[tuple[str, Any]]) -> int:
    """SQLite virtual-machine steps to run these reads again (writes are skipped)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn = sqlite3.connect(path)
    try:
        conn.set_progress_handler(count, 1)
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                conn.execute(statement, parameters).fetchall()
    finally:
        conn.close()
    return steps


class Archive:
    def __init__(self, engine: AsyncEngine, path: Path, tmp: Path) -> None:
        self.engine, self.path, self.tmp = engine, path, tmp
        self.keyring = Keyring.generate()
        self.writer = ArchiveWriter(engine, self.keyring)
        self.ts = T0

    async def add(self, events: list[dict[str, Any]]) -> None:
        for start in range(0, len(events), 100):
            await self.writer.ingest_transaction(f"t{next(_ids)}", events[start : start + 100])

    async def busy_traffic(self, messages: int) -> None:
        """Others talking in the busy room (the one the person wrote in) and elsewhere."""
        events = []
        for i in range(messages):
            self.ts += 60_000
            sender = OTHERS[i % len(OTHERS)]
            events.append(ev(sender, BUSY if i % 3 else f"!room{i % 50}:test", self.ts))
        await self.add(events)

    async def steps(self, flt: ExportFilter) -> tuple[int, int]:
        """(VM steps, records) of one export."""
        exporter = Exporter(self.engine, self.keyring, self.tmp / "media", self.tmp / "out", page=50)
        with captured(self.engine) as statements:
            records = [r async for r in exporter.records(flt)]
        return vm_steps(self.path, statements), len(records)


async def _archive(tmp_path: Path) -> Archive:
    path = tmp_path / "archive.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    archive = Archive(engine, path, tmp_path)
    setup = [join(u, BUSY, T0) for u in [A, *OTHERS]] + [join(A, DM, T0), join(B, DM, T0), join(A, QUIET, T0)]
    await archive.add(setup)
    await archive.busy_traffic(600)
    mine = []
    for i in range(30):  # the person: a little in the busy room, a DM, a quiet room
        archive.ts += 60_000
        mine.append(ev(A, (BUSY, DM, QUIET)[i % 3], archive.ts))
    await archive.add(mine)
    await archive.busy_traffic(600)
    return archive


async def test_a_persons_export_does_not_read_the_busy_rooms_they_wrote_in(tmp_path: Path) -> None:
    archive = await _archive(tmp_path)
    try:
        before, records = await archive.steps(ExportFilter(user_id=A))
        assert records == 30 + 3  # their messages and their own three joins
        await archive.busy_traffic(6000)  # ten times the traffic, much of it in the busy room
        after, records_after = await archive.steps(ExportFilter(user_id=A))
        assert records_after == records
        assert after < before * 1.25, f"a person's export grew from {before} to {after} steps"
    finally:
        await archive.engine.dispose()


async def test_a_rooms_export_does_not_read_other_rooms(tmp_path: Path) -> None:
    archive = await _archive(tmp_path)
    try:
        before, records = await archive.steps(ExportFilter(room_id=QUIET))
        await archive.busy_traffic(6000)
        after, records_after = await archive.steps(ExportFilter(room_id=QUIET))
        assert records_after == records == 11  # a join and ten messages
        assert after < before * 1.25, f"a quiet room's export grew from {before} to {after} steps"
    finally:
        await archive.engine.dispose()


async def test_a_window_reads_the_window_not_the_whole_room(tmp_path: Path) -> None:
    archive = await _archive(tmp_path)
    try:
        since = T0 + 200 * 60_000
        window = ExportFilter(room_id=BUSY, since_ms=since, until_ms=since + HOUR)
        before, records = await archive.steps(window)
        assert records == 40  # two of every three minutes' messages in the hour
        await archive.busy_traffic(6000)  # the room goes on for days after the window
        after, records_after = await archive.steps(window)
        assert records_after == records
        assert after < before * 1.25, f"an hour's export grew from {before} to {after} steps"
    finally:
        await archive.engine.dispose()
