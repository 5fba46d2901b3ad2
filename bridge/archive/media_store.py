"""Encrypted copies of uploaded files under archive.media_dir.

Each file is sealed with the archive keyring (AES-256-GCM, key id recorded; the additional
data binds the mxc:// URI) and named after a hash of its URI, so no file name, type or
content is visible on disk. 45 CFR 164.312(a)(2)(iv) encryption at rest.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from bridge.archive.keyring import Sealer


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


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def store_media(media_dir: Path, mxc: str, data: bytes, keyring: Sealer) -> StoredMedia:
    """Seal and write one file (atomically, fsynced, 0600); returns its record."""
    key_id, sealed = keyring.seal(data, media_aad(mxc))
    rel = media_name(mxc)
    _write_atomic(media_dir / rel, sealed)
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
