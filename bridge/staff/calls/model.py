"""Pure call-log logic: reading m.call.* events, the call's outcome, kind and duration.

Spec VoIP v1 (`version: "1"`; version 0 events read the same way). A call is keyed by
(room_id, call_id). 45 CFR 164.312(b) audit controls: who called whom, when, for how
long, and how it ended, without any media or SDP stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

CALL_INVITE = "m.call.invite"
CALL_ANSWER = "m.call.answer"
CALL_REJECT = "m.call.reject"
CALL_HANGUP = "m.call.hangup"
CALL_EVENTS = frozenset({CALL_INVITE, CALL_ANSWER, CALL_REJECT, CALL_HANGUP})
DEFAULT_LIFETIME_MS = 60_000
MAX_LIFETIME_MS = 3_600_000
# How long after an invite's lifetime the bridge waits for a late answer before it
# calls the call missed (events can reach the bridge a moment after they were sent).
MISSED_GRACE_MS = 3_000


class Outcome(StrEnum):
    """Where a call stands."""

    RINGING = "ringing"
    ANSWERED = "answered"
    REJECTED = "rejected"  # the callee pressed "decline" (m.call.reject)
    DECLINED = "declined"  # the callee hung up before answering (version 0 style)
    MISSED = "missed"  # nobody answered: the lifetime ran out or the caller gave up
    REFUSED = "refused"  # more than two people in the room: hung up by the bot


class CallKind(StrEnum):
    """Audio-only or with video."""

    AUDIO = "audio"
    VIDEO = "video"


def call_kind(sdp: str) -> CallKind:
    """Video if the offer has an active video m= line (port not 0), else audio."""
    for line in sdp.splitlines():
        if line.startswith("m=video "):
            parts = line.split()
            if len(parts) > 1 and parts[1] != "0":
                return CallKind.VIDEO
    return CallKind.AUDIO


@dataclass(frozen=True)
class CallEvent:
    """One m.call.* event, reduced to what the log needs."""

    type: str
    room_id: str
    call_id: str
    sender: str
    ts: int
    event_id: str
    version: str
    lifetime_ms: int = DEFAULT_LIFETIME_MS
    kind: CallKind = CallKind.AUDIO
    invitee: str | None = None
    reason: str | None = None

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> CallEvent | None:
        """Read an archived event; None if it is not a well-formed call event."""
        etype = event.get("type")
        content = event.get("content")
        if etype not in CALL_EVENTS or not isinstance(content, Mapping):
            return None
        call_id = content.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            return None
        lifetime = content.get("lifetime")
        lifetime_ms = (
            min(max(int(lifetime), 0), MAX_LIFETIME_MS)
            if isinstance(lifetime, int) and not isinstance(lifetime, bool)
            else DEFAULT_LIFETIME_MS
        )
        offer = content.get("offer")
        sdp = offer.get("sdp") if isinstance(offer, Mapping) else None
        invitee = content.get("invitee")
        reason = content.get("reason")
        return cls(
            type=str(etype),
            room_id=str(event.get("room_id")),
            call_id=call_id,
            sender=str(event.get("sender")),
            ts=int(event.get("origin_server_ts") or 0),
            event_id=str(event.get("event_id")),
            version=str(content.get("version", "0")),
            lifetime_ms=lifetime_ms,
            kind=call_kind(sdp) if isinstance(sdp, str) else CallKind.AUDIO,
            invitee=invitee if isinstance(invitee, str) else None,
            reason=reason[:64] if isinstance(reason, str) else None,
        )


@dataclass(frozen=True)
class CallState:
    """The mutable part of a call-log row."""

    caller: str
    outcome: Outcome
    invite_ts: int
    lifetime_ms: int
    answer_ts: int | None = None
    answered_by: str | None = None
    reject_ts: int | None = None
    rejected_by: str | None = None
    hangup_ts: int | None = None
    hangup_by: str | None = None
    hangup_reason: str | None = None


def apply_event(state: CallState, event: CallEvent) -> CallState:
    """The call after `event` (answer, reject or hangup). Later duplicates change nothing."""
    if event.type == CALL_ANSWER:
        if state.outcome in (Outcome.RINGING, Outcome.MISSED) and state.answer_ts is None:
            return replace(state, outcome=Outcome.ANSWERED, answer_ts=event.ts, answered_by=event.sender)
        return state
    if event.type == CALL_REJECT:
        if state.outcome is Outcome.RINGING:
            return replace(state, outcome=Outcome.REJECTED, reject_ts=event.ts, rejected_by=event.sender)
        return state
    if event.type == CALL_HANGUP and state.hangup_ts is None:
        ended = replace(state, hangup_ts=event.ts, hangup_by=event.sender, hangup_reason=event.reason)
        if state.outcome is Outcome.RINGING:
            outcome = Outcome.MISSED if event.sender == state.caller else Outcome.DECLINED
            return replace(ended, outcome=outcome)
        return ended
    return state


def missed_due_ms(invite_ts: int, lifetime_ms: int) -> int:
    """When a still-ringing call becomes missed (its lifetime plus a short grace)."""
    return invite_ts + lifetime_ms + MISSED_GRACE_MS


def duration_ms(answer_ts: int | None, hangup_ts: int | None) -> int | None:
    """Talk time: from answer to hangup; None if never answered or not over yet."""
    if answer_ts is None or hangup_ts is None:
        return None
    return max(hangup_ts - answer_ts, 0)


def person_to_person_violation(joined_members: int) -> bool:
    """Calls are one-to-one: an invite in a room with more than two people is refused."""
    return joined_members > 2
