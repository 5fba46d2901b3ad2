"""The test organisation: 3 groups, 12 users, 4 channels, as org.yaml text."""

from __future__ import annotations

NURSES = ["nurse1", "nurse2", "nurse3", "nurse4"]
PHYSICIANS = ["doc1", "doc2", "doc3", "doc4"]
CLERKS = ["clerk1", "clerk2", "clerk3", "clerk4"]
ALL_USERS = NURSES + PHYSICIANS + CLERKS

# username -> channels the base org puts them in
MEMBERSHIP = {
    **{u: {"icu", "announcements", "handover"} for u in NURSES},
    **{u: {"icu", "announcements", "handover"} for u in PHYSICIANS},
    **{u: {"announcements", "clerks-desk"} for u in CLERKS},
}
MEMBERSHIP["nurse2"] = MEMBERSHIP["nurse2"] | {"clerks-desk"}
CHANNELS = ["icu", "announcements", "clerks-desk", "handover"]


def email_of(username: str) -> str:
    return f"{username}@clinic.example"


def _user(username: str, group: str, role: str = "staff", schedule: str | None = "day") -> str:
    lines = [
        f"  - username: {username}",
        f"    display_name: Test {username.capitalize()}",
        f"    email: {email_of(username)}",
        f"    role: {role}",
        f"    groups: [{group}]",
    ]
    if schedule:
        lines.append(f"    schedule: {schedule}")
    return "\n".join(lines)


def org_yaml(
    drop_users: tuple[str, ...] = (),
    drop_channels: tuple[str, ...] = (),
    icu_extra_members: tuple[str, ...] = (),
) -> str:
    """The org file; the arguments give the later versions used by the tests."""
    users = []
    for name in NURSES:
        users.append(_user(name, "nurses", role="admin" if name == "nurse1" else "staff"))
    for name in PHYSICIANS:
        users.append(_user(name, "physicians", schedule="night" if name == "doc2" else None))
    for name in CLERKS:
        users.append(_user(name, "clerks", schedule="office"))
    users = [u for u in users if not any(u.startswith(f"  - username: {d}\n") for d in drop_users)]
    extra = "".join(f", user:{u}" for u in icu_extra_members)
    channels = {
        "icu": (
            "  - name: icu\n"
            "    display_name: ICU\n"
            "    topic: ICU coordination\n"
            f"    members: [group:nurses{extra}]\n"
            "    post: [group:nurses]\n"
            "    respond: [group:physicians]"
        ),
        "announcements": (
            "  - name: announcements\n"
            "    topic: Read-only announcements\n"
            "    members: [everyone]\n"
            "    post: [role:admin]"
        ),
        "clerks-desk": (
            "  - name: clerks-desk\n    members: [group:clerks, user:nurse2]\n    post: [group:clerks]"
        ),
        "handover": (
            "  - name: handover\n"
            "    topic: Shift handover\n"
            "    members: [group:nurses, group:physicians]\n"
            "    post: [group:nurses, group:physicians]"
        ),
    }
    channel_text = "\n".join(v for k, v in channels.items() if k not in drop_channels)
    return (
        "organization:\n"
        "  name: Test Clinic\n"
        "  timezone: America/Chicago\n"
        "groups:\n"
        "  nurses: {display_name: Nurses}\n"
        "  physicians: {}\n"
        "  clerks:\n"
        "schedules:\n"
        '  day: {days: [mon, tue, wed, thu, fri], start: "07:00", end: "19:00", grace_minutes: 15}\n'
        '  night: {days: [sat, sun], start: "19:00", end: "07:00"}\n'
        '  office: {days: [mon, tue, wed, thu, fri], start: "08:30", end: "17:00"}\n'
        "users:\n" + "\n".join(users) + "\n"
        "channels:\n" + channel_text + "\n"
        "policy:\n"
        "  channel_creators: [role:admin, user:doc1]\n"
    )
