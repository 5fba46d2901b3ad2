"""Archive keys: AES-256-GCM keys with ids, so keys can rotate and old rows stay readable.

The keyring is a small JSON document kept in a 0600 file (or an environment variable that
overrides the file): {"active": "k1", "keys": {"k1": "<base64 32 bytes>", ...}}.
45 CFR 164.312(a)(2)(iv): encryption and decryption of ePHI at rest.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class KeyringError(Exception):
    """The keyring is missing, unreadable, too widely readable, or malformed."""


@dataclass(frozen=True)
class Keyring:
    """A set of archive keys, one of which seals new rows."""

    active: str
    keys: dict[str, bytes]

    @classmethod
    def generate(cls) -> Keyring:
        """A fresh keyring with one random 256-bit key."""
        return cls(active="k1", keys={"k1": secrets.token_bytes(32)})

    def rotated(self) -> Keyring:
        """A copy with a new random key that becomes the active one."""
        number = 1 + max((int(k[1:]) for k in self.keys if k[1:].isdigit()), default=0)
        key_id = f"k{number}"
        return Keyring(active=key_id, keys={**self.keys, key_id: secrets.token_bytes(32)})

    def dumps(self) -> str:
        """Serialise to the JSON stored in the key file."""
        return (
            json.dumps(
                {
                    "active": self.active,
                    "keys": {k: base64.b64encode(v).decode() for k, v in sorted(self.keys.items())},
                },
                indent=2,
            )
            + "\n"
        )

    @classmethod
    def loads(cls, text: str) -> Keyring:
        """Parse the JSON form; every key must be 32 bytes and the active one present."""
        try:
            raw = json.loads(text)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in raw["keys"].items()}
            active = str(raw["active"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(f"archive keyring is malformed ({type(exc).__name__})") from None
        if active not in keys:
            raise KeyringError("archive keyring: the active key id has no key")
        if any(len(v) != 32 for v in keys.values()):
            raise KeyringError("archive keyring: every key must be 32 bytes (AES-256)")
        return cls(active=active, keys=keys)

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
        return self.active, nonce + AESGCM(self.keys[self.active]).encrypt(nonce, plaintext, aad)

    def open(self, key_id: str, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt a sealed blob; raises cryptography's InvalidTag if it was altered."""
        try:
            key = self.keys[key_id]
        except KeyError:
            raise KeyringError(f"archive key id {key_id!r} is not in the keyring") from None
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
