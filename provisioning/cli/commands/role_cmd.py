"""`carebridge role list|who|assign|release` and `carebridge report urgent`.

Roles and the rota come from the org file (`carebridge provision apply`); these commands
read who holds what now and change holdings by hand. An assignment or a release is
written to the database; the running bridge applies it (the role rooms follow, and the
hand-over is recorded in the administrators' room) within `roles.max_wait_seconds`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.core.clock import to_ms
from bridge.core.report_table import ReportTable
from bridge.db.engine import create_engine, migrate
from bridge.org.source import org_directory
from bridge.roles.report import roles_table, urgent_table
from bridge.roles.store import RoleStore
from bridge.roles.urgent_store import UrgentStore
from config.settings import Settings, load_settings
from policy.roles import CoverSource
from provisioning.cli.commands.report_cmd import _date, _emit, _user, format_option
from provisioning.cli.options import config_option, fail

T = TypeVar("T")


def _with_engine(config_path: Path, work: Callable[[AsyncEngine, Settings], Awaitable[T]]) -> T:
    if not config_path.exists():
        fail(f"{config_path} not found; create a data directory first with `carebridge init`")
    settings = load_settings(config_path)

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            return await work(engine, settings)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _when(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time (ISO 8601, e.g. 2026-12-05T07:00)") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@click.group("role")
def role_group() -> None:
    """Roles on shift: who holds each role now, and holdings by hand."""


async def _table(engine: AsyncEngine, at: datetime, only: str | None) -> ReportTable:
    roster = await org_directory(engine).roster()
    store = RoleStore(engine)
    if only is not None and only not in await store.specs():
        fail(f"there is no role {only!r}; `carebridge role list` shows them")
    return await roles_table(store, roster, to_ms(at), roster.tz, only)


@role_group.command("list")
@config_option
@click.option("--at", "at", help="At this time instead of now (ISO 8601, UTC unless an offset is given).")
@format_option
def list_command(config_path: Path, at: str | None, fmt: str) -> None:
    """Every role: who holds it, since and until when, how (rota, assigned, self,
    empty, all away) and its backup."""
    when = _when(at)
    _emit(_with_engine(config_path, lambda engine, _s: _table(engine, when, None)), fmt)


@role_group.command("who")
@config_option
@click.argument("role")
@click.option("--at", "at", help="At this time instead of now (ISO 8601, UTC unless an offset is given).")
@format_option
def who_command(config_path: Path, role: str, at: str | None, fmt: str) -> None:
    """Who holds ROLE now (or --at a time)."""
    when = _when(at)
    _emit(_with_engine(config_path, lambda engine, _s: _table(engine, when, role)), fmt)


@role_group.command("assign")
@config_option
@click.argument("role")
@click.argument("user")
@click.option(
    "--hours",
    type=click.FloatRange(0.1, 24 * 14),
    default=12.0,
    show_default=True,
    help="How long the assignment lasts from now.",
)
@click.option("--until", "until", help="Until this time instead (ISO 8601, UTC unless an offset is given).")
@click.option("--from", "start", help="Starting at this time instead of now (planned cover).")
def assign_command(
    config_path: Path, role: str, user: str, hours: float, until: str | None, start: str | None
) -> None:
    """Give ROLE to USER (username or @user:server) from now, overriding the rota. Only a
    member of the role (its `members:` in the org file) can hold it."""

    async def work(engine: AsyncEngine, settings: Settings) -> str:
        user_id = _user(settings.server_name, user) or user
        store = RoleStore(engine)
        specs = await store.specs()
        if role not in specs:
            fail(f"there is no role {role!r}; `carebridge role list` shows them")
        if user_id not in specs[role].members:
            fail(f"{user_id} is not a member of {role} (see roles.{role}.members in the org file)")
        now = _when(start)
        end = _when(until) if until else now + timedelta(hours=hours)
        if end <= now:
            fail("the assignment must end after it starts")
        await store.assign(role, user_id, to_ms(now), to_ms(end), CoverSource.ASSIGNED.value, "cli")
        return f"{user_id} holds {role} until {end:%Y-%m-%d %H:%M} UTC; the bridge hands it over shortly."

    click.echo(_with_engine(config_path, work))


@role_group.command("release")
@config_option
@click.argument("role")
@click.argument("user")
@click.option("--at", "at", help="At this time instead of now (ISO 8601, UTC unless an offset is given).")
def release_command(config_path: Path, role: str, user: str, at: str | None) -> None:
    """End USER's holding of ROLE now (an assignment, or their rota shift)."""

    async def work(engine: AsyncEngine, settings: Settings) -> str:
        user_id = _user(settings.server_name, user) or user
        store = RoleStore(engine)
        now = to_ms(_when(at))
        facts = await store.facts(now)
        if role not in facts:
            fail(f"there is no role {role!r}; `carebridge role list` shows them")
        rota_end = max((c.end_ms for c in facts[role].rota.at(now) if c.user_id == user_id), default=None)
        if not await store.release(role, user_id, now, "cli", rota_end):
            fail(f"{user_id} does not hold {role} now", code=1)
        return f"{user_id} released {role}; the bridge hands it over shortly."

    click.echo(_with_engine(config_path, work))


@click.command("urgent")
@config_option
@click.option(
    "--date", "day", callback=_date, help="The day (YYYY-MM-DD, organisation time zone); default today."
)
@format_option
def urgent_command(config_path: Path, day: date | None, fmt: str) -> None:
    """Every urgent message of a day: sender, recipients, who read it and how fast
    (time to read), repeat alerts, and escalations (to whom, after how long)."""

    async def work(engine: AsyncEngine, _settings: Settings) -> ReportTable:
        roster = await org_directory(engine).roster()
        chosen = day or datetime.now(roster.tz).date()
        return await urgent_table(UrgentStore(engine), roster, chosen)

    _emit(_with_engine(config_path, work), fmt)
