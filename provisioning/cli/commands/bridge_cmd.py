"""`carebridge bridge`: run only the appservice (production: one process per container)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from provisioning.cli.options import config_option


@click.command("bridge")
@config_option
def bridge_command(config_path: Path) -> None:
    """Run the Carebridge appservice in the foreground until SIGTERM.

    `carebridge up` runs this for you next to Synapse; use it directly when Synapse is
    managed separately (docker-compose, systemd).
    """
    from bridge.main import run_bridge

    sys.exit(asyncio.run(run_bridge(config_path)))
