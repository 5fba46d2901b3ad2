"""The apply journal: every initial password written down (0600, fsync'd) before its account
is created, and marked delivered once it has been mailed or written to its file.

`provision apply` killed halfway (power cut, kill -9) would otherwise leave accounts whose
password nobody will ever receive, and the next apply would see them as existing accounts
with nothing to do. With the journal the next apply finishes the rest: an account whose
creation never reached Synapse is created with the password already written down, one
that did is only recorded and its password delivered, and nothing is created, joined or
mailed twice (a mail sent in the instant before its "delivered" mark is the one exception:
it may be sent again). The file is the same secret as a password file under
initial-passwords/ and lives next to it; it is removed when nothing in it is pending.
45 CFR 164.308(a)(7) contingency; 164.312(d) person authentication.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from mautrix.types import UserID

from config.settings import Settings
from provisioning.org.delivery import Credential

JOURNAL_NAME = "provision-journal.jsonl"


def journal_path(settings: Settings) -> Path:
    """Where the journal of this deployment lives."""
    return settings.data_dir / JOURNAL_NAME


class JournalError(Exception):
    """The journal exists but cannot be read (its line is named)."""


class Journal:
    """Initial passwords not yet delivered, by user id (a JSON line per credential, and a
    line per delivery)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: dict[UserID, Credential] = {}
        if path.exists():
            self._read()

    @classmethod
    def of(cls, settings: Settings) -> Journal:
        """The deployment's journal (empty when there is none)."""
        return cls(journal_path(settings))

    def _read(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if "delivered" in entry:
                    self.pending.pop(UserID(entry["delivered"]), None)
                else:
                    cred = Credential(**entry["credential"])
                    self.pending[cred.user_id] = cred
            except (ValueError, KeyError, TypeError):
                # A line cut short by a crash can only be the last one; anything else is damage.
                if number == len(lines):
                    continue
                raise JournalError(f"{self.path}:{number}: not a journal entry") from None

    def _append(self, entries: Iterable[dict[str, object]]) -> None:
        text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries)
        if not text:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    def password_for(self, user_id: UserID) -> str | None:
        """The password already written down for this account, if one is pending."""
        cred = self.pending.get(user_id)
        return cred.password if cred is not None else None

    def write_ahead(self, creds: Iterable[Credential]) -> None:
        """Write these credentials down (one fsync) before their accounts are touched."""
        new = [c for c in creds if self.pending.get(c.user_id) != c]
        self._append({"credential": asdict(c)} for c in new)
        self.pending.update((c.user_id, c) for c in new)

    def delivered(self, user_ids: Iterable[UserID]) -> None:
        """Mark these credentials delivered (one fsync)."""
        done = [u for u in user_ids if u in self.pending]
        self._append({"delivered": u} for u in done)
        for user_id in done:
            del self.pending[user_id]

    def close(self) -> None:
        """Remove the file when nothing in it is pending."""
        if not self.pending:
            self.path.unlink(missing_ok=True)
