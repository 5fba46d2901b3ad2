"""policy.json carries the shifts the module enforces login hours against (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.db.directory import DirectorySnapshot, DirectoryUser
from config.org import Schedule
from policy.module.login_hours import shift_book_from_document
from provisioning.org.policy_file import policy_document


def person(user_id: str, schedule: str | None, active: bool = True) -> DirectoryUser:
    name = user_id[1:].split(":")[0]
    return DirectoryUser(
        user_id, name, name.title(), f"{name}@x.example", "staff", (), schedule, active, "org"
    )  # type: ignore[arg-type]


def test_policy_document_carries_schedules_for_login_hours() -> None:
    strict = Schedule.model_validate(
        {
            "days": ["mon"],
            "start": "07:00",
            "end": "19:00",
            "login_hours_only": True,
            "end_of_shift_logout": True,
        }
    )
    assert strict.grace_minutes == 15 and strict.early_login_minutes == 60
    snapshot = DirectorySnapshot(
        users={
            u.user_id: u
            for u in (person("@a:x", "strict"), person("@b:x", None), person("@c:x", "strict", False))
        },
        schedules={"strict": strict.model_dump(mode="json")},
        settings={"organization": {"name": "Clinic", "timezone": "America/Chicago"}},
    )
    doc = policy_document(snapshot, "@carebridge:x")
    assert doc["user_schedules"] == {"@a:x": "strict"}, "active people with a shift only"
    book = shift_book_from_document(doc)
    spec = book.spec_for("@a:x")
    assert spec is not None and spec.login_hours_only and spec.end_of_shift_logout
    assert str(spec.tz) == "America/Chicago"
    assert book.spec_for("@b:x") is None and book.spec_for("@c:x") is None
    monday_night = datetime(2024, 5, 13, 23, 0, tzinfo=UTC).astimezone(spec.tz)
    assert spec.instance_on(monday_night.date()) is not None
