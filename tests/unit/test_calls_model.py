"""Pure call-log logic: SDP kind, outcome transitions, duration, the missed deadline."""

from __future__ import annotations

from bridge.staff.calls.model import (
    CALL_ANSWER,
    CALL_HANGUP,
    CALL_REJECT,
    MISSED_GRACE_MS,
    CallEvent,
    CallKind,
    CallState,
    Outcome,
    apply_event,
    call_kind,
    duration_ms,
    missed_due_ms,
    person_to_person_violation,
)

AUDIO_SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
VIDEO_SDP = AUDIO_SDP + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
DISABLED_VIDEO = AUDIO_SDP + "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n"


def ev(etype: str, sender: str, ts: int, **content: object) -> CallEvent:
    parsed = CallEvent.parse(
        {
            "type": etype,
            "room_id": "!r:hs",
            "sender": sender,
            "origin_server_ts": ts,
            "event_id": f"${ts}",
            "content": {"call_id": "c1", "version": "1", **content},
        }
    )
    assert parsed is not None
    return parsed


def test_kind_from_sdp() -> None:
    assert call_kind(AUDIO_SDP) is CallKind.AUDIO
    assert call_kind(VIDEO_SDP) is CallKind.VIDEO
    assert call_kind(DISABLED_VIDEO) is CallKind.AUDIO


def test_parse_invite() -> None:
    invite = ev("m.call.invite", "@a:hs", 1000, lifetime=30000, offer={"type": "offer", "sdp": VIDEO_SDP})
    assert invite.kind is CallKind.VIDEO and invite.lifetime_ms == 30000 and invite.version == "1"
    assert CallEvent.parse({"type": "m.call.invite", "content": {}}) is None
    assert CallEvent.parse({"type": "m.room.message", "content": {"call_id": "x"}}) is None


RINGING = CallState(caller="@a:hs", outcome=Outcome.RINGING, invite_ts=1000, lifetime_ms=60000)


def test_answered_then_hung_up() -> None:
    answered = apply_event(RINGING, ev(CALL_ANSWER, "@b:hs", 3000))
    assert answered.outcome is Outcome.ANSWERED and answered.answer_ts == 3000
    ended = apply_event(answered, ev(CALL_HANGUP, "@b:hs", 63000, reason="user_hangup"))
    assert ended.outcome is Outcome.ANSWERED and ended.hangup_reason == "user_hangup"
    assert duration_ms(ended.answer_ts, ended.hangup_ts) == 60000
    assert apply_event(ended, ev(CALL_HANGUP, "@a:hs", 64000)) == ended  # second hangup ignored


def test_reject_decline_and_caller_giving_up() -> None:
    assert apply_event(RINGING, ev(CALL_REJECT, "@b:hs", 2000)).outcome is Outcome.REJECTED
    assert apply_event(RINGING, ev(CALL_HANGUP, "@b:hs", 2000)).outcome is Outcome.DECLINED
    gave_up = apply_event(RINGING, ev(CALL_HANGUP, "@a:hs", 61000, reason="invite_timeout"))
    assert gave_up.outcome is Outcome.MISSED
    assert duration_ms(gave_up.answer_ts, gave_up.hangup_ts) is None


def test_missed_deadline_and_person_to_person() -> None:
    assert missed_due_ms(1000, 60000) == 61000 + MISSED_GRACE_MS
    assert not person_to_person_violation(2)
    assert person_to_person_violation(3)


def test_report_rows_and_day_bounds() -> None:
    from datetime import date, timedelta, timezone

    from bridge.core.clock import day_bounds
    from bridge.staff.calls.report import call_rows, format_duration
    from bridge.staff.calls.store import CallRecord

    tz = timezone(timedelta(hours=-5))
    start, end = day_bounds(date(2024, 5, 15), tz)
    assert end - start == 86_400_000 and start == 1715749200000
    assert (
        format_duration(None) == ""
        and format_duration(61_400) == "1:01"
        and format_duration(3_726_000) == "1:02:06"
    )
    record = CallRecord(
        room_id="!r:hs",
        call_id="c",
        caller="@a:hs",
        callee="@b:hs",
        kind="video",
        invite_ts=start + 3_600_000,
        lifetime_ms=60_000,
        joined_members=2,
        outcome=Outcome.ANSWERED,
        answer_ts=start + 3_605_000,
        reject_ts=None,
        hangup_ts=start + 3_665_000,
        hangup_by="@b:hs",
        hangup_reason="user_hangup",
        notice_event_id=None,
    )
    assert call_rows([record], tz) == (
        (
            "2024-05-15 01:00:00",
            "@a:hs",
            "@b:hs",
            "video",
            "answered",
            "1:00",
            "@b:hs",
            "user_hangup",
            "!r:hs",
        ),
    )
