"""The hash chain that makes the archive tamper-evident without reading any PHI.

Each row's hash covers the previous row's hash, the row's metadata and its ciphertext, so
a changed, removed, reordered or inserted row breaks every later link. Anyone with write
access to the database could recompute every hash after a change, though: so each row from
`ChainKey.from_seq` on also carries a MAC of its hash under the chain key, which is kept in
the archive keyring (outside the database). A suffix recomputed without the key has no
valid MACs. The row hash stays unkeyed, so the chain itself is checked without any key.
45 CFR 164.312(c)(1) integrity, 164.312(c)(2) mechanism to authenticate ePHI, 164.312(b).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

GENESIS_HASH = bytes(32)
MAC_ALGORITHM = "hmac-sha256/1"
_MAC_DOMAIN = b"carebridge-chain-mac/1\x00"


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


@dataclass(frozen=True)
class ChainKey:
    """The key that MACs row hashes, and the first row it covers (rows before it were
    written before the archive had a chain key and are protected by the hash chain and the
    published heads only)."""

    key: bytes
    from_seq: int

    @classmethod
    def generate(cls, from_seq: int = 1) -> ChainKey:
        """A fresh random 256-bit chain key covering rows from `from_seq` on."""
        return cls(secrets.token_bytes(32), from_seq)

    def mac(self, seq: int, row_hash: bytes) -> bytes:
        """HMAC-SHA256(key, domain || seq || row hash): vouches for the row and, through
        the chain, for every row before it."""
        return hmac.digest(self.key, _MAC_DOMAIN + seq.to_bytes(8, "big") + row_hash, "sha256")

    def covers(self, seq: int) -> bool:
        """Whether row `seq` must carry a MAC."""
        return seq >= self.from_seq

    def valid(self, seq: int, row_hash: bytes, mac: bytes | None) -> bool:
        """Whether `mac` is this key's MAC of (seq, row_hash) (constant-time comparison)."""
        return mac is not None and hmac.compare_digest(self.mac(seq, row_hash), mac)
