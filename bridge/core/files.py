"""Writing files that hold secrets or sealed archive data: created 0600 from the start,
never world-readable, replaced atomically and fsynced (45 CFR 164.312(a)(1) access control)."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, content: str | bytes, dir_mode: int = 0o777) -> None:
    """Write `content` (text as UTF-8) to path with mode 0600, atomically replacing an
    existing file; the file and its directory entry are fsynced. Missing parent folders
    are made with `dir_mode` (0o700 for folders only Carebridge reads)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=dir_mode)
    data = content.encode("utf-8") if isinstance(content, str) else content
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
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
