"""`carebridge status`: what is running, and is it healthy."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from config.settings import load_settings
from provisioning.cli.options import config_option
from provisioning.ops.supervisor import health_detail, healthy, pid_alive, read_state, running_supervisor


@click.command("status")
@config_option
def status_command(config_path: Path) -> None:
    """Show whether `carebridge up` is running, each child's pid, health and restarts.

    The bridge counts as healthy only when it is ready: Synapse's deliveries are
    succeeding and the archive keeps up (see docs/operator/readiness.md); otherwise the
    reasons are shown (deliveries_failing, synapse_cannot_reach_bridge, archive_lagging).
    Exit code 0 when everything is running and healthy, 3 otherwise.
    """
    settings = load_settings(config_path)
    state = read_state(settings)
    console = Console()
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
