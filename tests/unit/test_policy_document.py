"""policy.json carries the shifts the module enforces login hours against (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bridge.db.directory import DirectorySnapshot, DirectoryUser
from config.org import Schedule
from policy.module.login_hours import shift_book_from_document
from policy.module.policy_file import PolicyFile
from policy.policy_document import POLICY_FILE_NAME, PolicyDocument
from provisioning.org.policy_file import policy_document, render_policy


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


def test_the_writer_fills_every_key_of_the_shared_document_shape(tmp_path: Path) -> None:
    """Provisioning writes exactly the keys PolicyDocument declares, and the module's
    reader (PolicyFile) reads back what was written."""
    snapshot = DirectorySnapshot(
        users={u.user_id: u for u in (person("@a:x", None), person("@d:x", None, False))},
        settings={"organization": {"name": "Clinic"}, "policy": {"channel_creators": ["user:a"]}},
    )
    doc = policy_document(snapshot, "@carebridge:x")
    assert set(doc) == PolicyDocument.__required_keys__ | PolicyDocument.__optional_keys__
    path = tmp_path / POLICY_FILE_NAME
    path.write_text(render_policy(doc), encoding="utf-8")
    reader = PolicyFile(str(path))
    assert reader.data() == doc
    assert reader.channel_creators() == {"@a:x"}
    assert reader.user_set("deactivated_users") == {"@d:x"}
