"""Verifying the archive without the decryption key: the chain, its MACs, the heads, media.

Finds the first broken link and names it: a row `changed` (content or metadata no longer
matches its hash), rows `removed` (a gap, or later rows renumbered), rows `reordered`
(swapped or moved), a row `inserted`; from the chain key's `from_seq` on, a row whose MAC
is missing or wrong is `recomputed` (its hash, and every later one, was rebuilt without
the chain key). The heads published in Synapse and logged in the heads log are matched as
the walk passes them (bridge.archive.verify_heads: `truncated`, `rewritten`,
`forged-head`); then every archived media file is checked, present and unaltered.
45 CFR 164.312(c)(1)-(2) integrity and mechanisms to authenticate ePHI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import GENESIS_HASH, ChainKey, RowMeta, row_hash
from bridge.archive.chain_walk import PAGE, PAGE_QUERY, ArchiveRow, Progress, walk_chain
from bridge.archive.heads import Head, PublishedHead, logged_heads
from bridge.archive.verify_heads import HeadCheck, Problem, iso
from bridge.db.tables import archive_events, archive_media

__all__ = ["Problem", "VerifyReport", "verify_archive", "verify_chain", "verify_media"]

REORDER_WINDOW = 64
t = archive_events


@dataclass
class VerifyReport:
    """Everything `carebridge archive verify` found."""

    rows: int = 0
    head: Head = field(default_factory=lambda: Head(0, GENESIS_HASH))
    chain_problem: Problem | None = None
    heads_checked: int = 0
    latest_published: PublishedHead | None = None
    tail_checked: bool = False
    head_problem: Problem | None = None
    media_checked: int = 0
    media_problems: list[Problem] = field(default_factory=list)
    keyed_from: int | None = None  # the chain key's from_seq (None: no chain key given)
    macs_checked: int = 0
    macs_unchecked: int = 0  # rows carrying a MAC that was not checked (no key, or before from_seq)
    logged_up_to: int = 0  # the newest row any published or logged head covers
    unlogged_rows: int = 0  # rows after it: committed, not yet logged (not a finding)
    heads_log_problem: Problem | None = None

    @property
    def problems(self) -> list[Problem]:
        """All findings, chain first."""
        found = [p for p in (self.chain_problem, self.head_problem, self.heads_log_problem) if p is not None]
        return found + self.media_problems

    @property
    def unchecked(self) -> list[str]:
        """What could not be checked (not a finding, but not a clean bill either)."""
        notes = []
        if not self.tail_checked:
            notes.append("no published or logged heads were read: a deleted tail is not ruled out")
        if self.macs_unchecked:
            notes.append(
                f"{self.macs_unchecked} row(s) carry a MAC that was not checked (no chain key, "
                "or a chain key that is not the one they were written with): a recomputed "
                "chain is not ruled out"
            )
        return notes

    @property
    def ok(self) -> bool:
        """No finding at all (an unchecked tail is not a finding; see tail_checked)."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (hashes in hex)."""
        latest = self.latest_published
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head": {"seq": self.head.seq, "hash": self.head.row_hash.hex()},
            "tail_checked": self.tail_checked,
            "heads_checked": self.heads_checked,
            "latest_published_head": None
            if latest is None
            else {
                "seq": latest.seq,
                "hash": latest.row_hash.hex(),
                "published": iso(latest.published_ts),
                "event_id": latest.event_id,
            },
            "media_checked": self.media_checked,
            "keyed_from": self.keyed_from,
            "macs_checked": self.macs_checked,
            "macs_unchecked": self.macs_unchecked,
            "logged_up_to": self.logged_up_to,
            "unlogged_rows": self.unlogged_rows,
            "unchecked": self.unchecked,
            "problems": [asdict(p) for p in self.problems],
        }


def _meta(row: ArchiveRow, seq: int | None = None) -> RowMeta:
    return RowMeta(
        seq=row.seq if seq is None else seq,
        event_id=row.event_id,
        room_id=row.room_id,
        sender=row.sender,
        event_type=row.event_type,
        state_key=row.state_key,
        origin_ts=row.origin_ts,
        received_ts=row.received_ts,
        source=row.source,
        key_id=row.key_id,
    )


def _self_consistent(row: ArchiveRow, seq: int) -> bool:
    return row_hash(bytes(row.prev_hash), _meta(row, seq), bytes(row.ciphertext)) == bytes(row.row_hash)


def _hashed_as(row: ArchiveRow) -> int | None:
    """The sequence number this row's hash was computed with, if near its current one."""
    for delta in range(1, REORDER_WINDOW + 1):
        for candidate in (row.seq + delta, row.seq - delta):
            if candidate > 0 and _self_consistent(row, candidate):
                return int(candidate)
    return None


async def _rows(engine: AsyncEngine, after: int, limit: int) -> list[ArchiveRow]:
    async with engine.connect() as conn:
        result = await conn.execute(PAGE_QUERY, {"after": after, "limit": limit})
        return [ArchiveRow._make(r) for r in result]


async def _classify(
    engine: AsyncEngine, row: ArchiveRow, expected: int, previous: ArchiveRow | None
) -> Problem:
    if row.seq > expected:
        first, last = expected, row.seq - 1
        span = f"row {first}" if first == last else f"rows {first}..{last}"
        return Problem("removed", first, None, f"{span} missing: deleted from the archive")
    if not _self_consistent(row, row.seq):
        origin = _hashed_as(row)
        if origin is None:
            following = await _rows(engine, row.seq, 1)
            if (
                following
                and _self_consistent(following[0], row.seq)
                and bytes(following[0].prev_hash)
                == (bytes(previous.row_hash) if previous is not None else GENESIS_HASH)
            ):
                return Problem(
                    "inserted",
                    row.seq,
                    row.event_id,
                    f"row {row.seq} was inserted: the next row was chained to row {row.seq - 1} "
                    "and the later rows renumbered",
                )
            return Problem(
                "changed",
                row.seq,
                row.event_id,
                f"row {row.seq} no longer matches its hash: its ciphertext or metadata was altered",
            )
        if origin > row.seq:
            ahead = await _rows(engine, row.seq, REORDER_WINDOW)
            displaced = next((r for r in ahead if _self_consistent(r, row.seq)), None)
            if displaced is not None:
                return Problem(
                    "reordered",
                    row.seq,
                    row.event_id,
                    f"rows {row.seq} and {displaced.seq} were swapped: row {row.seq} holds the row "
                    f"hashed as {origin} and row {displaced.seq} the row hashed as {row.seq}",
                )
            return Problem(
                "removed",
                row.seq,
                row.event_id,
                f"{origin - row.seq} row(s) before row {row.seq} were deleted and the later rows "
                f"renumbered (row {row.seq} was hashed as {origin})",
            )
        count = row.seq - origin
        return Problem(
            "inserted",
            origin,
            previous.event_id if previous is not None and count == 1 else None,
            f"{count} row(s) were inserted at row {origin} and the later rows renumbered "
            f"(row {row.seq} was hashed as {origin})",
        )
    prev_id = previous.event_id if previous is not None else None
    return Problem(
        "inserted",
        expected - 1,
        prev_id,
        f"row {row.seq} is intact but row {expected - 1} is not the row it was chained to: "
        f"a row was inserted or replaced at {expected - 1}",
    )


def _mac_problem(row: ArchiveRow, chain_key: ChainKey) -> Problem:
    state = "has no MAC" if row.row_mac is None else "has a MAC that does not match its hash"
    if row.seq > chain_key.from_seq:
        what = (
            f"row {row.seq} was altered, replaced or inserted (row {row.seq - 1}'s MAC still "
            "vouches for every row before it)"
        )
    else:
        what = f"row {row.seq} or a row before it was altered, removed or inserted"
    return Problem(
        "recomputed",
        row.seq,
        row.event_id,
        f"row {row.seq} {state} under the chain key (keyed from row {chain_key.from_seq}): "
        f"{what} and the hashes rebuilt without the key",
    )


async def verify_chain(
    engine: AsyncEngine,
    report: VerifyReport,
    page: int = PAGE,
    progress: Progress | None = None,
    chain_key: ChainKey | None = None,
    heads: HeadCheck | None = None,
) -> None:
    """Walk the chain from the genesis (each row's MAC from the chain key's from_seq on,
    and the recorded heads as their rows pass); record the first broken link."""
    walk = await walk_chain(engine, page, progress, chain_key, heads)
    report.rows = walk.rows
    report.macs_checked, report.macs_unchecked = walk.macs_checked, walk.macs_unchecked
    if walk.rows:
        report.head = Head(walk.rows, walk.prev)
    if walk.broken is not None:
        report.chain_problem = await _classify(engine, walk.broken, walk.expected, walk.previous)
    elif walk.mac_broken is not None and chain_key is not None:
        report.chain_problem = _mac_problem(walk.mac_broken, chain_key)


async def stored_media_count(engine: AsyncEngine) -> int:
    """How many archived media files `verify_media` will check."""
    m = archive_media
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).where(m.c.status == "stored")) or 0)


async def verify_media(
    engine: AsyncEngine, media_dir: Path, report: VerifyReport, progress: Progress | None = None
) -> None:
    """Every stored media file exists and its ciphertext matches the recorded SHA-256
    (`progress` is told the files checked so far)."""
    m = archive_media
    async with engine.connect() as conn:
        result = await conn.stream(
            select(m.c.mxc, m.c.seq, m.c.event_id, m.c.path, m.c.cipher_sha256)
            .where(m.c.status == "stored")
            .order_by(m.c.seq, m.c.mxc)
        )
        async for mxc, seq, event_id, rel_path, cipher_sha in result:
            report.media_checked += 1
            if progress is not None and report.media_checked % 100 == 0:
                progress(report.media_checked)
            path = media_dir / rel_path
            if not path.is_file():
                report.media_problems.append(
                    Problem("media-missing", seq, event_id, f"archived file for {mxc} is missing")
                )
                continue
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            if digest.hexdigest() != cipher_sha:
                report.media_problems.append(
                    Problem("media-changed", seq, event_id, f"archived file for {mxc} was altered")
                )


def _heads_log_problem(path: Path, report: VerifyReport, chain_key: ChainKey | None) -> Problem | None:
    """A missing heads log is a finding once rows were written with per-commit logging
    (every row the chain key covers was: the bridge creates the log before its first one)."""
    if path.exists() or chain_key is None or report.head.seq < chain_key.from_seq:
        return None
    return Problem(
        "heads-log-missing",
        chain_key.from_seq,
        None,
        f"the heads log {path} does not exist, but rows {chain_key.from_seq}..{report.head.seq} "
        "were written while every commit was logged there: it was deleted or moved, and a "
        "deleted tail can no longer be seen from this copy",
    )


async def verify_archive(
    engine: AsyncEngine,
    heads: Iterable[PublishedHead] | None,
    media_dir: Path | None,
    page: int = PAGE,
    progress: Progress | None = None,
    media_progress: Progress | None = None,
    *,
    chain_key: ChainKey | None = None,
    heads_log: Path | None = None,
) -> VerifyReport:
    """Chain (and its MACs, with the chain key), then the heads published in Synapse and
    logged in `heads_log` (both None: tail unchecked), then media files (None: skipped).
    `progress` is told the rows checked so far after every page, `media_progress` the
    media files checked."""
    report = VerifyReport(keyed_from=chain_key.from_seq if chain_key is not None else None)
    recorded: list[PublishedHead] | None = None if heads is None else list(heads)
    if heads_log is not None:
        recorded = [*(recorded or []), *logged_heads(heads_log)]
    check = HeadCheck(recorded, chain_key) if recorded is not None else None
    await verify_chain(engine, report, page, progress, chain_key, check)
    if check is not None:
        report.tail_checked = True
        report.heads_checked = check.count
        report.latest_published = check.newest
        await check.finish(engine, report.head.seq, report.chain_problem is None)
        report.head_problem = check.problem
        report.logged_up_to = check.logged_up_to()
        if report.chain_problem is None and report.head_problem is None:
            report.unlogged_rows = max(0, report.head.seq - report.logged_up_to)
    if heads_log is not None:
        report.heads_log_problem = _heads_log_problem(heads_log, report, chain_key)
    if media_dir is not None:
        await verify_media(engine, media_dir, report, media_progress)
    return report
