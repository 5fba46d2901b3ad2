"""The heads log: every published chain head, appended to a file outside the database.

A head in the administrators' room can be lost with Synapse's database; a line in this
append-only file (0600, fsynced) is a second copy that `carebridge archive verify` reads
even offline. Optionally each line also goes to the local syslog (journald), a third copy
the archive's database user cannot reach. One JSON object per line; never any PHI.
45 CFR 164.312(c)(1) integrity, 164.312(b) audit controls.
"""

from __future__ import annotations

import json
import logging
import os
import syslog
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoggedHead:
    """One line of the heads log."""

    line: int
    seq: int
    row_hash: bytes
    published_ts: int
    event_id: str | None


def append_head(
    path: Path, seq: int, row_hash: bytes, published_ts: int, event_id: str | None, to_syslog: bool = False
) -> None:
    """Append one head to the log (created 0600 in a 0700 directory) and fsync it."""
    line = json.dumps(
        {"seq": seq, "hash": row_hash.hex(), "published_ts": published_ts, "event_id": event_id},
        separators=(",", ":"),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if to_syslog:
        syslog.openlog("carebridge", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
        syslog.syslog(syslog.LOG_NOTICE, f"archive chain head {line}")


def read_heads_log(path: Path) -> list[LoggedHead]:
    """Every well-formed line of the log (a missing file is an empty log). A line that does
    not parse is logged by number and skipped: the others still count."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    heads = []
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            data = json.loads(raw)
            head = LoggedHead(
                number,
                int(data["seq"]),
                bytes.fromhex(str(data["hash"])),
                int(data["published_ts"]),
                data.get("event_id") if isinstance(data.get("event_id"), str) else None,
            )
        except (ValueError, KeyError, TypeError):
            log.warning("heads log %s line %d does not parse; skipped", path, number)
            continue
        heads.append(head)
    return heads
