"""No end-to-end encryption: the archive must be able to read what it keeps.

Pure decisions (no I/O). Rooms are still encrypted in transit (TLS) and the archive seals
every event at rest (AES-256-GCM), but end-to-end encrypted rooms would leave the
organisation without a readable record (45 CFR 164.312(b) audit controls).
"""

from __future__ import annotations

from typing import Any

from policy.decision import Decision
from policy.redaction import ALLOW, RetentionReason

ENCRYPTION_EVENT = "m.room.encryption"
ENCRYPTED_EVENT = "m.room.encrypted"
ENCRYPTION_DISABLED = "ORG.CAREBRIDGE.ENCRYPTION_DISABLED"
ENCRYPTION_MESSAGE = (
    "End-to-end encryption is turned off on this server: every message must stay readable "
    "to the organisation's compliance archive (HIPAA audit controls). Messages are still "
    "protected in transit and encrypted at rest in the archive."
)


def decide_encryption_event(event_type: str, is_state: bool) -> Decision:
    """Refuse turning on E2EE (an m.room.encryption state event) and any end-to-end
    encrypted timeline event (m.room.encrypted), which the archive could not read."""
    if (event_type == ENCRYPTION_EVENT and is_state) or event_type == ENCRYPTED_EVENT:
        return Decision(False, RetentionReason.ENCRYPTION_REFUSED, ENCRYPTION_MESSAGE, ENCRYPTION_DISABLED)
    return ALLOW


def strip_encryption(initial_state: object) -> tuple[list[Any], int]:
    """Drop m.room.encryption from a createRoom `initial_state`; returns (kept, dropped).

    Clients such as Element put it there for every new DM; dropping it (instead of
    refusing the whole request) lets staff start DMs as usual, unencrypted and archived.
    """
    if not isinstance(initial_state, list):
        return [], 0
    kept = [
        item
        for item in initial_state
        if not (isinstance(item, dict) and item.get("type") == ENCRYPTION_EVENT)
    ]
    return kept, len(initial_state) - len(kept)
