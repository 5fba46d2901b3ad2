"""Checking the archive against its heads: the ones published in the administrators' room
and the ones in the heads log (one per committed transaction, bridge.archive.commit_log).

- `forged-head`: a head from the chain key's `from_seq` on whose MAC is missing or wrong:
  the line or event was altered, or written without the key.
- `rewritten`: a row's hash differs from a head recorded for it: the chain up to that row
  was replaced or recomputed.
- `truncated`: the archive ends before a recorded head: its newest rows were deleted.

Rows after the newest head are not a finding: they are the transactions that were committed
but not yet logged when a copy was taken or the bridge died (never acknowledged, so Synapse
still holds them; the bridge logs its head again at start). The report counts them.

Heads are matched while the chain is walked (both in seq order), so a log of millions of
per-commit lines costs no query per line.
45 CFR 164.312(c)(1)-(2) integrity and mechanisms to authenticate ePHI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import ChainKey
from bridge.archive.heads import PublishedHead
from bridge.db.tables import archive_events as t

CHUNK = 500


@dataclass(frozen=True)
class Problem:
    """One finding: what kind, at which row (and event), in words."""

    kind: str
    seq: int
    event_id: str | None
    detail: str


def iso(ms: int) -> str:
    """Epoch milliseconds as an ISO 8601 UTC time to the second."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _where(head: PublishedHead) -> str:
    if head.event_id.startswith("$"):
        return f"the head published {iso(head.published_ts)} (event {head.event_id})"
    return f"the head logged {iso(head.published_ts)} ({head.event_id})"


class HeadCheck:
    """Every recorded head, matched against the rows as the chain walk passes them."""

    def __init__(self, heads: Iterable[PublishedHead], chain_key: ChainKey | None) -> None:
        everything = list(heads)
        self.count = len(everything)
        self.newest = max(everything, key=lambda h: (h.seq, h.published_ts), default=None)
        self._heads = sorted((h for h in everything if h.seq > 0), key=lambda h: (h.seq, h.published_ts))
        self._next = 0
        self.chain_key = chain_key
        self.problem: Problem | None = self._forged()

    def _forged(self) -> Problem | None:
        key = self.chain_key
        if key is None:
            return None
        for head in self._heads:
            if key.covers(head.seq) and not key.valid(head.seq, head.row_hash, head.mac):
                state = "has no MAC" if head.mac is None else "has a MAC that does not match"
                return Problem(
                    "forged-head",
                    head.seq,
                    None,
                    f"{_where(head)} for row {head.seq} {state} under the chain key: it was "
                    "altered or written without the key",
                )
        return None

    def next_seq(self) -> int | None:
        """The row of the next head the walk has not passed (None: none left)."""
        return self._heads[self._next].seq if self._next < len(self._heads) else None

    def at_row(self, seq: int, row_hash: bytes) -> None:
        """The walk passed intact row `seq`: compare it with the heads recorded for it."""
        heads, i = self._heads, self._next
        while i < len(heads) and heads[i].seq <= seq:
            head = heads[i]
            if self.problem is None and head.seq == seq and head.row_hash != row_hash:
                self.problem = _rewritten(head)
            i += 1
        self._next = i

    async def finish(self, engine: AsyncEngine, walked_to: int, chain_intact: bool) -> None:
        """The heads the walk did not reach: beyond the archive's end (truncated), or, after
        a broken link stopped the walk, looked up row by row."""
        rest = self._heads[self._next :]
        if self.problem is not None or not rest:
            return
        if chain_intact:
            self.problem = _truncated(walked_to, rest[-1])
            return
        async with engine.connect() as conn:
            last = int(await conn.scalar(select(t.c.seq).order_by(t.c.seq.desc()).limit(1)) or 0)
            for start in range(0, len(rest), CHUNK):
                chunk = rest[start : start + CHUNK]
                stored = dict(
                    (int(s), bytes(h))
                    for s, h in await conn.execute(
                        select(t.c.seq, t.c.row_hash).where(t.c.seq.in_({h.seq for h in chunk}))
                    )
                )
                for head in chunk:
                    if head.seq in stored and stored[head.seq] != head.row_hash:
                        self.problem = _rewritten(head)
                        return
        beyond = [h for h in rest if h.seq > last]
        if beyond:
            self.problem = _truncated(last, beyond[-1])

    def logged_up_to(self) -> int:
        """The newest row any head covers (0: none)."""
        return self.newest.seq if self.newest is not None else 0


def _rewritten(head: PublishedHead) -> Problem:
    return Problem(
        "rewritten",
        head.seq,
        None,
        f"row {head.seq} does not match {_where(head)}: the chain up to that row was replaced or recomputed",
    )


def _truncated(last: int, head: PublishedHead) -> Problem:
    return Problem(
        "truncated",
        last + 1,
        None,
        f"the archive ends at row {last}, but {_where(head)} covers rows up to {head.seq}: "
        f"the last {head.seq - last} row(s) were deleted",
    )
