"""org.yaml `roles:` and `rota:` (with an imported iCalendar file): valid files expand to
stretches of time; every mistake names file:line:column and nothing is accepted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.org_load import load_org
from config.org_rota import expand_rota
from config.yamlfile import load_yaml

ORG = """\
organization: {name: Clinic, timezone: America/Chicago}
groups: {er-nurses: {}, supervisors: {}}
schedules:
  er-days: {days: [mon, tue, wed, thu, fri, sat, sun], start: "07:00", end: "19:00"}
  er-nights: {days: [mon, tue, wed, thu, fri, sat, sun], start: "19:00", end: "07:00"}
users:
  - {username: bokafor, display_name: Blessing Okafor, email: b@x.example, groups: [er-nurses]}
  - {username: asmith, display_name: Alex Smith, email: a@x.example, groups: [er-nurses]}
  - {username: hsup, display_name: Hana Sup, email: h@x.example, groups: [supervisors]}
roles:
  er-charge-nurse:
    display_name: ER charge nurse
    schedule: er-days
    members: [group:er-nurses]
    backup: role:house-supervisor
    escalation_minutes: 3
  house-supervisor: {display_name: House supervisor, members: [group:supervisors, user:asmith]}
rota:
  - {role: er-charge-nurse, user: bokafor, from: 2026-12-01, until: 2026-12-02}
  - {role: er-charge-nurse, user: asmith, shift: er-nights, from: 2026-12-01}
  - {role: house-supervisor, user: hsup, start: "2026-12-01 00:00", end: "2026-12-08 00:00"}
"""

ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Rota//EN
BEGIN:VEVENT
UID:one@test
DTSTART;TZID=America/Chicago:20261203T070000
DTEND;TZID=America/Chicago:20261203T190000
SUMMARY:ER charge nurse
ATTENDEE:mailto:A@X.EXAMPLE
END:VEVENT
BEGIN:VEVENT
UID:two@test
DTSTART:20261204T130000Z
DURATION:PT12H
X-CAREBRIDGE-ROLE:house-supervisor
X-CAREBRIDGE-USER:hsup
RRULE:FREQ=DAILY;COUNT=3
EXDATE:20261205T130000Z
END:VEVENT
END:VCALENDAR
"""


def write(tmp_path: Path, text: str, ics: str | None = None) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    if ics is not None:
        (tmp_path / "rota.ics").write_text(ics)
    return path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_rota_from_the_org_file_and_an_icalendar_file(tmp_path: Path) -> None:
    path = write(tmp_path, ORG + "  - {file: rota.ics}\n", ICS)
    org = load_org(path)
    assert org.roles["er-charge-nurse"].backup == "role:house-supervisor"
    shifts, issues = expand_rota(org, load_yaml(path))
    assert issues == []
    days = [
        (s.username, s.start, s.end)
        for s in shifts
        if s.role == "er-charge-nurse" and s.ref.startswith("org")
    ]
    # 07:00-19:00 Chicago (UTC-6 in December) on Dec 1 and 2; nights 19:00-07:00 on Dec 1 only.
    assert days == [
        ("bokafor", utc(2026, 12, 1, 13), utc(2026, 12, 2, 1)),
        ("bokafor", utc(2026, 12, 2, 13), utc(2026, 12, 3, 1)),
        ("asmith", utc(2026, 12, 2, 1), utc(2026, 12, 2, 13)),
    ]
    imported = [(s.role, s.username, s.start, s.ref) for s in shifts if s.ref.startswith("rota.ics")]
    assert imported == [
        ("er-charge-nurse", "asmith", utc(2026, 12, 3, 13), "rota.ics:4"),
        ("house-supervisor", "hsup", utc(2026, 12, 4, 13), "rota.ics:11"),
        ("house-supervisor", "hsup", utc(2026, 12, 6, 13), "rota.ics:11"),  # Dec 5 excluded
    ]


@pytest.mark.parametrize(
    ("extra", "where", "message"),
    [
        (
            "  - {role: er-charge-nurse, user: hsup, from: 2026-12-01}\n",
            "org.yaml:22:",
            "not a member of role",
        ),
        ("  - {role: nobody, user: hsup, from: 2026-12-01}\n", "org.yaml:22:", "undefined role 'nobody'"),
        ("  - {role: house-supervisor, user: hsup, from: 2026-12-01}\n", "org.yaml:22:", "needs `shift:`"),
        (
            '  - {role: house-supervisor, user: hsup, start: "2026-12-01 09:00", end: "2026-12-01 08:00"}\n',
            "org.yaml:22:",
            "`end:` must be after `start:`",
        ),
        ("  - {file: missing.ics}\n", "org.yaml:22:", "iCalendar file not found"),
    ],
)
def test_rota_mistakes_name_the_line(tmp_path: Path, extra: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_org(write(tmp_path, ORG + extra))
    text = str(caught.value)
    assert where in text and message in text, text


def test_icalendar_mistakes_name_the_file_and_event_line(tmp_path: Path) -> None:
    bad = ICS.replace("X-CAREBRIDGE-USER:hsup", "X-CAREBRIDGE-USER:bokafor")
    with pytest.raises(ConfigError) as caught:
        load_org(write(tmp_path, ORG + "  - {file: rota.ics}\n", bad))
    assert "rota.ics:11:1: ATTENDEE: 'bokafor' is not a member of role 'house-supervisor'" in str(
        caught.value
    )
    garbage = "BEGIN:VCALENDAR\nthis is not\n"
    with pytest.raises(ConfigError) as caught:
        load_org(write(tmp_path, ORG + "  - {file: rota.ics}\n", garbage))
    assert "rota.ics:1:1:" in str(caught.value) and "not a valid iCalendar file" in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("backup: role:house-supervisor", "backup: role:nope", "org.yaml:15:", "undefined role 'nope'"),
        ("members: [group:er-nurses]", "members: [group:nope]", "org.yaml:14:", "undefined group 'nope'"),
        ("schedule: er-days", "schedule: nope", "org.yaml:13:", "undefined schedule 'nope'"),
        ("escalation_minutes: 3", "escalation_minutes: 0", "org.yaml:16:", "greater than or equal to 1"),
        (
            "members: [group:supervisors, user:asmith]}",
            "members: [group:supervisors], backup: role:er-charge-nurse}",
            "org.yaml:",
            "backup loop",
        ),
    ],
)
def test_role_mistakes_name_the_line(tmp_path: Path, old: str, new: str, where: str, message: str) -> None:
    assert old in ORG
    with pytest.raises(ConfigError) as caught:
        load_org(write(tmp_path, ORG.replace(old, new)))
    text = str(caught.value)
    assert where in text and message in text, text
