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
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

GENESIS_HASH = bytes(32)
MAC_ALGORITHM = "hmac-sha256/1"
_MAC_DOMAIN = b"carebridge-chain-mac/1\x00"


_STR = encode_basestring_ascii  # json's own string encoder (C): "..." with \\uXXXX escapes

# The clear-text columns a row hash covers, in hash order (after them in a row come the
# ciphertext, the previous hash and the row hash).
ClearFields = tuple[int, str, str, str, str, str | None, int, int, str, str]


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

    def fields(self) -> ClearFields:
        """The columns in hash order."""
        return (
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

    def canonical(self) -> bytes:
        """Stable byte form of the metadata used in the row hash."""
        return canonical(self.fields())


def canonical(fields: Sequence[Any]) -> bytes:
    """The bytes of json.dumps(fields, separators=(",", ":"), ensure_ascii=True) for the
    clear columns in hash order (ints, strings, a string or None), built directly: verifying
    a large archive spent more time in json.dumps than in SHA-256 (bench/scale.py)."""
    seq, event_id, room_id, sender, event_type, state_key, origin_ts, received_ts, source, key_id = fields
    key = "null" if state_key is None else _STR(state_key)
    return (
        f"[{int(seq)},{_STR(event_id)},{_STR(room_id)},{_STR(sender)},{_STR(event_type)},{key},"
        f"{int(origin_ts)},{int(received_ts)},{_STR(source)},{_STR(key_id)}]"
    ).encode()


def hash_fields(prev_hash: bytes, fields: Sequence[Any], ciphertext: bytes) -> bytes:
    """sha256(prev_hash || len-prefixed canonical metadata || ciphertext), from the clear
    columns in hash order (a row read from the table, sliced: no RowMeta on the hot path)."""
    text = canonical(fields)
    return hashlib.sha256(b"".join((prev_hash, len(text).to_bytes(4, "big"), text, ciphertext))).digest()


def row_hash(prev_hash: bytes, meta: RowMeta, ciphertext: bytes) -> bytes:
    """sha256(prev_hash || len-prefixed canonical metadata || ciphertext)."""
    return hash_fields(prev_hash, meta.fields(), ciphertext)


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
