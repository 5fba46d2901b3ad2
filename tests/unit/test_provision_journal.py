"""The apply journal (provisioning.org.journal): what an interrupted apply leaves behind is
read back exactly; a line cut short by the crash is ignored, damage elsewhere is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from mautrix.types import UserID

from provisioning.org.delivery import Credential
from provisioning.org.journal import Journal, JournalError


def cred(n: int, reason: str = "new") -> Credential:
    return Credential(UserID(f"@u{n}:t"), f"u{n}", f"U {n}", f"u{n}@x.example", f"Pw-{n}-secret!", reason)  # type: ignore[arg-type]


def test_pending_until_delivered_then_the_file_goes(tmp_path: Path) -> None:
    path = tmp_path / "provision-journal.jsonl"
    journal = Journal(path)
    journal.write_ahead([cred(1), cred(2), cred(3, "reactivated")])
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    journal.delivered([UserID("@u2:t")])
    again = Journal(path)  # as the next apply reads it
    assert sorted(again.pending) == ["@u1:t", "@u3:t"]
    assert (
        again.password_for(UserID("@u3:t")) == "Pw-3-secret!"
        and again.pending[UserID("@u3:t")].reason == "reactivated"
    )
    again.write_ahead([cred(1)])  # already written: not written twice
    assert path.read_text().count('"@u1:t"') == 1
    again.delivered([UserID("@u1:t"), UserID("@u3:t")])
    again.close()
    assert not path.exists()


def test_a_line_cut_short_by_a_crash_is_ignored_damage_elsewhere_is_named(tmp_path: Path) -> None:
    path = tmp_path / "provision-journal.jsonl"
    Journal(path).write_ahead([cred(1), cred(2)])
    text = path.read_text()
    path.write_text(text + '{"credential": {"user_id": "@u3:t", "passw')
    assert sorted(Journal(path).pending) == ["@u1:t", "@u2:t"]
    lines = text.splitlines()
    path.write_text("\n".join([lines[0], "not json", lines[1]]) + "\n")
    with pytest.raises(JournalError, match=r"provision-journal.jsonl:2: not a journal entry"):
        Journal(path)
