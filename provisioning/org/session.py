"""One provisioning run's connections: Synapse (as the bot) and the Carebridge database,
plus the steps every command shares (load the org file, read the state, plan)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from mautrix.errors import MForbidden, MUnknownToken
from mautrix.types import UserID

from bridge.core.matrix_errors import SynapseUnavailable
from bridge.core.registration import load_registration
from bridge.db.directory import Directory
from bridge.db.engine import create_engine, migrate
from config.org import OrgFile
from config.org_load import load_org
from config.settings import Settings
from provisioning.org.admin_api import SynapseClient
from provisioning.org.admin_room import AdminRoomResult, sync_admin_room
from provisioning.org.current import read_current
from provisioning.org.desired import desired_from_org
from provisioning.org.journal import Journal
from provisioning.org.plan import Plan, make_plan
from provisioning.org.policy_file import policy_document, policy_path, render_policy, write_policy_if_changed


class ProvisionError(Exception):
    """A problem the administrator can fix (Synapse down, bot not admin...)."""


@dataclass
class Session:
    """Open connections for one command."""

    settings: Settings
    client: SynapseClient
    directory: Directory
    bot_user_id: UserID


def load_org_file(settings: Settings, path: Path | None) -> tuple[Path, OrgFile]:
    """The org file to use (argument, else `org_file:` in carebridge.yaml), validated.

    Raises ConfigError (file:line:col: key: message) if invalid; nothing is applied.
    """
    chosen = path or (settings.path(settings.org_file) if settings.org_file else None)
    if chosen is None:
        raise ProvisionError("no org file given, and `org_file:` is not set in carebridge.yaml")
    org = load_org(
        chosen,
        reserved_usernames={settings.bridge.bot_localpart},
        reserved_channel_names={settings.bridge.admin_room_alias},
    )
    return chosen, org


@asynccontextmanager
async def open_session(settings: Settings, concurrency: int = 16) -> AsyncIterator[Session]:
    """Connect to Synapse as the bot (checking it is a server admin) and to the database."""
    registration = load_registration(settings.path(settings.bridge.registration))
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with SynapseClient(settings.synapse.url, registration.as_token, concurrency) as client:
            try:
                bot = await client.whoami()
                await client.check_admin(bot)
            except SynapseUnavailable as exc:
                raise ProvisionError(f"{exc}; is Carebridge running (`carebridge up`)?") from None
            except MUnknownToken:
                raise ProvisionError(
                    "Synapse refused the appservice token: does homeserver.yaml list this registration.yaml?"
                ) from None
            except MForbidden:
                raise ProvisionError(
                    f"the bot {settings.bot_user_id} is not a Synapse server admin yet; start the bridge "
                    "once (`carebridge up`) so the Carebridge module can grant it"
                ) from None
            yield Session(settings, client, Directory(engine), bot)
    finally:
        await engine.dispose()


async def compute_plan(session: Session, org: OrgFile) -> Plan:
    """Read the current state and plan the org file against it (reads only)."""
    snapshot = await session.directory.snapshot()
    others = [u for u in snapshot.users.values() if u.active and u.managed_by == "cli"]
    desired = desired_from_org(org, session.settings.server_name, session.bot_user_id, others)
    current = await read_current(
        session.client,
        session.directory,
        desired,
        policy_path(session.settings.data_dir),
        frozenset(Journal.of(session.settings).pending),
    )
    return make_plan(desired, current)


async def refresh_policy_file(session: Session) -> bool:
    """Rewrite policy.json from the directory (after one-off user changes)."""
    document = policy_document(await session.directory.snapshot(), session.bot_user_id)
    return write_policy_if_changed(policy_path(session.settings.data_dir), render_policy(document))


async def sync_admins(session: Session) -> AdminRoomResult:
    """Make the administrators' room hold exactly the active administrators (after
    policy.json is written, so the module already knows who they are)."""
    settings = session.settings
    return await sync_admin_room(
        session.client,
        await session.directory.snapshot(),
        settings.bridge.admin_room_alias,
        settings.server_name,
        session.bot_user_id,
    )
