"""No suffix of the archive is unprotected (SQLite and PostgreSQL): every commit's head is
in the heads log before the writer returns, every row from the chain key's first row
carries a MAC, and `verify_archive` reports a deleted, truncated or recomputed suffix of
any length; a commit not yet logged (a crash, a copy taken mid-transaction) is not a
finding; an archive from before chain keys verifies as before."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import GENESIS_HASH, ChainKey, RowMeta, row_hash
from bridge.archive.chain_key import ensure_chain_key
from bridge.archive.commit_log import CommitLog
from bridge.archive.heads import PublishedHead
from bridge.archive.heads_log import append_head, read_heads_log
from bridge.archive.keyring import Keyring, LiveKeyring
from bridge.archive.verify import VerifyReport, verify_archive
from bridge.archive.writer import ArchiveWriter
from bridge.core.files import write_private
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events as t
from tests.archive_helpers import message_event

N = 20
PUBLISHED_AT = 8  # the last head "published in the admins' room" covers rows 1..8


def event(i: int) -> dict[str, Any]:
    return message_event(
        {"msgtype": "m.text", "body": f"message {i}"}, event_id=f"$e{i}-{secrets.token_hex(4)}"
    )


class Archive:
    """An archive written the way the bridge writes it: keyed, every commit logged."""

    def __init__(self, engine: AsyncEngine, log: Path, keyring: Keyring) -> None:
        self.engine, self.log, self.keyring = engine, log, keyring
        self.writer = ArchiveWriter(engine, keyring, commit_log=CommitLog(log, keyring.chain_key))

    @property
    def key(self) -> ChainKey:
        assert self.keyring.chain is not None
        return self.keyring.chain

    async def write(self, first: int, last: int, per_txn: int = 2) -> None:
        for start in range(first, last + 1, per_txn):
            batch = [event(i) for i in range(start, min(start + per_txn, last + 1))]
            await self.writer.ingest_transaction(f"t{start}-{secrets.token_hex(2)}", batch)

    async def verify(self, heads: list[PublishedHead] | None = None, keyed: bool = True) -> VerifyReport:
        return await verify_archive(
            self.engine, heads, None, chain_key=self.key if keyed else None, heads_log=self.log
        )


@pytest.fixture
async def archive(db_url: str, tmp_path: Path) -> AsyncIterator[Archive]:
    engine = create_engine(db_url)
    await migrate(engine)
    arch = Archive(engine, tmp_path / "heads.log", Keyring.generate())
    await arch.write(1, PUBLISHED_AT)
    async with engine.connect() as conn:
        digest = bytes(await conn.scalar(select(t.c.row_hash).where(t.c.seq == PUBLISHED_AT)))
    # What HeadScheduler does every few minutes: a head in the admins' room and the log.
    append_head(arch.log, PUBLISHED_AT, digest, 1, "$published", mac=arch.key.mac(PUBLISHED_AT, digest))
    await arch.write(PUBLISHED_AT + 1, N)
    yield arch
    await arch.writer.close()
    await engine.dispose()


async def delete_from(engine: AsyncEngine, seq: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(t).where(t.c.seq >= seq))


async def rebuild_hashes(engine: AsyncEngine, start: int, mac: str = "keep") -> None:
    """What anyone with write access to the database can do: recompute the unkeyed hashes
    from row `start` on (keeping the old MACs, or clearing them)."""
    async with engine.begin() as conn:
        prev = await conn.scalar(select(t.c.row_hash).where(t.c.seq == start - 1))
        prev = bytes(prev) if prev is not None else GENESIS_HASH
        for row in (await conn.execute(select(t).where(t.c.seq >= start).order_by(t.c.seq))).all():
            meta = RowMeta(*(getattr(row, c) for c in RowMeta.__dataclass_fields__))
            digest = row_hash(prev, meta, bytes(row.ciphertext))
            values: dict[str, Any] = {"prev_hash": prev, "row_hash": digest}
            if mac == "clear":
                values["row_mac"] = None
            await conn.execute(update(t).where(t.c.seq == row.seq).values(**values))
            prev = digest


async def test_every_commit_is_logged_with_its_mac_and_the_archive_verifies(archive: Archive) -> None:
    lines = read_heads_log(archive.log)
    commits = [h for h in lines if h.kind == "commit"]
    assert [h.seq for h in commits] == list(range(2, N + 1, 2)), "one line per transaction, not per row"
    assert all(h.mac == archive.key.mac(h.seq, h.row_hash) for h in lines)
    report = await archive.verify()
    assert report.ok, report.problems
    assert (report.rows, report.keyed_from, report.macs_checked) == (N, 1, N)
    assert (report.logged_up_to, report.unlogged_rows, report.unchecked) == (N, 0, [])


@pytest.mark.parametrize(
    "first_deleted",
    [N, N - 4, PUBLISHED_AT + 1, 1],
    ids=["last-row", "last-5-rows", "whole-tail-after-the-published-head", "everything"],
)
async def test_a_deleted_suffix_of_any_length_is_truncated(archive: Archive, first_deleted: int) -> None:
    await delete_from(archive.engine, first_deleted)
    report = await archive.verify()
    assert report.chain_problem is None, "what is left is still a valid chain..."
    problem = report.head_problem
    assert problem is not None and problem.kind == "truncated", report.problems
    assert problem.seq == first_deleted, problem
    assert f"the last {N - first_deleted + 1} row(s) were deleted" in problem.detail
    assert "heads.log line" in problem.detail
    assert not report.ok


async def test_a_suffix_recomputed_with_the_unkeyed_hash_is_reported(archive: Archive) -> None:
    async with archive.engine.begin() as conn:
        sealed = bytearray(await conn.scalar(select(t.c.ciphertext).where(t.c.seq == 15)))
        sealed[-1] ^= 0x01
        await conn.execute(update(t).where(t.c.seq == 15).values(ciphertext=bytes(sealed)))
    await rebuild_hashes(archive.engine, 15)
    report = await archive.verify()
    problem = report.chain_problem
    assert problem is not None and (problem.kind, problem.seq) == ("recomputed", 15), report.problems
    assert "does not match" in problem.detail
    # Without the key the recomputation still shows against the logged heads.
    report = await archive.verify(keyed=False)
    assert report.chain_problem is None
    assert report.head_problem is not None and report.head_problem.kind == "rewritten"
    assert "row(s) carry a MAC that was not checked" in report.unchecked[0]


async def test_a_truncated_and_recomputed_suffix_without_macs_is_reported(archive: Archive) -> None:
    """Delete rows 11..N, then rebuild 11.. from later rows' content: no MACs to show."""
    async with archive.engine.begin() as conn:
        await conn.execute(delete(t).where(t.c.seq.in_([11, 12])))
        for seq in range(13, N + 1):
            await conn.execute(update(t).where(t.c.seq == seq).values(seq=seq - 2))
    await rebuild_hashes(archive.engine, 11, mac="clear")
    report = await archive.verify()
    problem = report.chain_problem
    assert problem is not None and (problem.kind, problem.seq) == ("recomputed", 11), report.problems
    assert "has no MAC" in problem.detail


async def test_a_head_added_to_the_log_without_the_key_is_forged(archive: Archive) -> None:
    append_head(archive.log, N + 3, secrets.token_bytes(32), 2, None)
    report = await archive.verify()
    assert report.head_problem is not None and report.head_problem.kind == "forged-head"
    assert report.head_problem.seq == N + 3


async def test_a_deleted_heads_log_is_a_finding(archive: Archive) -> None:
    archive.log.unlink()
    report = await archive.verify()
    assert [p.kind for p in report.problems] == ["heads-log-missing"]


async def test_committed_but_not_yet_logged_rows_are_no_finding_until_logged(archive: Archive) -> None:
    """A crash between the commit and the log line (or a copy taken in between): the rows
    were never acknowledged; verify counts them, and the bridge's start logs them."""
    unlogged = ArchiveWriter(archive.engine, archive.keyring)  # commits, never logs
    await unlogged.ingest_transaction("in-flight", [event(N + 1), event(N + 2)])
    await unlogged.close()
    report = await archive.verify()
    assert report.ok, report.problems
    assert (report.logged_up_to, report.unlogged_rows) == (N, 2)
    restarted = ArchiveWriter(
        archive.engine, archive.keyring, commit_log=CommitLog(archive.log, archive.keyring.chain_key)
    )
    await restarted.log_head()
    await restarted.close()
    report = await archive.verify()
    assert report.ok and (report.logged_up_to, report.unlogged_rows) == (N + 2, 0)


async def test_an_archive_from_before_chain_keys_keeps_verifying(db_url: str, tmp_path: Path) -> None:
    """Rows written without a chain key verify as before; the key added at the next start
    covers the rows from then on, and verify says from which row."""
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        old = Keyring.generate()
        old = Keyring(active=old.active, keys=old.keys)  # as written before chain keys
        key_file = tmp_path / "archive.key"
        write_private(key_file, old.dumps())
        writer = ArchiveWriter(engine, old)
        for i in range(6):
            await writer.ingest_transaction(f"old{i}", [event(i)])
        live = LiveKeyring(key_file)
        key = await ensure_chain_key(engine, live)
        assert key is not None and key.from_seq == 7
        assert Keyring.load(key_file).chain == key, "kept in the keyring file (0600)"
        assert await ensure_chain_key(engine, LiveKeyring(key_file)) == key, "added once"
        writer = ArchiveWriter(engine, live, commit_log=CommitLog(tmp_path / "heads.log", live.chain_key))
        for i in range(6, 12):
            await writer.ingest_transaction(f"new{i}", [event(i)])
        await writer.close()
        async with engine.connect() as conn:
            macs = [r[0] for r in await conn.execute(select(t.c.row_mac).order_by(t.c.seq))]
        assert macs[:6] == [None] * 6 and all(m is not None for m in macs[6:])
        report = await verify_archive(engine, None, None, chain_key=key, heads_log=tmp_path / "heads.log")
        assert report.ok, report.problems
        assert (report.rows, report.keyed_from, report.macs_checked) == (12, 7, 6)
        # A row before the keyed ones altered and the chain rebuilt: the first MAC shows it.
        async with engine.begin() as conn:
            await conn.execute(update(t).where(t.c.seq == 3).values(sender="@someone-else:test"))
        await rebuild_hashes(engine, 3)
        report = await verify_archive(engine, None, None, chain_key=key, heads_log=tmp_path / "heads.log")
        assert report.chain_problem is not None and report.chain_problem.kind == "recomputed"
        assert report.chain_problem.seq == 7 and "or a row before it" in report.chain_problem.detail
    finally:
        await engine.dispose()
