"""The audit records' outbox: written to disk before a record is sent, removed after.

A login or logout record is evidence (45 CFR 164.312(b) audit controls, 164.308(a)(5)(ii)(C)
log-in monitoring); kept only in memory until Synapse has sent it, a crash of Synapse loses
it. Each record is committed to a small SQLite file owned by the module (0600, in a 0700
directory; one file per Synapse process) before the send is even tried, sent from there in
order, and deleted only once Synapse has accepted the event. After a crash the next start
sends what is left. Without a directory configured the outbox stays in memory (as before).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import deque
from pathlib import Path
from typing import Any

JsonDict = dict[str, Any]
Record = tuple[str, JsonDict]  # (event type, content)


class SessionOutbox:
    """A FIFO of (event type, content) records, durable when `path` is given."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: deque[tuple[int, Record]] = deque()
        self._next = 1
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " event_type TEXT NOT NULL, content TEXT NOT NULL)"
            )

    def put(self, event_type: str, content: JsonDict) -> None:
        """Store one record (committed and synced before this returns)."""
        if self._db is None:
            self._memory.append((self._next, (event_type, content)))
            self._next += 1
            return
        self._db.execute(
            "INSERT INTO outbox (event_type, content) VALUES (?, ?)", (event_type, json.dumps(content))
        )

    def oldest(self) -> tuple[int, Record] | None:
        """The record waiting longest, with its id, or None."""
        if self._db is None:
            return self._memory[0] if self._memory else None
        row = self._db.execute("SELECT id, event_type, content FROM outbox ORDER BY id LIMIT 1").fetchone()
        return (int(row[0]), (str(row[1]), json.loads(row[2]))) if row else None

    def remove(self, record_id: int) -> None:
        """The record was sent: forget it."""
        if self._db is None:
            if self._memory and self._memory[0][0] == record_id:
                self._memory.popleft()
            return
        self._db.execute("DELETE FROM outbox WHERE id = ?", (record_id,))

    def __len__(self) -> int:
        if self._db is None:
            return len(self._memory)
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the file (records stay for the next start)."""
        if self._db is not None:
            self._db.close()
            self._db = None


def outbox_path(directory: str | None, worker_name: str | None) -> Path | None:
    """This Synapse process's outbox file in the configured directory (None: in memory)."""
    if directory is None:
        return None
    suffix = f"-{worker_name}" if worker_name else ""
    return Path(directory) / f"session-outbox{suffix}.sqlite3"
