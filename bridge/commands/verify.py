"""`!verify`: walk the archive's hash chain (no key needed, no content read).

Interim: a minimal walk over bridge/chain.py. When `carebridge archive verify`
(bridge/verify.py on the archive branch) is merged, `check_archive` should call its
verify_archive() instead, which also names the kind of damage and checks media.
45 CFR 164.312(c)(1) integrity.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.chain import GENESIS_HASH, RowMeta, row_hash
from bridge.db.tables import archive_events

PAGE = 1000


@dataclass(frozen=True)
class ChainCheck:
    """Result of a chain walk: rows checked, and the first broken row if any."""

    rows: int
    head_hash: str
    broken_seq: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.broken_seq is None


async def check_archive(engine: AsyncEngine, page: int = PAGE) -> ChainCheck:
    """Recompute every row hash from the genesis; stop at the first broken link."""
    t = archive_events
    prev, expected, rows = GENESIS_HASH, 1, 0
    while True:
        async with engine.connect() as conn:
            batch = (
                await conn.execute(select(t).where(t.c.seq >= expected).order_by(t.c.seq).limit(page))
            ).all()
        if not batch:
            return ChainCheck(rows, prev.hex())
        for r in batch:
            meta = RowMeta(
                r.seq, r.event_id, r.room_id, r.sender, r.event_type, r.state_key,
                r.origin_ts, r.received_ts, r.source, r.key_id,
            )  # fmt: skip
            if r.seq != expected:
                return ChainCheck(rows, prev.hex(), expected, f"row {expected} is missing")
            if bytes(r.prev_hash) != prev:
                return ChainCheck(rows, prev.hex(), r.seq, f"row {r.seq} is not linked to row {r.seq - 1}")
            if bytes(r.row_hash) != row_hash(prev, meta, bytes(r.ciphertext)):
                return ChainCheck(rows, prev.hex(), r.seq, f"row {r.seq} was altered")
            prev, expected, rows = bytes(r.row_hash), expected + 1, rows + 1
