"""`carebridge status`: what is running, and is it healthy."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import click
from mautrix.errors import MatrixRequestError
from rich.console import Console
from rich.table import Table

from bridge.core.matrix_errors import SynapseUnavailable
from bridge.db.directory import Directory
from bridge.db.engine import create_engine, migrate
from config.errors import ConfigError
from config.settings import Settings, load_settings
from provisioning.cli.options import config_option
from provisioning.ops.probes import health_detail, healthy, pid_alive
from provisioning.ops.supervisor import read_state, running_supervisor
from provisioning.org.org_in_force import AppliedOrgFile, applied_org_file, configured_org_file
from provisioning.org.session import ProvisionError, compute_plan, load_org_file, open_session


@click.command("status")
@config_option
def status_command(config_path: Path) -> None:
    """Show whether `carebridge up` is running, each child's pid, health and restarts.

    The bridge counts as healthy only when it is ready: Synapse's deliveries are
    succeeding and the archive keeps up (see docs/operator/readiness.md); otherwise the
    reasons are shown (deliveries_failing, synapse_cannot_reach_bridge, archive_lagging).

    Also shows which org file is in force (the one last applied), the one `up`
    re-applies at every start (org_file: in carebridge.yaml), and whether the homeserver
    still matches the file in force.

    Exit code 0 when everything is running and healthy, 3 otherwise.
    """
    settings = load_settings(config_path)
    state = read_state(settings)
    console = Console()
    for line in asyncio.run(org_file_status(settings)):
        console.print(line, soft_wrap=True)
    if state is None or running_supervisor(settings) is None:
        console.print("Carebridge is [bold red]not running[/] (start it with `carebridge up`).")
        sys.exit(3)
    table = Table(title=f"Carebridge (supervisor pid {state['supervisor_pid']})")
    for column in ("process", "pid", "running", "healthy", "restarts", "detail"):
        table.add_column(column)
    all_good = True
    children = state.get("children")
    for name, info in children.items() if isinstance(children, dict) else []:
        pid = info.get("pid")
        alive = isinstance(pid, int) and pid_alive(pid)
        url = str(info.get("health_url"))
        ok = alive and healthy(url)
        detail = "" if ok or not alive else health_detail(url)
        all_good = all_good and ok
        restarts = str(info.get("restarts", 0))
        table.add_row(name, str(pid), "yes" if alive else "no", "yes" if ok else "no", restarts, detail)
    console.print(table)
    console.print(f"Staff sign in at {state.get('client_url')}")
    sys.exit(0 if all_good else 3)


async def org_file_status(settings: Settings) -> list[str]:
    """Lines about the org file in force and whether the homeserver matches it."""
    configured = configured_org_file(settings)
    shown = configured or "none (org_file: not set)"
    lines = [f"Org file applied by `carebridge up` at every start: {shown}"]
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        applied = await applied_org_file(Directory(engine))
    finally:
        await engine.dispose()
    if applied is None:
        lines.append("Org file in force: none applied yet")
        return lines
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(applied.ts / 1000))
    changed = " (the file has changed since)" if applied.changed_since() else ""
    lines.append(f"Org file in force: {applied.path}, applied {when}{changed}")
    if configured is not None and str(configured) != applied.path:
        lines.append(f"warning: the next `carebridge up` re-applies {configured} and undoes it")
    lines.append("Homeserver matches it: " + await _matches(settings, applied))
    return lines


async def _matches(settings: Settings, applied: AppliedOrgFile) -> str:
    try:
        _, org = load_org_file(settings, Path(applied.path))
        async with open_session(settings) as session:
            plan = await compute_plan(session, org)
    except (ProvisionError, ConfigError, OSError, MatrixRequestError, SynapseUnavailable) as exc:
        return f"unknown ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if not plan.changed:
        return "yes"
    return f"no, {len(plan.actions)} change(s) pending (see `carebridge provision plan {applied.path}`)"
