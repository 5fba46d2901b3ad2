"""Archive keys: AES-256-GCM keys with ids, so keys can rotate and old rows stay readable.

The keyring is a small JSON document kept in a 0600 file (or an environment variable that
overrides the file): {"active": "k1", "keys": {"k1": "<base64 32 bytes>", ...}, "chain":
{"algorithm": "hmac-sha256/1", "key": "<base64 32 bytes>", "from_seq": 1}}. The `chain`
part is the key that MACs the archive's row hashes (bridge.archive.chain.ChainKey); a
keyring written before it existed gets one at the bridge's next start
(bridge.archive.chain_key.ensure_chain_key).
45 CFR 164.312(a)(2)(iv): encryption and decryption of ePHI at rest; 164.312(c)(2).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bridge.archive.chain import MAC_ALGORITHM, ChainKey

NONCE_BYTES = 12
log = logging.getLogger(__name__)


class KeyringError(Exception):
    """The keyring is missing, unreadable, too widely readable, or malformed."""


class Sealer(Protocol):
    """What the archive needs from a keyring: seal with the active key, open by key id."""

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]: ...

    def open(self, key_id: str, sealed: bytes, aad: bytes) -> bytes: ...

    def chain_key(self) -> ChainKey | None: ...


@dataclass(frozen=True)
class Keyring:
    """A set of archive keys, one of which seals new rows, and the chain key (None in a
    keyring written before chain keys existed)."""

    active: str
    keys: dict[str, bytes]
    chain: ChainKey | None = None
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def _cipher(self, key_id: str) -> AESGCM:
        # Building AESGCM expands the key schedule: do it once per key, not per row.
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            cipher = self._ciphers[key_id] = AESGCM(self.keys[key_id])
        return cipher

    @classmethod
    def generate(cls) -> Keyring:
        """A fresh keyring with one random 256-bit key and a chain key from row 1."""
        return cls(active="k1", keys={"k1": secrets.token_bytes(32)}, chain=ChainKey.generate(1))

    def rotated(self) -> Keyring:
        """A copy with a new random key that becomes the active one (same chain key)."""
        number = 1 + max((int(k[1:]) for k in self.keys if k[1:].isdigit()), default=0)
        key_id = f"k{number}"
        return Keyring(active=key_id, keys={**self.keys, key_id: secrets.token_bytes(32)}, chain=self.chain)

    def with_chain(self, chain: ChainKey) -> Keyring:
        """A copy with this chain key (for a keyring that has none yet)."""
        return Keyring(active=self.active, keys=dict(self.keys), chain=chain)

    def chain_key(self) -> ChainKey | None:
        """The chain key, if the keyring has one."""
        return self.chain

    def dumps(self) -> str:
        """Serialise to the JSON stored in the key file."""
        doc: dict[str, object] = {
            "active": self.active,
            "keys": {k: base64.b64encode(v).decode() for k, v in sorted(self.keys.items())},
        }
        if self.chain is not None:
            doc["chain"] = {
                "algorithm": MAC_ALGORITHM,
                "key": base64.b64encode(self.chain.key).decode(),
                "from_seq": self.chain.from_seq,
            }
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def loads(cls, text: str) -> Keyring:
        """Parse the JSON form; every key must be 32 bytes and the active one present."""
        try:
            raw = json.loads(text)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in raw["keys"].items()}
            active = str(raw["active"])
            chain = _chain(raw.get("chain"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(f"archive keyring is malformed ({type(exc).__name__})") from None
        if active not in keys:
            raise KeyringError("archive keyring: the active key id has no key")
        if any(len(v) != 32 for v in keys.values()):
            raise KeyringError("archive keyring: every key must be 32 bytes (AES-256)")
        return cls(active=active, keys=keys, chain=chain)

    @classmethod
    def load(cls, key_file: Path, env_var: str | None = None) -> Keyring:
        """Load from the env var if set, else from the key file (which must be 0600)."""
        if env_var and os.environ.get(env_var):
            return cls.loads(os.environ[env_var])
        try:
            mode = key_file.stat().st_mode
        except FileNotFoundError:
            raise KeyringError(f"archive key file {key_file} does not exist") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(
                f"archive key file {key_file} is readable by others; run: chmod 600 {key_file}"
            )
        return cls.loads(key_file.read_text(encoding="utf-8"))

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        """Encrypt with the active key; returns (key id, nonce + ciphertext + tag)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return self.active, nonce + self._cipher(self.active).encrypt(nonce, plaintext, aad)

    def open(self, key_id: str, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt a sealed blob; raises cryptography's InvalidTag if it was altered."""
        if key_id not in self.keys:
            raise KeyringError(f"archive key id {key_id!r} is not in the keyring")
        return self._cipher(key_id).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)


def _chain(raw: object) -> ChainKey | None:
    """The keyring's `chain` part (None when absent); raises ValueError if malformed."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TypeError("chain is not an object")
    if raw.get("algorithm", MAC_ALGORITHM) != MAC_ALGORITHM:
        raise ValueError("unknown chain algorithm")
    key = base64.b64decode(raw["key"], validate=True)
    from_seq = raw["from_seq"]
    if len(key) != 32 or not isinstance(from_seq, int) or isinstance(from_seq, bool) or from_seq < 1:
        raise ValueError("chain key must be 32 bytes and from_seq a positive integer")
    return ChainKey(key, from_seq)


class LiveKeyring:
    """A keyring that follows its key file, so `carebridge archive rotate-key` takes effect
    in a running bridge: new rows are sealed with the new active key within `recheck`
    seconds, and a row sealed by another process with a key id we have not seen yet makes
    us re-read the file at once. With the keys in an environment variable it never changes.
    """

    def __init__(self, key_file: Path, env_var: str | None = None, recheck: float = 1.0) -> None:
        self.key_file = key_file
        self.env_var = env_var
        self.recheck = recheck
        self._ring = Keyring.load(key_file, env_var)
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()

    @property
    def from_env(self) -> bool:
        """Whether the keys come from the environment variable rather than the file."""
        return bool(self.env_var and os.environ.get(self.env_var))

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self.from_env:
            return None
        try:
            st = self.key_file.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.recheck:
            return
        self._checked = now
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp:
            try:
                ring = Keyring.load(self.key_file, self.env_var)
            except KeyringError as exc:
                if force:
                    raise
                # Keep sealing with the keys we have rather than failing every write.
                log.error("archive key file changed but cannot be used (%s); keeping the loaded keys", exc)
                return
            self._ring, self._stamp = ring, stamp

    @property
    def current(self) -> Keyring:
        """The keyring as last read (re-read if the file changed)."""
        self._refresh()
        return self._ring

    def reload(self) -> None:
        """Re-read the key file now (after it was changed in this process)."""
        self._refresh(force=True)

    def chain_key(self) -> ChainKey | None:
        """The chain key of the current key file."""
        return self.current.chain

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        """Seal with the active key of the current key file."""
        return self.current.seal(plaintext, aad)

    def open(self, key_id: str, sealed: bytes, aad: bytes) -> bytes:
        """Open a sealed blob, re-reading the key file if the key id is new to us."""
        ring = self.current
        if key_id not in ring.keys:
            self._refresh(force=True)
            ring = self._ring
        return ring.open(key_id, sealed, aad)
