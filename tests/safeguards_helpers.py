"""Helpers for the compliance-report tests: a healthy deployment on a real Synapse and
bridge, the report through the real CLI, and gaps injected the way they happen in real life
(a config file edited, an account changed through the admin API, a database row left
behind by a half-finished job) and undone again."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from nio import AsyncClient, JoinResponse
from sqlalchemy import update

from bridge.db.engine import create_engine
from bridge.db.tables import backup_records, directory_users
from tests.compliance_helpers import admin_room_id, ledger, register, shift_around_now, wait_for
from tests.harness.provision import carebridge
from tests.harness.stack import Stack

DAY_MS = 24 * 3600 * 1000
# Production-like failed sign-in limits (the harness lifts every rate limit to 1000/s).
FAILED_ATTEMPTS = {"per_second": 0.17, "burst_count": 3}


@dataclass
class Deployment:
    """A running healthy deployment and the people in it."""

    stack: Stack
    admin_id: str
    nurse_id: str
    aide_id: str
    admin_room: str
    passwords: dict[str, str] = field(default_factory=dict)
    clients: list[AsyncClient] = field(default_factory=list)
    backups: int = 0

    @property
    def hs_config(self) -> Path:
        return self.stack.s.path(self.stack.s.synapse.config)

    async def backup(self, *extra: str) -> Path:
        """Run `carebridge backup` (read back and recorded by the command itself)."""
        self.backups += 1
        out = self.stack.root / "backups" / f"backup-{self.backups}.tar.gz"
        code, _out, err = await carebridge(self.stack, "backup", "--out", str(out), *extra)
        assert code == 0, err
        return out


def init_stack(root: Path) -> Stack:
    """A fresh data directory whose Synapse limits failed sign-ins as production does."""
    stack = Stack(root=root)
    stack.init()
    path = stack.s.path(stack.s.synapse.config)
    config = yaml.safe_load(path.read_text())
    config["rc_login"]["failed_attempts"] = dict(FAILED_ATTEMPTS)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return stack


async def make_healthy(stack: Stack) -> Deployment:
    """An administrator in the admins' room, two staff on a shift (one signed in), a backup."""
    await stack.wait_background_updates()
    admin_id, admin_pw = await stack.create_user("boss")
    nurse_id, nurse_pw = await stack.create_user("nurse")
    aide_id, _ = await stack.create_user("aide")
    shift = shift_around_now()
    await register(
        stack,
        [(admin_id, "admin", None), (nurse_id, "staff", "ward"), (aide_id, "staff", "ward")],
        {"ward": shift},
    )
    room = await admin_room_id(stack)
    await stack.admin("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite", {"user_id": admin_id})
    deployment = Deployment(
        stack, admin_id, nurse_id, aide_id, room, {admin_id: admin_pw, nurse_id: nurse_pw}
    )
    admin = await stack.login(admin_id, admin_pw)
    deployment.clients.append(admin)
    joined = await admin.join(room)
    assert isinstance(joined, JoinResponse), joined
    deployment.clients.append(await stack.login(nurse_id, nurse_pw))
    await wait_for(lambda: ledger(stack, nurse_id), lambda r: len(r[0]) == 1, what="nurse's sign-in record")
    await deployment.backup()
    await run_report(stack)  # checked once before: a failing row can say when it was last true
    return deployment


async def run_report(stack: Stack, *args: str) -> tuple[int, dict[str, Any]]:
    """`carebridge compliance report --format json`: (exit code, document)."""
    code, out, err = await carebridge(stack, "compliance", "report", "--format", "json", *args)
    assert code in (0, 1), err
    return code, json.loads(out)


def not_passing(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["result"], r["reason"]) for r in doc["rows"] if r["result"] != "pass"}


# --- gaps: each an async context manager that injects on enter and undoes on exit ------


@asynccontextmanager
async def edited_yaml(path: Path, change: Callable[[dict[str, Any]], None]) -> AsyncIterator[None]:
    original = path.read_text()
    data = yaml.safe_load(original)
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        yield
    finally:
        path.write_text(original)


async def _sql(stack: Stack, statement: Any) -> None:
    engine = create_engine(stack.s.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(statement)
    finally:
        await engine.dispose()


@asynccontextmanager
async def registration_enabled(d: Deployment) -> AsyncIterator[None]:
    async with edited_yaml(d.hs_config, lambda c: c.update(enable_registration=True)):
        yield


@asynccontextmanager
async def federation_enabled(d: Deployment) -> AsyncIterator[None]:
    def change(c: dict[str, Any]) -> None:
        c.pop("federation_domain_whitelist")
        c["listeners"][0]["resources"][0]["names"].append("federation")

    async with edited_yaml(d.hs_config, change):
        yield


@asynccontextmanager
async def url_previews_on(d: Deployment) -> AsyncIterator[None]:
    async with edited_yaml(d.hs_config, lambda c: c.update(url_preview_enabled=True)):
        yield


@asynccontextmanager
async def staff_with_synapse_admin(d: Deployment) -> AsyncIterator[None]:
    await d.stack.admin("PUT", f"/_synapse/admin/v2/users/{d.nurse_id}", {"admin": True})
    try:
        yield
    finally:
        await d.stack.admin("PUT", f"/_synapse/admin/v2/users/{d.nurse_id}", {"admin": False})


@asynccontextmanager
async def no_backup_in_7_days(d: Deployment) -> AsyncIterator[None]:
    shift = 8 * DAY_MS
    await _sql(d.stack, update(backup_records).values(created_ts=backup_records.c.created_ts - shift))
    try:
        yield
    finally:
        await _sql(d.stack, update(backup_records).values(created_ts=backup_records.c.created_ts + shift))


@asynccontextmanager
async def deactivated_with_live_session(d: Deployment) -> AsyncIterator[None]:
    """The directory says the nurse left, but her Synapse account and session live on (a
    deactivation that stopped half-way)."""
    users = directory_users
    await _sql(d.stack, update(users).where(users.c.user_id == d.nurse_id).values(active=False))
    try:
        yield
    finally:
        await _sql(d.stack, update(users).where(users.c.user_id == d.nurse_id).values(active=True))


@asynccontextmanager
async def archive_key_in_backup(d: Deployment) -> AsyncIterator[None]:
    path = await d.backup("--include-key")
    try:
        yield
    finally:
        path.unlink()
        await d.backup()  # the newest backup holds no key again


@asynccontextmanager
async def heads_older_than_interval(d: Deployment) -> AsyncIterator[None]:
    """An interval of about one second: the head published at start-up is older than that."""
    started = time.time()
    async with edited_yaml(d.stack.config_path, lambda c: c.setdefault("archive", {}).update(
            head_interval_minutes=0.018)):  # fmt: skip
        while time.time() - started < 1.2:
            await asyncio.sleep(0.2)
        yield


@asynccontextmanager
async def admin_outside_admins_room(d: Deployment) -> AsyncIterator[None]:
    """A second administrator who was never brought into the administrators' room."""
    second, _ = await d.stack.create_user("deputy")
    await register(d.stack, [(second, "admin", None)], {})
    try:
        yield
    finally:
        users = directory_users
        await _sql(d.stack, update(users).where(users.c.user_id == second).values(role="staff"))


@asynccontextmanager
async def account_on_initial_password(d: Deployment) -> AsyncIterator[None]:
    """The aide's account was made 8 days ago and has never been signed in to."""
    users, shift = directory_users, 8 * DAY_MS
    where = users.c.user_id == d.aide_id
    await _sql(d.stack, update(users).where(where).values(created_ts=users.c.created_ts - shift))
    try:
        yield
    finally:
        await _sql(d.stack, update(users).where(where).values(created_ts=users.c.created_ts + shift))


Gap = Callable[[Deployment], Any]
GAPS: dict[str, tuple[str, Gap, Callable[[Deployment], str]]] = {
    "registration enabled": ("authentication", registration_enabled, lambda d: "enable_registration"),
    "staff with Synapse admin": ("access-control", staff_with_synapse_admin, lambda d: d.nurse_id),
    "no backup in 7 days": ("backup", no_backup_in_7_days, lambda d: "no backup in 7 days"),
    "deactivated account with a live session": (
        "termination",
        deactivated_with_live_session,
        lambda d: f"live session: {d.nurse_id}",
    ),
    "archive key inside a backup": ("emergency-access", archive_key_in_backup, lambda d: "archive key"),
    "chain heads older than their interval": (
        "integrity-heads",
        heads_older_than_interval,
        lambda d: "older than its interval",
    ),
    "admin not in the admins' room": (
        "activity-review",
        admin_outside_admins_room,
        lambda d: f"not in the administrators' room: @deputy:{d.stack.server_name}",
    ),
    "federation enabled": ("no-federation", federation_enabled, lambda d: "federation API"),
    "URL previews on": ("no-outbound", url_previews_on, lambda d: "url_preview_enabled"),
    "account still on its initial password": (
        "password-management",
        account_on_initial_password,
        lambda d: f"initial password: {d.aide_id}",
    ),
}
