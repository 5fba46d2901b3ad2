"""A small organisation for the administrator's-day tests: its own Synapse + bridge,
an org file with one administrator, a ward nurse and a ward channel, passwords in files."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.provision import carebridge
from tests.harness.stack import Stack


def org_text(admin_role: str = "admin", extra_users: str = "") -> str:
    """The org file; `admin_role` lets a test take `boss`'s administrator role away."""
    return (
        "organization: {name: Day Clinic, timezone: UTC}\n"
        "groups:\n  ward: {}\n  office: {}\n"
        "schedules:\n"
        '  early: {days: [mon, tue, wed, thu, fri, sat, sun], start: "06:00", end: "14:00"}\n'
        "users:\n"
        "  - {username: boss, display_name: The Boss, email: boss@clinic.example, "
        f"role: {admin_role}, groups: [office]}}\n"
        "  - {username: nurse, display_name: A Nurse, email: nurse@clinic.example, "
        "groups: [ward], schedule: early}\n" + extra_users + "channels:\n"
        "  - {name: ward, members: [group:ward], post: [group:ward]}\n"
        "  - {name: office, members: [group:office], post: [group:office]}\n"
    )


def password_in(path: Path) -> str:
    """The initial password in a password file written by provisioning."""
    found = re.search(r"^\s*Password:\s+(\S+)\s*$", path.read_text(), re.MULTILINE)
    assert found, f"no password line in {path}"
    return found.group(1)


def password_files(stack: Stack, username: str) -> list[Path]:
    """`username`'s initial-password files, oldest first."""
    folder = stack.s.data_dir / "initial-passwords"
    return sorted(folder.glob(f"{username}-*.txt")) if folder.is_dir() else []


@dataclass
class AdminOrg:
    """The running organisation and where its files are."""

    stack: Stack
    org_path: Path
    first_apply: str = ""

    def uid(self, username: str) -> str:
        return f"@{username}:{self.stack.server_name}"

    def password(self, username: str) -> str:
        files = password_files(self.stack, username)
        assert files, f"no password file for {username}"
        return password_in(files[-1])

    async def apply(self, *extra: str) -> str:
        code, out, err = await carebridge(self.stack, "provision", "apply", *extra, str(self.org_path))
        assert code == 0, out + err
        return out


def admin_org_fixture(
    tmp_path_factory: pytest.TempPathFactory, name: str, configure_org_file: bool = False
) -> Iterator[AdminOrg]:
    """Start the stack and apply the org file once (used by module-scoped fixtures);
    `configure_org_file` sets it as carebridge.yaml's `org_file:` too."""
    root = tmp_path_factory.mktemp(name)
    org_path = root / "org.yaml"
    org_path.write_text(org_text())
    stack = Stack(root=root, extra_settings={"org_file": str(org_path)} if configure_org_file else {})
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        asyncio.run(stack.wait_background_updates())
        org = AdminOrg(stack, org_path)
        org.first_apply = asyncio.run(org.apply())
        yield org
    finally:
        stack.stop()
