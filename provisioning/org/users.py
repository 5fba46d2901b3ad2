"""One-off account administration (`carebridge user ...`), outside the org file.

Accounts added here are marked managed_by "cli": a later `provision apply` leaves them
alone unless the org file lists them (then the file takes over). Deactivation never
erases (45 CFR 164.308(a)(3)(ii)(C) termination: access ends, records stay).
"""

from __future__ import annotations

from dataclasses import replace

from mautrix.types import UserID
from pydantic import ValidationError

from bridge.core.clock import now_ms
from bridge.db.directory import DirectoryUser
from bridge.db.initial_passwords import InitialPasswords
from config.org import User
from provisioning.org.admin_api import os_operator
from provisioning.org.delivery import Credential, DeliveryReport, deliver, remove_superseded_password_files
from provisioning.org.desired import user_id_for
from provisioning.org.group_channels import join_group_channels
from provisioning.org.passwords import generate_password
from provisioning.org.session import ProvisionError, Session, refresh_policy_file, sync_admins


def local_user_id(session: Session, who: str) -> UserID:
    """Accept `jdoe` or `@jdoe:server`; refuse other servers' ids."""
    server = session.settings.server_name
    if who.startswith("@"):
        if not who.endswith(f":{server}"):
            raise ProvisionError(f"{who} is not an account on {server}")
        return UserID(who)
    return user_id_for(who, server)


async def add_user(
    session: Session,
    username: str,
    display_name: str,
    email: str,
    role: str = "staff",
    groups: tuple[str, ...] = (),
    schedule: str | None = None,
) -> tuple[UserID, DeliveryReport, list[str]]:
    """Create one account, join it to its groups' channels and the administrators' room
    (role admin), and deliver its initial password. Returns the channels joined too."""
    try:
        user = User.model_validate(
            {
                "username": username,
                "display_name": display_name,
                "email": email,
                "role": role,
                "groups": list(groups),
                "schedule": schedule,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ProvisionError(problems) from None
    if user.username == session.settings.bridge.bot_localpart:
        raise ProvisionError(f"username {user.username!r} is reserved for the Carebridge bot")
    known_groups = set((await session.directory.setting("groups")) or {})
    unknown = [g for g in user.groups if g not in known_groups]
    if unknown:
        raise ProvisionError(
            f"unknown group(s) {', '.join(unknown)}; known: {', '.join(sorted(known_groups)) or 'none'}"
        )
    if user.schedule and user.schedule not in await session.directory.schedules():
        raise ProvisionError(f"unknown schedule {user.schedule!r}")
    # The e-mail address is a sign-in name: one person each (compared without case).
    wanted = str(user.email).casefold()
    for row in (await session.directory.snapshot()).users.values():
        if row.active and row.email.casefold() == wanted:
            raise ProvisionError(f"{row.user_id} already signs in with that e-mail address")
    user_id = user_id_for(user.username, session.settings.server_name)
    account = await session.client.get_user(user_id)
    if account is not None:
        state = "deactivated" if account.deactivated else "active"
        raise ProvisionError(f"{user_id} already exists ({state}); list it in the org file to manage it")
    password = generate_password()
    await session.client.create_user(user_id, password, user.display_name, str(user.email))
    now = now_ms()
    await session.directory.upsert_users(
        [
            DirectoryUser(
                user_id=user_id,
                username=user.username,
                display_name=user.display_name,
                email=str(user.email),
                role=user.role,
                groups=tuple(user.groups),
                schedule=user.schedule,
                active=True,
                managed_by="cli",
                created_ts=now,
                updated_ts=now,
                active_since_ts=now,
            )
        ]
    )
    await InitialPasswords(session.directory.engine).mark([user_id])
    await refresh_policy_file(session)
    channels = await join_group_channels(session, user_id)
    await sync_admins(session)
    cred = Credential(user_id, user.username, user.display_name, str(user.email), password, "new")
    return user_id, await deliver([cred], session.settings), channels


async def reset_password(session: Session, who: str) -> tuple[UserID, DeliveryReport]:
    """New initial password; every session of the user ends; the password is delivered."""
    user_id = local_user_id(session, who)
    account = await session.client.get_user(user_id)
    if account is None:
        raise ProvisionError(f"no account {user_id}")
    if account.deactivated:
        raise ProvisionError(f"{user_id} is deactivated; list it in the org file to reactivate it")
    row = await session.directory.user(user_id)
    password = generate_password()
    await session.client.reset_password(user_id, password, logout_devices=True, operator=os_operator())
    await InitialPasswords(session.directory.engine).mark([user_id])
    username = user_id[1:].split(":", 1)[0]
    cred = Credential(
        user_id,
        username,
        row.display_name if row else (account.displayname or username),
        row.email if row else "",
        password,
        "reset",
    )
    report = await deliver([cred], session.settings)
    remove_superseded_password_files(session.settings, username, keep={p for _, p in report.files})
    return user_id, report


async def deactivate(session: Session, who: str) -> UserID:
    """Deactivate (never erase) one account and record it in the directory."""
    user_id = local_user_id(session, who)
    if user_id == session.bot_user_id:
        raise ProvisionError("the Carebridge bot cannot be deactivated")
    account = await session.client.get_user(user_id)
    if account is None:
        raise ProvisionError(f"no account {user_id}")
    if not account.deactivated:
        await session.client.deactivate_user(user_id, operator=os_operator())
    row = await session.directory.user(user_id)
    if row is not None and row.active:
        now = now_ms()
        await session.directory.upsert_users([replace(row, active=False, updated_ts=now, deactivated_ts=now)])
    await refresh_policy_file(session)
    await sync_admins(session)
    return user_id
