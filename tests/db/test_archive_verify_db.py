"""`archive verify` logic on SQLite and PostgreSQL: each kind of tampering is found and named."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import GENESIS_HASH, RowMeta, row_hash
from bridge.archive.heads import PublishedHead
from bridge.archive.keyring import Keyring
from bridge.archive.media_store import store_media
from bridge.archive.verify import verify_archive
from bridge.archive.writer import ArchiveWriter
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events as t
from bridge.db.tables import archive_media
from tests.archive_helpers import message_event

N = 12


def event(i: int) -> dict[str, Any]:
    return message_event(
        {"msgtype": "m.text", "body": f"message {i}"},
        event_id=f"$e{i}-{secrets.token_hex(4)}",
        ts=1_700_000_000_000 + i,
    )


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    await migrate(eng)
    writer = ArchiveWriter(eng, Keyring.generate())
    for start in range(0, N, 4):
        await writer.ingest_transaction(f"t{start}", [event(i) for i in range(start, start + 4)])
    yield eng
    await eng.dispose()


async def head_at(engine: AsyncEngine, seq: int) -> PublishedHead:
    async with engine.connect() as conn:
        digest = await conn.scalar(select(t.c.row_hash).where(t.c.seq == seq))
    return PublishedHead(seq, bytes(digest), 1_700_000_000_000 + seq, f"$head{seq}")


async def event_id_at(engine: AsyncEngine, seq: int) -> str:
    async with engine.connect() as conn:
        return str(await conn.scalar(select(t.c.event_id).where(t.c.seq == seq)))


async def renumber(engine: AsyncEngine, moves: list[tuple[int, int]]) -> None:
    """Change seq values through negative temporaries (so the primary key never collides)."""
    async with engine.begin() as conn:
        for old, _ in moves:
            await conn.execute(update(t).where(t.c.seq == old).values(seq=-old))
        for old, new in moves:
            await conn.execute(update(t).where(t.c.seq == -old).values(seq=new))


async def test_clean_archive_verifies(engine: AsyncEngine) -> None:
    report = await verify_archive(engine, [await head_at(engine, 8), await head_at(engine, N)], None)
    assert report.ok, report.problems
    assert report.rows == N and report.head.seq == N
    assert report.tail_checked and report.heads_checked == 2


async def test_altered_ciphertext_byte_is_named_changed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        sealed = bytearray(await conn.scalar(select(t.c.ciphertext).where(t.c.seq == 5)))
        sealed[20] ^= 0x01
        await conn.execute(update(t).where(t.c.seq == 5).values(ciphertext=bytes(sealed)))
    report = await verify_archive(engine, None, None)
    problem = report.chain_problem
    assert problem is not None and problem.kind == "changed" and problem.seq == 5
    assert problem.event_id == await event_id_at(engine, 5)
    assert report.rows == 4


async def test_altered_metadata_is_named_changed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(t).where(t.c.seq == 7).values(sender="@someone-else:test"))
    problem = (await verify_archive(engine, None, None)).chain_problem
    assert problem is not None and (problem.kind, problem.seq) == ("changed", 7)


async def test_deleted_middle_row_is_named_removed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(t).where(t.c.seq == 6))
    problem = (await verify_archive(engine, None, None)).chain_problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 6)
    assert "row 6 missing" in problem.detail


async def test_deleted_middle_row_with_renumbering_is_named_removed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(t).where(t.c.seq == 6))
    await renumber(engine, [(s, s - 1) for s in range(7, N + 1)])
    problem = (await verify_archive(engine, None, None)).chain_problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 6)


async def test_swapped_rows_are_named_reordered(engine: AsyncEngine) -> None:
    swapped_in = await event_id_at(engine, 5)
    await renumber(engine, [(4, 5), (5, 4)])
    problem = (await verify_archive(engine, None, None)).chain_problem
    assert problem is not None and (problem.kind, problem.seq) == ("reordered", 4)
    assert problem.event_id == swapped_in
    assert "rows 4 and 5 were swapped" in problem.detail


@pytest.mark.parametrize("rehash", [False, True], ids=["forged-row", "forged-row-with-own-hash"])
async def test_inserted_row_is_named_inserted(engine: AsyncEngine, rehash: bool) -> None:
    await renumber(engine, [(s, s + 1) for s in range(N, 6, -1)])
    async with engine.begin() as conn:
        row = (await conn.execute(select(t).where(t.c.seq == 3))).mappings().one()
        forged = {**row, "seq": 7, "event_id": "$forged"}
        if rehash:
            prev = await conn.scalar(select(t.c.row_hash).where(t.c.seq == 6))
            meta = RowMeta(*(forged[c] for c in RowMeta.__dataclass_fields__))
            forged.update(
                prev_hash=bytes(prev), row_hash=row_hash(bytes(prev), meta, bytes(row["ciphertext"]))
            )
        await conn.execute(t.insert().values(**forged))
    problem = (await verify_archive(engine, None, None)).chain_problem
    assert problem is not None and (problem.kind, problem.seq) == ("inserted", 7), problem
    assert problem.event_id == "$forged"


async def test_deleted_last_rows_are_found_against_the_published_head(engine: AsyncEngine) -> None:
    head = await head_at(engine, N)
    async with engine.begin() as conn:
        await conn.execute(delete(t).where(t.c.seq > N - 3))
    report = await verify_archive(engine, [head], None)
    assert report.chain_problem is None, "a cut tail is still a valid chain..."
    problem = report.head_problem
    assert problem is not None and problem.kind == "truncated", "...but not against the head"
    assert problem.seq == N - 2
    assert "last 3 row(s) were deleted" in problem.detail and head.event_id in problem.detail
    assert not report.ok


async def test_recomputed_chain_is_found_against_the_published_head(engine: AsyncEngine) -> None:
    """Someone deletes a row and rebuilds every later hash (no key needed for that)."""
    earlier, head = await head_at(engine, N - 4), await head_at(engine, N)
    async with engine.begin() as conn:
        await conn.execute(delete(t).where(t.c.seq == 3))
    await renumber(engine, [(s, s - 1) for s in range(4, N + 1)])
    async with engine.begin() as conn:
        prev = GENESIS_HASH
        for row in (await conn.execute(select(t).order_by(t.c.seq))).all():
            meta = RowMeta(*(getattr(row, c) for c in RowMeta.__dataclass_fields__))
            digest = row_hash(prev, meta, bytes(row.ciphertext))
            await conn.execute(update(t).where(t.c.seq == row.seq).values(prev_hash=prev, row_hash=digest))
            prev = digest
    report = await verify_archive(engine, [head], None)
    assert report.chain_problem is None
    assert report.head_problem is not None and report.head_problem.kind == "truncated"
    report = await verify_archive(engine, [earlier], None)
    assert report.head_problem is not None
    assert (report.head_problem.kind, report.head_problem.seq) == ("rewritten", N - 4)


async def test_media_files_are_checked_without_the_key(engine: AsyncEngine, tmp_path: Path) -> None:
    keyring = Keyring.generate()
    stored = {
        m: store_media(tmp_path, m, secrets.token_bytes(300), keyring)
        for m in ("mxc://hs/a", "mxc://hs/b", "mxc://hs/c")
    }
    async with engine.begin() as conn:
        for i, (mxc, s) in enumerate(stored.items(), start=1):
            await conn.execute(
                archive_media.insert().values(
                    mxc=mxc,
                    room_id="!r:test",
                    event_id=f"$m{i}",
                    seq=i,
                    status="stored",
                    attempts=1,
                    next_attempt_ts=0,
                    sha256=s.sha256,
                    cipher_sha256=s.cipher_sha256,
                    size=s.size,
                    key_id=s.key_id,
                    path=s.path,
                    stored_ts=1,
                )
            )
    report = await verify_archive(engine, None, tmp_path)
    assert report.ok and report.media_checked == 3
    (tmp_path / stored["mxc://hs/a"].path).unlink()
    altered = tmp_path / stored["mxc://hs/b"].path
    altered.write_bytes(altered.read_bytes()[:-1] + b"\x00")
    report = await verify_archive(engine, None, tmp_path)
    assert [(p.kind, p.event_id) for p in report.media_problems] == [
        ("media-missing", "$m1"),
        ("media-changed", "$m2"),
    ]
    assert report.chain_problem is None and not report.ok
