"""Encrypted copies of uploaded files under archive.media_dir.

Each file is sealed with the archive keyring (AES-256-GCM, key id recorded; the additional
data binds the mxc:// URI) and named after a hash of its URI, so no file name, type or
content is visible on disk. 45 CFR 164.312(a)(2)(iv) encryption at rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bridge.archive.keyring import Sealer
from bridge.core.files import write_private


@dataclass(frozen=True)
class StoredMedia:
    """Where a file went and the digests that prove what it was."""

    path: str
    sha256: str
    cipher_sha256: str
    size: int
    key_id: str


def media_aad(mxc: str) -> bytes:
    """Additional authenticated data binding a sealed file to its mxc:// URI."""
    return f"carebridge-media\x00{mxc}".encode()


def media_name(mxc: str) -> str:
    """The relative path a file is stored under (derived from the URI, never the name)."""
    digest = hashlib.sha256(mxc.encode()).hexdigest()
    return f"{digest[:2]}/{digest}.bin"


def store_media(media_dir: Path, mxc: str, data: bytes, keyring: Sealer) -> StoredMedia:
    """Seal and write one file (atomically, fsynced, 0600); returns its record."""
    key_id, sealed = keyring.seal(data, media_aad(mxc))
    rel = media_name(mxc)
    write_private(media_dir / rel, sealed, dir_mode=0o700)
    return StoredMedia(
        path=rel,
        sha256=hashlib.sha256(data).hexdigest(),
        cipher_sha256=hashlib.sha256(sealed).hexdigest(),
        size=len(data),
        key_id=key_id,
    )


def read_media(media_dir: Path, rel_path: str, key_id: str, mxc: str, keyring: Sealer) -> bytes:
    """Decrypt an archived file (raises if it was altered or the key is missing)."""
    sealed = (media_dir / rel_path).read_bytes()
    return keyring.open(key_id, sealed, media_aad(mxc))
