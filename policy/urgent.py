"""Urgent messages: what marks a message urgent, and what is due for one at an instant
(pure, no I/O).

A message is urgent when its content carries `org.carebridge.urgent: true` (the field
any Matrix client can set; the Carebridge web client sets it) or its body starts with the
keyword `!urgent` (for Element and other clients without the control). Until it is read
(a read receipt covering it), its recipients are alerted again every `repeat_ms`; once it
has waited `escalate_ms` unread, it goes to the backup and the sender is told. Timers are
computed from stored facts, so a restarted bridge continues where it stopped.
45 CFR 164.312(b) audit controls (every alert and escalation is an archived record);
164.308(a)(6) security incident procedures (an unanswered urgent message is not lost).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from policy.event_types import URGENT_KEY

URGENT_FIELD = URGENT_KEY
KEYWORD = "!urgent"
DEFAULT_REPEAT_MS = 120_000
DEFAULT_ESCALATE_MS = 5 * 60_000
_KEYWORD = re.compile(r"^\s*!urgent(?:\s+|$)", re.IGNORECASE)


def is_urgent(content: Mapping[str, Any]) -> bool:
    """Does this m.room.message content ask to be urgent (field or keyword)?"""
    if content.get(URGENT_FIELD) is True:
        return True
    body = content.get("body")
    return isinstance(body, str) and _KEYWORD.match(body) is not None


def without_keyword(body: str) -> str:
    """The body with a leading `!urgent` keyword removed (for the copy sent on escalation)."""
    return _KEYWORD.sub("", body, count=1)


class Step(StrEnum):
    """What the timer does for an urgent message now."""

    WAIT = "wait"  # nothing due yet
    ALERT = "alert"  # alert the recipients again
    ESCALATE = "escalate"  # unread too long: to the backup, and tell the sender
    DONE = "done"  # read, escalated already, or cancelled: the timers stop


class StepReason(StrEnum):
    """Why."""

    READ = "read"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"
    REPEAT_DUE = "repeat_due"
    ESCALATION_DUE = "escalation_due"
    NOT_DUE = "not_due"
    NO_BACKUP_YET = "no_backup_yet"  # escalation time passed but escalation is off


@dataclass(frozen=True)
class UrgentFacts:
    """One urgent message's timers, as stored."""

    sent_ms: int
    read_ms: int | None = None
    last_alert_ms: int | None = None
    escalated_ms: int | None = None
    cancelled: bool = False
    repeat_ms: int = DEFAULT_REPEAT_MS
    escalate_ms: int | None = DEFAULT_ESCALATE_MS  # None: never escalates (no backup configured)


@dataclass(frozen=True)
class UrgentDecision:
    """The step due now, why, and when the next one falls due (None: never)."""

    step: Step
    reason: StepReason
    next_due_ms: int | None = None


def next_step(facts: UrgentFacts, now_ms: int) -> UrgentDecision:
    """Decide the urgent message's step at `now_ms`.

    Read, escalated or cancelled: DONE. Else escalation when `escalate_ms` has passed since
    it was sent; else a repeat alert when `repeat_ms` has passed since the last alert (or
    the message itself). Escalation wins over an alert due at the same instant.
    """
    if facts.read_ms is not None:
        return UrgentDecision(Step.DONE, StepReason.READ)
    if facts.escalated_ms is not None:
        return UrgentDecision(Step.DONE, StepReason.ESCALATED)
    if facts.cancelled:
        return UrgentDecision(Step.DONE, StepReason.CANCELLED)
    escalate_at = facts.sent_ms + facts.escalate_ms if facts.escalate_ms is not None else None
    alert_at = (facts.last_alert_ms if facts.last_alert_ms is not None else facts.sent_ms) + facts.repeat_ms
    if escalate_at is not None and now_ms >= escalate_at:
        return UrgentDecision(Step.ESCALATE, StepReason.ESCALATION_DUE, now_ms)
    if now_ms >= alert_at:
        following = now_ms + facts.repeat_ms
        due = min(following, escalate_at) if escalate_at is not None else following
        return UrgentDecision(Step.ALERT, StepReason.REPEAT_DUE, due)
    due = min(alert_at, escalate_at) if escalate_at is not None else alert_at
    return UrgentDecision(Step.WAIT, StepReason.NOT_DUE, due)


def minutes_text(ms: int) -> str:
    """ "5 min", "90 s": how long, for notices to people."""
    if ms % 60_000 == 0:
        return f"{ms // 60_000} min"
    if ms >= 60_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms // 1000} s"
