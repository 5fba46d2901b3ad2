"""The Synapse module's session outbox keeps records across a restart, in order, 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from policy.module.outbox import SessionOutbox, outbox_path


def test_records_survive_reopening_in_order_and_leave_when_sent(tmp_path: Path) -> None:
    """What was put and not removed is there after the file is opened again (a crash)."""
    path = outbox_path(str(tmp_path / "outbox"), None)
    assert path is not None
    box = SessionOutbox(path)
    box.put("org.carebridge.session", {"kind": "login", "ts": 1})
    box.put("org.carebridge.account", {"kind": "password_change", "ts": 2})
    box.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = SessionOutbox(path)
    first = again.oldest()
    assert first is not None and first[1] == ("org.carebridge.session", {"kind": "login", "ts": 1})
    again.remove(first[0])
    second = again.oldest()
    assert len(again) == 1 and second is not None
    assert second[1] == ("org.carebridge.account", {"kind": "password_change", "ts": 2})
    assert outbox_path("/data/outbox", "worker1") == Path("/data/outbox/session-outbox-worker1.sqlite3")


def test_without_a_directory_the_outbox_is_in_memory() -> None:
    """No outbox_dir configured: the same queue, kept in memory."""
    box = SessionOutbox(None)
    box.put("org.carebridge.session", {"kind": "login"})
    item = box.oldest()
    assert item is not None
    box.remove(item[0])
    assert len(box) == 0 and box.oldest() is None
