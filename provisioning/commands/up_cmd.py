"""`carebridge up` and `carebridge status`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from config.settings import load_settings
from provisioning.cli import config_option, fail
from provisioning.supervisor import Supervisor, SupervisorError


@click.command("up")
@config_option
def up_command(config_path: Path) -> None:
    """Start Synapse and the Carebridge bridge, wait until both are healthy, print where
    staff sign in, and keep them running until Ctrl-C (or SIGTERM), which stops both.

    A child process that dies is reported with its exit code and log file, and `up`
    exits non-zero so a service manager can restart it.
    """
    if not config_path.exists():
        fail(f"{config_path} not found; create a data directory first with `carebridge init`")
    settings = load_settings(config_path)
    supervisor = Supervisor(settings, config_path.resolve(), click.echo)
    try:
        code = supervisor.run()
    except SupervisorError as exc:
        fail(str(exc), code=1)
    sys.exit(code)
