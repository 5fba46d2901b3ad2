"""Who is expected on a shift: a person is expected when their shift overlaps, by at least
a minute, the time their account was active and on that schedule (pure rules of
policy/shifts.py and the roster's Person.span)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.org.roster import Person
from policy.shifts import ActiveSpan, SessionFacts, Status, evaluate_day, spec_from_definition

TZ = "America/Chicago"
CHICAGO = ZoneInfo(TZ)
WED = date(2024, 5, 15)
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LATE_EVENING = spec_from_definition("late-evening", {"days": EVERY_DAY, "start": "20:13", "end": "00:13"}, TZ)
DAY = spec_from_definition("day", {"days": EVERY_DAY, "start": "08:00", "end": "16:30"}, TZ)


def at(hhmm: str, seconds: int = 0, day: date = WED) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, seconds, tzinfo=CHICAGO)


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def test_account_made_during_the_shift_is_expected_and_missing_until_she_signs_in() -> None:
    """Account exists from 22:07; shift 20:13-00:13; still not signed in: missing (the
    shift's start + grace, 20:28, has long passed). Before, she was left out because her
    account did not exist at 20:13."""
    span = Person("@ann:hs", active_from_ms=ms(at("22:07", 41))).span
    for now in (at("22:07", 50), at("22:30"), at("23:59")):
        result = evaluate_day(LATE_EVENING, WED, [], now, span)
        assert (result.status, result.shift is not None) == (Status.MISSING, True), now
    signed_in = [SessionFacts(at("22:20"), None)]
    assert evaluate_day(LATE_EVENING, WED, signed_in, at("22:30"), span).status is Status.LATE


def test_account_made_after_the_whole_shift_is_not_expected() -> None:
    """Account created 16:45, after the 08:00-16:30 shift: not expected that day. Signing
    in at 17:00 is an off-shift sign-in, not a missing person."""
    span = Person("@bea:hs", active_from_ms=ms(at("16:45"))).span
    evening = at("18:00")
    assert evaluate_day(DAY, WED, [], evening, span).status is Status.DAY_OFF
    signed_in = evaluate_day(DAY, WED, [SessionFacts(at("17:00"), None)], evening, span)
    assert (signed_in.status, signed_in.shift, signed_in.logins) == (Status.OFF_SHIFT, None, 1)
    tomorrow = WED + timedelta(days=1)
    assert evaluate_day(DAY, tomorrow, [], at("18:00", day=tomorrow), span).status is Status.MISSING


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (at("16:29", 59), True),  # the minute 16:29 is in the shift
        (at("16:30", 0), False),  # the shift has ended
        (at("16:30", 40), False),
        (at("07:59", 59), True),
    ],
)
def test_account_start_counts_to_the_minute(created: datetime, expected: bool) -> None:
    span = ActiveSpan(start=created.astimezone(UTC))
    result = evaluate_day(DAY, WED, [], at("20:00"), span)
    assert (result.status is Status.MISSING) is expected, result


@pytest.mark.parametrize(
    ("ended", "expected"),
    [(at("08:00", 59), False), (at("08:01", 0), True), (at("07:30"), False), (at("17:00"), True)],
)
def test_deactivation_counts_to_the_minute(ended: datetime, expected: bool) -> None:
    """Deactivated during the 08:00 minute: the account never had a whole minute of the shift."""
    person = Person(
        "@cat:hs",
        active=False,
        active_from_ms=ms(at("00:00", day=date(2024, 1, 1))),
        active_until_ms=ms(ended),
    )
    result = evaluate_day(DAY, WED, [], at("20:00"), person.span)
    assert (result.status is Status.MISSING) is expected, result


def test_a_new_schedule_counts_from_when_it_was_given() -> None:
    """On the late-evening schedule since Wednesday 23:00 (the account is years old): expected
    on Wednesday's shift (it runs to 00:13), not on Tuesday's."""
    old_account = ms(at("09:00", day=date(2020, 1, 1)))
    person = Person(
        "@dan:hs", schedule="late-evening", active_from_ms=old_account, schedule_since_ms=ms(at("23:00"))
    )
    tue = WED - timedelta(days=1)
    assert evaluate_day(LATE_EVENING, tue, [], at("23:30"), person.span).status is Status.DAY_OFF
    assert evaluate_day(LATE_EVENING, WED, [], at("23:30"), person.span).status is Status.MISSING
    moved_before = Person("@dan:hs", active_from_ms=old_account, schedule_since_ms=ms(at("00:13", day=WED)))
    assert evaluate_day(LATE_EVENING, tue, [], at("23:30"), moved_before.span).status is Status.DAY_OFF


def test_a_deactivated_account_whose_end_is_unknown_is_never_expected() -> None:
    span = Person("@eve:hs", active=False).span
    assert not span.covers(at("12:00"))
    assert evaluate_day(DAY, WED, [], at("20:00"), span).status is Status.DAY_OFF


def test_without_a_span_everyone_on_the_schedule_is_expected() -> None:
    assert evaluate_day(DAY, WED, [], at("20:00")).status is Status.MISSING
    assert Person("@fay:hs").span == ActiveSpan()
