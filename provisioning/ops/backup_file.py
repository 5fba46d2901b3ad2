"""The gzipped backup file: a tar written in one pass through tarfile (each member's
SHA-256 computed while it is copied in, the manifest that lists them written last). A plain
tar is written by backup_plain.py (the database in place); this writer also writes a plain
one when asked (compress=False), the layout every backup had before.

The bulk of a Carebridge backup is the archive, which is AES-GCM ciphertext: it does not
compress, and gzip at any level cost more than the database copy itself (bench/scale.py:
31 CPU-seconds of 90 at a million rows). So the file is a plain tar unless its name ends
in .gz or .tgz. Readers (restore, the compliance check) take either, and take the
manifest wherever it sits (files written before this change have it first).
45 CFR 164.308(a)(7)(ii)(A) data backup plan.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bridge.core.backup_format import MANIFEST_MEMBER, HashingReader

CHUNK = 1 << 20
Advance = Callable[[int], None]


def compressed_name(path: Path) -> bool:
    """Whether a backup written to `path` is gzipped (the name asks for it)."""
    return path.name.endswith((".gz", ".tgz"))


class BackupTar:
    """Writes the members of one backup into a new 0600 file; `close` adds the manifest."""

    def __init__(self, path: Path, compress: bool, advance: Advance | None = None) -> None:
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._raw = os.fdopen(fd, "wb")
        mode = "w:gz" if compress else "w"
        options: dict[str, Any] = {"compresslevel": 1} if compress else {}
        self._tar = tarfile.open(fileobj=self._raw, mode=mode, **options)  # type: ignore[call-overload]  # noqa: SIM115
        self._tar.copybufsize = CHUNK
        self.advance = advance
        self.digests: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(1)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._tar.close()
        self._raw.close()
        self._pool.shutdown()

    def add(self, path: Path, arcname: str) -> None:
        """Copy one file in as `arcname` (owner root, mode 0600), hashing it on the way."""
        info = self._tar.gettarinfo(str(path), arcname)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o600
        with open(path, "rb") as handle:
            reader = HashingReader(handle, self.advance, self._pool)
            self._tar.addfile(info, reader)
        self.digests[arcname] = reader.hexdigest()

    def finish(self, manifest: dict[str, Any]) -> None:
        """Write the manifest (with every member's SHA-256) and flush the file to disk."""
        body = json.dumps({**manifest, "members": self.digests}, indent=2, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST_MEMBER)
        info.size, info.mode, info.mtime = len(body), 0o600, int(time.time())
        self._tar.addfile(info, io.BytesIO(body))
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
