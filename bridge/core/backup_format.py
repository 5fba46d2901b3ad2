"""The backup file's format, shared by the writer (`carebridge backup`, `restore`) and the
compliance checks that read a backup back: a tar (gzipped when its name ends in .gz) whose
`manifest.json` names every member with its SHA-256, and the one-pass reader both use to
check a file against its manifest."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Final

FORMAT: Final = "carebridge-backup/1"
MANIFEST_MEMBER: Final = "manifest.json"
KEY_MEMBER: Final = "key/archive.key"
HEADS_LOG_MEMBER: Final = "heads/heads.log"
CHUNK: Final = 1 << 20
Advance = Callable[[int], None]


class HashingReader:
    """A read-only file that hashes (and counts) every byte read through it. The hashing
    runs on a helper thread, in order, while the caller works on the block (tarfile writes
    it, or hashes the member it belongs to): hashlib lets go of the GIL on large buffers,
    so the two run side by side."""

    def __init__(self, handle: IO[bytes], advance: Advance | None, pool: ThreadPoolExecutor) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.advance = advance
        self._pool = pool
        self._pending: Future[None] | None = None

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        if self._pending is not None:
            self._pending.result()  # in order: the previous block first
        self._pending = self._pool.submit(self.digest.update, data)
        if self.advance is not None:
            self.advance(len(data))
        return data

    def hexdigest(self) -> str:
        """The SHA-256 of what was read so far."""
        if self._pending is not None:
            self._pending.result()
        return self.digest.hexdigest()

    def finish(self) -> str:
        """Read to the end (tar padding included) and return the file's SHA-256."""
        while self.read(CHUNK):
            pass
        return self.hexdigest()


def read_back(
    path: Path, advance: Advance | None = None
) -> tuple[dict[str, Any] | None, dict[str, str], str]:
    """Read a backup file once, start to end: (its manifest or None, the SHA-256 of each
    member as read, the SHA-256 of the whole file). Raises tarfile/OS errors on a file that
    is not a readable tar."""
    digests: dict[str, str] = {}
    manifest: dict[str, Any] | None = None
    with open(path, "rb") as handle, ThreadPoolExecutor(1) as pool:
        source = HashingReader(handle, advance, pool)
        with tarfile.open(fileobj=source, mode="r|*", bufsize=CHUNK) as tar:  # type: ignore[call-overload]
            tar.copybufsize = CHUNK
            for info in tar:
                if not info.isfile():
                    continue
                data = tar.extractfile(info)
                if data is None:
                    continue
                if info.name == MANIFEST_MEMBER:
                    manifest = json.loads(data.read())
                    continue
                digest = hashlib.sha256()
                while chunk := data.read(CHUNK):
                    digest.update(chunk)
                digests[info.name] = digest.hexdigest()
        whole = source.finish()
    return manifest, digests, whole
