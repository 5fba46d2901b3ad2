"""`carebridge init`: create a data directory with fresh secrets."""

from __future__ import annotations

from pathlib import Path

import click

from provisioning.cli import DEFAULT_DATA_DIR, fail
from provisioning.initdir import InitError, InitOptions, init_data_dir


@click.command("init")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Directory to create; holds every config file, key, database and log.",
)
@click.option(
    "--server-name",
    default="carebridge.local",
    show_default=True,
    help="Matrix server name: user ids become @name:SERVER-NAME. Cannot change later.",
)
@click.option(
    "--port",
    "synapse_port",
    type=click.IntRange(1, 65535),
    default=8008,
    show_default=True,
    help="Port for Synapse's client API.",
)
@click.option(
    "--bridge-port",
    type=click.IntRange(1, 65535),
    default=8009,
    show_default=True,
    help="Port of the appservice listener (only Synapse talks to it).",
)
@click.option(
    "--web-port",
    type=click.IntRange(1, 65535),
    default=8080,
    show_default=True,
    help="Port of the web client staff open in their browser.",
)
@click.option(
    "--organization",
    "organization_name",
    default="Carebridge Demo Clinic",
    show_default=True,
    help="Organisation name shown in the web client.",
)
@click.option(
    "--org-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="org.yaml to apply every time `carebridge up` starts.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing data directory (new tokens and keys).")
def init_command(
    data_dir: Path,
    server_name: str,
    synapse_port: int,
    bridge_port: int,
    web_port: int,
    organization_name: str,
    org_file: Path | None,
    force: bool,
) -> None:
    """Write a new data directory: carebridge.yaml, Synapse's homeserver.yaml, the
    appservice registration, signing key, archive key and log config.

    Secrets come from Python's `secrets` module and every file holding one is mode 0600.
    The homeserver is set up for compliance: no self-registration, no guests, no
    federation, history never purged, a strong password policy, the Carebridge module.
    """
    options = InitOptions(
        data_dir=data_dir,
        server_name=server_name,
        synapse_port=synapse_port,
        bridge_port=bridge_port,
        web_port=web_port,
        organization_name=organization_name,
        org_file=org_file,
        force=force,
    )
    try:
        config_path = init_data_dir(options)
    except InitError as exc:
        fail(str(exc))
    click.echo(f"Wrote {config_path}")
    click.echo(f"Next: carebridge up -c {config_path}")
