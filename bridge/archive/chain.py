"""The hash chain that makes the archive tamper-evident without reading any PHI.

Each row's hash covers the previous row's hash, the row's metadata and its ciphertext, so
a changed, removed, reordered or inserted row breaks every later link.
45 CFR 164.312(c)(1) integrity, 164.312(b) audit controls.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

GENESIS_HASH = bytes(32)


@dataclass(frozen=True)
class RowMeta:
    """The clear-text columns of one archive row (ids and times, never content)."""

    seq: int
    event_id: str
    room_id: str
    sender: str
    event_type: str
    state_key: str | None
    origin_ts: int
    received_ts: int
    source: str
    key_id: str

    def canonical(self) -> bytes:
        """Stable byte form of the metadata used in the row hash."""
        # The same bytes as json.dumps(dataclasses.astuple(self)), without its deep copies.
        fields = (
            self.seq,
            self.event_id,
            self.room_id,
            self.sender,
            self.event_type,
            self.state_key,
            self.origin_ts,
            self.received_ts,
            self.source,
            self.key_id,
        )
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()


def row_hash(prev_hash: bytes, meta: RowMeta, ciphertext: bytes) -> bytes:
    """sha256(prev_hash || len-prefixed canonical metadata || ciphertext)."""
    digest = hashlib.sha256()
    digest.update(prev_hash)
    canonical = meta.canonical()
    digest.update(len(canonical).to_bytes(4, "big"))
    digest.update(canonical)
    digest.update(ciphertext)
    return digest.digest()


def event_aad(event_id: str, room_id: str) -> bytes:
    """Additional authenticated data binding a ciphertext to its event id and room."""
    return f"carebridge-archive\x00{event_id}\x00{room_id}".encode()
