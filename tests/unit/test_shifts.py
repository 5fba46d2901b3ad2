"""Pure shift rules: on time, late, missing, stayed logged in, off shift; login hours; automatic logoff."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from policy.shifts import (
    Flag,
    SessionFacts,
    Status,
    evaluate_day,
    login_decision,
    logout_due,
    spec_from_definition,
)

TZ = "America/Chicago"
CHICAGO = ZoneInfo(TZ)
WED = date(2024, 5, 15)  # a Wednesday
DAY_SHIFT = spec_from_definition(
    "day-shift", {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "19:00"}, TZ
)
WEEKEND = spec_from_definition(
    "weekend", {"days": ["sat", "sun"], "start": "07:00", "end": "19:00", "grace_minutes": 15}, TZ
)
NIGHT = spec_from_definition(
    "night", {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "19:00", "end": "07:00"}, TZ
)


def at(day: date, hhmm: str, seconds: int = 0) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, seconds, tzinfo=CHICAGO)


def session(login: datetime | None, logout: datetime | None = None) -> SessionFacts:
    return SessionFacts(login=login, logout=logout)


NEXT_MORNING = at(WED + timedelta(days=1), "08:00")


def test_schedule_defaults_to_fifteen_minutes_grace() -> None:
    assert DAY_SHIFT.grace == timedelta(minutes=15)
    assert not DAY_SHIFT.end_of_shift_logout and not DAY_SHIFT.login_hours_only


def test_on_time() -> None:
    result = evaluate_day(DAY_SHIFT, WED, [session(at(WED, "06:55"), at(WED, "19:05"))], NEXT_MORNING)
    assert result.status is Status.ON_TIME and not result.flags
    assert result.first_login == at(WED, "06:55") and result.last_logout == at(WED, "19:05")


def test_late() -> None:
    result = evaluate_day(DAY_SHIFT, WED, [session(at(WED, "07:40"), at(WED, "19:00"))], NEXT_MORNING)
    assert result.status is Status.LATE and not result.flags


def test_missing() -> None:
    assert evaluate_day(DAY_SHIFT, WED, [], NEXT_MORNING).status is Status.MISSING


def test_stayed_logged_in() -> None:
    result = evaluate_day(DAY_SHIFT, WED, [session(at(WED, "06:59"))], NEXT_MORNING)
    assert result.status is Status.ON_TIME
    assert result.flags == {Flag.STAYED_LOGGED_IN}


def test_logged_out_within_grace_did_not_stay() -> None:
    result = evaluate_day(DAY_SHIFT, WED, [session(at(WED, "06:59"), at(WED, "19:14"))], NEXT_MORNING)
    assert Flag.STAYED_LOGGED_IN not in result.flags


def test_off_shift_person_logs_in_on_a_day_off() -> None:
    result = evaluate_day(WEEKEND, WED, [session(at(WED, "10:00"), at(WED, "11:00"))], NEXT_MORNING)
    assert result.status is Status.OFF_SHIFT
    assert evaluate_day(WEEKEND, WED, [], NEXT_MORNING).status is Status.DAY_OFF


def test_login_outside_the_window_on_a_working_day_is_flagged() -> None:
    sessions = [session(at(WED, "07:00"), at(WED, "19:00")), session(at(WED, "22:00"), at(WED, "22:30"))]
    result = evaluate_day(DAY_SHIFT, WED, sessions, NEXT_MORNING)
    assert result.status is Status.ON_TIME and result.flags == {Flag.OFF_SHIFT_LOGIN}
    assert result.logins == 2


def test_a_late_night_login_does_not_count_for_the_shift() -> None:
    result = evaluate_day(DAY_SHIFT, WED, [session(at(WED, "02:00"), at(WED, "03:00"))], NEXT_MORNING)
    assert result.status is Status.MISSING and result.flags == {Flag.OFF_SHIFT_LOGIN}


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        (at(WED, "07:15"), Status.ON_TIME),
        (at(WED, "07:15", 1), Status.LATE),
        (at(WED, "06:00"), Status.ON_TIME),
    ],
)
def test_grace_boundary(login: datetime, expected: Status) -> None:
    assert evaluate_day(DAY_SHIFT, WED, [session(login)], NEXT_MORNING).status is expected


def test_pending_until_start_plus_grace() -> None:
    assert evaluate_day(DAY_SHIFT, WED, [], at(WED, "07:14")).status is Status.PENDING
    assert evaluate_day(DAY_SHIFT, WED, [], at(WED, "07:15")).status is Status.MISSING


def test_stayed_logged_in_is_only_known_after_end_plus_grace() -> None:
    open_session = [session(at(WED, "07:00"))]
    assert evaluate_day(DAY_SHIFT, WED, open_session, at(WED, "19:10")).flags == set()
    assert evaluate_day(DAY_SHIFT, WED, open_session, at(WED, "19:15")).flags == {Flag.STAYED_LOGGED_IN}


def test_overnight_shift_belongs_to_its_start_day() -> None:
    thu = WED + timedelta(days=1)
    sessions = [session(at(WED, "18:30"), at(thu, "07:05")), session(at(thu, "06:00"), at(thu, "06:30"))]
    now = at(thu, "12:00")
    wed = evaluate_day(NIGHT, WED, sessions, now)
    assert wed.status is Status.ON_TIME and not wed.flags
    assert wed.shift is not None and wed.shift.end == at(thu, "07:00")
    # Thursday: the 06:00 login falls in Wednesday's night shift, not off shift.
    assert Flag.OFF_SHIFT_LOGIN not in evaluate_day(NIGHT, thu, sessions, now).flags


def test_daylight_saving_change_keeps_wall_clock_times() -> None:
    spring = date(2024, 3, 9)  # Chicago moves clocks forward at 02:00 on the 10th
    instance = NIGHT.instance_on(spring)
    assert instance is not None
    assert instance.end - instance.start == timedelta(hours=11)
    assert instance.end.astimezone(CHICAGO).hour == 7


def test_login_hours_enforced_only_when_enabled() -> None:
    assert login_decision(DAY_SHIFT, at(WED, "23:00")).allowed
    assert login_decision(None, at(WED, "23:00")).reason == "unscheduled"


def test_login_hours_window() -> None:
    strict = replace(DAY_SHIFT, login_hours_only=True)
    assert not login_decision(strict, at(WED, "05:59")).allowed
    assert login_decision(strict, at(WED, "06:00")).allowed  # 60 minutes early login
    assert login_decision(strict, at(WED, "18:59")).allowed
    refused = login_decision(strict, at(WED, "19:00"))
    assert not refused.allowed and refused.reason == "outside_allowed_hours"
    assert "07:00-19:00" in refused.message and "Thu 16 May 06:00" in refused.message
    assert not login_decision(strict, at(date(2024, 5, 18), "10:00")).allowed  # Saturday


def test_end_of_shift_logout_due_after_end_plus_grace() -> None:
    strict = replace(DAY_SHIFT, end_of_shift_logout=True)
    worked = session(at(WED, "07:00"))
    evening = session(at(WED, "19:30"))  # an allowed off-shift login after the shift ended
    closed = session(at(WED, "07:00"), at(WED, "12:00"))
    assert logout_due(strict, [worked], at(WED, "19:14")) == []
    due = logout_due(strict, [worked, evening, closed], at(WED, "20:00"))
    assert due == [worked]
    next_day = logout_due(strict, [evening], at(WED + timedelta(days=1), "19:15"))
    assert next_day == [evening]
    assert logout_due(DAY_SHIFT, [worked], at(WED, "20:00")) == []


def test_end_of_shift_logout_not_before_grace_has_passed() -> None:
    strict = replace(DAY_SHIFT, end_of_shift_logout=True)
    tuesday_evening = at(WED - timedelta(days=1), "19:15")
    # A session opened Wednesday morning is not due at 19:14 (Tuesday's end already passed
    # before it started).
    assert logout_due(strict, [session(at(WED, "07:00"))], at(WED, "19:14")) == []
    assert logout_due(strict, [session(tuesday_evening - timedelta(hours=1))], at(WED, "19:14")) != []


def test_bad_definitions_raise() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        spec_from_definition("x", {"days": ["mon"], "start": "7:00", "end": "19:00"}, TZ)
    with pytest.raises(ValueError, match="not in tuple"):
        spec_from_definition("x", {"days": ["funday"], "start": "07:00", "end": "19:00"}, TZ)
