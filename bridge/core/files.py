"""Writing files that hold secrets or sealed archive data: created 0600 from the start,
never world-readable, replaced atomically and fsynced (45 CFR 164.312(a)(1) access control);
and keeping a whole data directory private (umask 0077 for `carebridge up` and its children)."""

from __future__ import annotations

import os
import stat
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


PRIVATE_UMASK = 0o077


def make_data_dir_private(data_dir: Path) -> int:
    """Keep everything under the data directory 0600 (files) / 0700 (folders), whoever runs
    Carebridge: set the process umask to 0077, so every file this process and its children
    (Synapse, the bridge, coturn) create is private, then remove group and other bits from
    anything already there (a data dir an earlier version or another umask wrote).
    Returns how many modes were tightened. 45 CFR 164.312(a)(1) access control:
    homeserver.db holds messages and access tokens in plain text."""
    os.umask(PRIVATE_UMASK)
    tightened = 0
    for root, dirs, files in os.walk(data_dir):
        for name in [*dirs, *files, None]:
            path = Path(root) if name is None else Path(root) / name
            try:
                mode = path.lstat().st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(mode) or not mode & 0o077:
                continue
            os.chmod(path, stat.S_IMODE(mode) & 0o700)
            tightened += 1
    return tightened
