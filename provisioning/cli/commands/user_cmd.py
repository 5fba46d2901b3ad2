"""`carebridge user list|add|reset-password|deactivate`: one-off account administration."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from mautrix.errors import MatrixRequestError
from rich.console import Console
from rich.table import Table

from bridge.core.matrix_errors import SynapseUnavailable
from bridge.db.directory import Directory, DirectoryUser
from bridge.db.engine import create_engine, migrate
from bridge.db.initial_passwords import InitialPasswords
from config.errors import ConfigError
from config.settings import Settings, load_settings
from provisioning.cli.options import config_option, fail
from provisioning.org.plan_view import print_delivery
from provisioning.org.session import ProvisionError, Session, load_org_file, open_session
from provisioning.org.users import add_user, deactivate, reset_password

T = TypeVar("T")


def _run(settings: Settings, work: Callable[[Session], Awaitable[T]]) -> T:
    async def inner() -> T:
        async with open_session(settings) as session:
            return await work(session)

    try:
        return asyncio.run(inner())
    except ProvisionError as exc:
        fail(str(exc))
    except (MatrixRequestError, SynapseUnavailable) as exc:
        fail(str(exc), code=1)
    raise AssertionError("unreachable")


@click.group("user")
def user_group() -> None:
    """One-off account administration. Day-to-day changes belong in the org file
    (`carebridge provision apply`); use these for the exceptions.

    Accounts added here are left alone by `provision apply` unless the org file lists
    them. Passwords are never shown: they are mailed (SMTP in carebridge.yaml) or written
    to a 0600 file under <data dir>/initial-passwords/.
    """


@user_group.command("list")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include deactivated accounts.")
@click.option("--show-contact", is_flag=True, help="Also show display names and email addresses.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
def list_command(config_path: Path, show_all: bool, show_contact: bool, fmt: str) -> None:
    """List the accounts in the Carebridge directory (reads the database only).

    The initial_password column says "yes" for accounts whose owner has not yet chosen
    their own password in the web client (the mailed one still works)."""
    settings = load_settings(config_path)
    users, initial = asyncio.run(_directory_users(settings))
    rows = [
        _row(u, show_contact, u.user_id in initial)
        for u in sorted(users, key=lambda u: u.user_id)
        if show_all or u.active
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["user_id"])
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        table = Table(title=f"{len(rows)} account(s)")
        for column in rows[0] if rows else ["user_id"]:
            table.add_column(column)
        for row in rows:
            table.add_row(*(str(v) if v is not None else "" for v in row.values()))
        Console().print(table)


async def _directory_users(settings: Settings) -> tuple[list[DirectoryUser], set[str]]:
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        users = list((await Directory(engine).snapshot()).users.values())
        return users, await InitialPasswords(engine).all()
    finally:
        await engine.dispose()


def _row(user: DirectoryUser, show_contact: bool, initial_password: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"user_id": user.user_id}
    if show_contact:
        row.update(display_name=user.display_name, email=user.email)
    row.update(
        role=user.role,
        groups=",".join(user.groups),
        schedule=user.schedule,
        status="active" if user.active else "deactivated",
        managed_by=user.managed_by,
        initial_password="yes" if initial_password else "no",
        created=time.strftime("%Y-%m-%d", time.gmtime(user.created_ts / 1000)),
    )
    return row


@user_group.command("add")
@config_option
@click.argument("username")
@click.option("--display-name", required=True, help="Name colleagues see.")
@click.option("--email", required=True, help="Where the initial password is mailed.")
@click.option("--role", type=click.Choice(["staff", "admin"]), default="staff", show_default=True)
@click.option("--group", "groups", multiple=True, help="A group from the org file (repeatable).")
@click.option("--schedule", help="A schedule from the org file.")
def add_command(
    config_path: Path,
    username: str,
    display_name: str,
    email: str,
    role: str,
    groups: tuple[str, ...],
    schedule: str | None,
) -> None:
    """Create one account (never a server admin) and deliver its initial password."""
    settings = load_settings(config_path)
    user_id, report = _run(
        settings, lambda s: add_user(s, username, display_name, email, role, groups, schedule)
    )
    console = Console()
    console.print(f"Created {user_id}.")
    print_delivery(console, report)


@user_group.command("reset-password")
@config_option
@click.argument("user")
def reset_password_command(config_path: Path, user: str) -> None:
    """Set a new initial password for USER (username or @id): every session of theirs
    is signed out, and the password is mailed (or written to a 0600 file)."""
    settings = load_settings(config_path)
    user_id, report = _run(settings, lambda s: reset_password(s, user))
    console = Console()
    console.print(f"Password reset for {user_id}; all of their sessions were signed out.")
    print_delivery(console, report)


@user_group.command("deactivate")
@config_option
@click.argument("user")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def deactivate_command(config_path: Path, user: str, yes: bool) -> None:
    """Deactivate USER (username or @id): sessions end, the account can no longer sign in,
    and nothing is erased (their messages stay, for the record)."""
    settings = load_settings(config_path)
    _refuse_if_in_org_file(settings, user)
    if not yes:
        click.confirm(f"Deactivate {user}? They can no longer sign in.", abort=True)
    user_id = _run(settings, lambda s: deactivate(s, user))
    click.echo(f"Deactivated {user_id} (not erased; messages kept).")


def _refuse_if_in_org_file(settings: Settings, user: str) -> None:
    """An account the org file lists would come back on the next apply."""
    if settings.org_file is None:
        return
    try:
        path, org = load_org_file(settings, None)
    except (ConfigError, ProvisionError):
        return
    username = user[1:].split(":", 1)[0] if user.startswith("@") else user
    if any(u.username == username for u in org.users):
        fail(
            f"{user} is listed in {path}; remove them there and run `carebridge provision apply` "
            "(otherwise the next apply would reactivate them)"
        )
