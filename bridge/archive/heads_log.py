"""The heads log: chain heads appended to a file outside the database.

Two kinds of line, one JSON object each, never any PHI:

- `commit`: the head after every committed archive transaction, written and fsynced before
  the transaction is acknowledged (bridge.archive.commit_log), so no acknowledged row is
  ever beyond the newest line: `{"kind": "commit", "seq", "hash", "mac", "ts"}`;
- `published`: a head also sent to the administrators' room (bridge.archive.heads):
  `{"seq", "hash", "mac", "published_ts", "event_id"}` (lines written before per-commit
  logging have neither `kind` nor `mac`).

`mac` is the chain key's MAC of (seq, hash) (bridge.archive.chain.ChainKey), so a line
cannot be forged or altered without the key; removing the newest lines is what the other
copies are for (syslog, the administrators' room; docs/design/archive.md). The file is
0600 in a 0700 folder, opened O_APPEND for every line (so it may be made append-only with
`chattr +a`), and every line is fsynced. With `archive.heads_syslog` each line also goes
to the local syslog (journald), a copy the archive's database user cannot reach.
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

COMMIT = "commit"
PUBLISHED = "published"


@dataclass(frozen=True)
class LoggedHead:
    """One line of the heads log."""

    line: int
    seq: int
    row_hash: bytes
    published_ts: int
    event_id: str | None
    mac: bytes | None = None
    kind: str = PUBLISHED


def head_line(
    seq: int,
    row_hash: bytes,
    ts: int,
    *,
    kind: str,
    mac: bytes | None = None,
    event_id: str | None = None,
) -> str:
    """The JSON line for one head (without the newline)."""
    if kind == COMMIT:  # on the message path: formatted directly (the same JSON as dumps)
        tail = f',"mac":"{mac.hex()}"' if mac is not None else ""
        return f'{{"kind":"{COMMIT}","seq":{int(seq)},"hash":"{row_hash.hex()}","ts":{int(ts)}{tail}}}'
    doc: dict[str, object] = {"seq": seq, "hash": row_hash.hex(), "published_ts": ts, "event_id": event_id}
    if mac is not None:
        doc["mac"] = mac.hex()
    return json.dumps(doc, separators=(",", ":"))


def append_line(path: Path, line: str, to_syslog: bool = False) -> os.stat_result:
    """Append one line to the log (created 0600 in a 0700 folder) and fsync it (and the
    folder, when the file is new); returns the file's status before the write."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        before = os.fstat(fd)
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    if to_syslog:
        syslog.openlog("carebridge", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
        syslog.syslog(syslog.LOG_NOTICE, f"archive chain head {line}")
    return before


def append_head(
    path: Path,
    seq: int,
    row_hash: bytes,
    published_ts: int,
    event_id: str | None,
    to_syslog: bool = False,
    mac: bytes | None = None,
) -> None:
    """Append one published head to the log and fsync it."""
    append_line(
        path, head_line(seq, row_hash, published_ts, kind=PUBLISHED, mac=mac, event_id=event_id), to_syslog
    )


def _parse(number: int, raw: str) -> LoggedHead:
    data = json.loads(raw)
    ts = data.get("published_ts", data.get("ts"))
    mac = data.get("mac")
    event_id = data.get("event_id")
    return LoggedHead(
        number,
        int(data["seq"]),
        bytes.fromhex(str(data["hash"])),
        int(ts),
        event_id if isinstance(event_id, str) else None,
        bytes.fromhex(mac) if isinstance(mac, str) else None,
        COMMIT if data.get("kind") == COMMIT else PUBLISHED,
    )


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
            heads.append(_parse(number, raw))
        except (ValueError, KeyError, TypeError):
            log.warning("heads log %s line %d does not parse; skipped", path, number)
    return heads
