"""`carebridge up`: run Synapse and the bridge under one supervisor (`carebridge status`
is in status_cmd.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from bridge.core.files import make_data_dir_private
from config.settings import load_settings
from provisioning.cli.commands.provision_cmd import apply_org
from provisioning.cli.options import config_option, fail
from provisioning.ops.rate_limits import sync_rate_limits
from provisioning.ops.supervisor import Supervisor, SupervisorError
from provisioning.org.session import load_org_file


@click.command("up")
@config_option
def up_command(config_path: Path) -> None:
    """Start Synapse and the Carebridge bridge, wait until both are healthy, print where
    staff sign in, and keep them running until Ctrl-C (or SIGTERM), which stops both.

    Runs with umask 0077: every file it or its children create under the data directory
    is 0600 (folders 0700), and existing group/other permissions there are removed.

    A child process that dies is reported with its exit code and log file, and `up`
    exits non-zero so a service manager can restart it.

    With `org_file:` set in carebridge.yaml, the org file is validated first (an invalid
    one stops here, exit 2) and applied once both are healthy, like
    `carebridge provision apply`.
    """
    if not config_path.exists():
        fail(f"{config_path} not found; create a data directory first with `carebridge init`")
    settings = load_settings(config_path)
    # Everything under the data directory stays 0600/0700 whoever starts `up` (children
    # inherit the umask: homeserver.db, carebridge.db, logs, media).
    tightened = make_data_dir_private(settings.data_dir)
    if tightened:
        click.echo(f"made {tightened} files and folders in {settings.data_dir} private (0600/0700)")
    if sync_rate_limits(settings):
        click.echo(
            "sign-in and message limits in homeserver.yaml updated from carebridge.yaml (sign_in:, messages:)"
        )
    on_ready = None
    if settings.org_file is not None:
        # Validate before starting anything: a broken org file stops `up` with exit 2.
        org_path, org = load_org_file(settings, None)

        def on_ready() -> None:
            click.echo(f"applying the org file {org_path}")
            if asyncio.run(apply_org(settings, org, fmt="summary", path=org_path)) != 0:
                click.echo(
                    "warning: the org file was not fully applied; see above, then run "
                    "`carebridge provision apply`"
                )

    supervisor = Supervisor(settings, config_path.resolve(), click.echo, on_ready=on_ready)
    try:
        code = supervisor.run()
    except SupervisorError as exc:
        fail(str(exc), code=1)
    sys.exit(code)
