"""Pure retention rules: redactions, room shutdown and E2EE (no I/O)."""

from __future__ import annotations

import pytest

from policy.encryption import ENCRYPTION_DISABLED, decide_encryption_event, strip_encryption
from policy.redaction import HISTORY_RETAINED, RetentionReason, decide_redaction, decide_room_shutdown

BOT = "@carebridge:hs"


@pytest.mark.parametrize(
    ("sender", "local", "reason"),
    [
        ("@nurse:hs", True, RetentionReason.REDACTION_BY_LOCAL_USER),
        (BOT, True, RetentionReason.REDACTION_BY_BOT),
        ("@x:elsewhere", False, RetentionReason.REDACTION_BY_REMOTE_USER),
    ],
)
def test_every_redaction_is_refused(sender: str, local: bool, reason: RetentionReason) -> None:
    decision = decide_redaction("m.room.redaction", sender, local, BOT)
    assert not decision.allowed
    assert decision.reason is reason
    assert decision.errcode == HISTORY_RETAINED
    assert decision.message and "cannot be deleted" in decision.message


@pytest.mark.parametrize("event_type", ["m.room.message", "m.reaction", "m.room.member", "m.room.redactionx"])
def test_other_events_are_allowed(event_type: str) -> None:
    assert decide_redaction(event_type, "@nurse:hs", True, BOT).allowed
    assert decide_encryption_event(event_type, True).allowed


@pytest.mark.parametrize("requester", ["@admin:hs", None])
def test_room_shutdown_is_refused(requester: str | None) -> None:
    decision = decide_room_shutdown(requester, "!r:hs")
    assert not decision.allowed and decision.reason is RetentionReason.ROOM_RETAINED


def test_encryption_state_event_is_refused_but_not_a_timeline_event() -> None:
    refused = decide_encryption_event("m.room.encryption", is_state=True)
    assert not refused.allowed and refused.errcode == ENCRYPTION_DISABLED
    assert refused.message and "archive" in refused.message
    assert decide_encryption_event("m.room.encryption", is_state=False).allowed
    assert not decide_encryption_event("m.room.encrypted", is_state=False).allowed


def test_strip_encryption_from_initial_state() -> None:
    name = {"type": "m.room.name", "state_key": "", "content": {"name": "x"}}
    enc = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
    assert strip_encryption([enc, name, enc]) == ([name], 2)
    assert strip_encryption([name]) == ([name], 0)
    assert strip_encryption("garbage") == ([], 0)
