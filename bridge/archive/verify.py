"""Verifying the archive without the decryption key: the chain, the published heads, media.

Finds the first broken link and names it: a row `changed` (content or metadata no longer
matches its hash), rows `removed` (a gap, or later rows renumbered), rows `reordered`
(swapped or moved), a row `inserted`; then compares the archive with every chain head the
bridge published in Synapse (`truncated` tail, or a chain `rewritten` after a head); then
checks that every archived media file is present and unaltered.
45 CFR 164.312(c)(1)-(2) integrity and mechanisms to authenticate ePHI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import GENESIS_HASH, RowMeta, row_hash
from bridge.archive.chain_walk import PAGE, PAGE_QUERY, ArchiveRow, Progress, walk_chain
from bridge.archive.heads import Head, PublishedHead
from bridge.db.tables import archive_events, archive_media

REORDER_WINDOW = 64
t = archive_events


@dataclass(frozen=True)
class Problem:
    """One finding: what kind, at which row (and event), in words."""

    kind: str
    seq: int
    event_id: str | None
    detail: str


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

    @property
    def problems(self) -> list[Problem]:
        """All findings, chain first."""
        found = [p for p in (self.chain_problem, self.head_problem) if p is not None]
        return found + self.media_problems

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
                "published": _iso(latest.published_ts),
                "event_id": latest.event_id,
            },
            "media_checked": self.media_checked,
            "problems": [asdict(p) for p in self.problems],
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


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


async def verify_chain(
    engine: AsyncEngine, report: VerifyReport, page: int = PAGE, progress: Progress | None = None
) -> None:
    """Walk the chain from the genesis; record the first broken link in the report."""
    walk = await walk_chain(engine, page, progress)
    report.rows = walk.rows
    if walk.rows:
        report.head = Head(walk.rows, walk.prev)
    if walk.broken is not None:
        report.chain_problem = await _classify(engine, walk.broken, walk.expected, walk.previous)


async def verify_heads(engine: AsyncEngine, heads: Iterable[PublishedHead], report: VerifyReport) -> None:
    """Compare the archive with every published head (oldest first); first mismatch wins."""
    report.tail_checked = True
    ordered = sorted(heads, key=lambda h: (h.published_ts, h.seq))
    report.latest_published = ordered[-1] if ordered else None
    last_seq = report.head.seq if report.chain_problem is None else None
    for head in ordered:
        report.heads_checked += 1
        if head.seq == 0:
            continue
        async with engine.connect() as conn:
            stored = await conn.scalar(select(t.c.row_hash).where(t.c.seq == head.seq))
            if last_seq is None:
                last_seq = int(await conn.scalar(select(t.c.seq).order_by(t.c.seq.desc()).limit(1)) or 0)
        when = _iso(head.published_ts)
        if stored is None and head.seq > last_seq:
            report.head_problem = Problem(
                "truncated",
                last_seq + 1,
                None,
                f"the archive ends at row {last_seq}, but the head published {when} "
                f"(event {head.event_id}) covers rows up to {head.seq}: the last "
                f"{head.seq - last_seq} row(s) were deleted",
            )
            return
        if stored is None or bytes(stored) != head.row_hash:
            report.head_problem = Problem(
                "rewritten",
                head.seq,
                None,
                f"row {head.seq} does not match the head published {when} (event {head.event_id}): "
                "the chain up to that row was replaced or recomputed",
            )
            return


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


async def verify_archive(
    engine: AsyncEngine,
    heads: Iterable[PublishedHead] | None,
    media_dir: Path | None,
    page: int = PAGE,
    progress: Progress | None = None,
    media_progress: Progress | None = None,
) -> VerifyReport:
    """Chain, then published heads (None: tail unchecked), then media files (None: skipped).
    `progress` is told the rows checked so far after every page, `media_progress` the
    media files checked."""
    report = VerifyReport()
    await verify_chain(engine, report, page, progress)
    if heads is not None:
        await verify_heads(engine, heads, report)
    if media_dir is not None:
        await verify_media(engine, media_dir, report, media_progress)
    return report
