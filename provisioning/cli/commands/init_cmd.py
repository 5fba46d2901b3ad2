"""`carebridge init`: create a data directory with fresh secrets."""

from __future__ import annotations

from pathlib import Path

import click

from provisioning.cli.options import DEFAULT_DATA_DIR, fail
from provisioning.ops.initdir import InitError, InitOptions, init_data_dir
from provisioning.ops.production import ComposeOptions, init_compose


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
@click.option(
    "--production",
    is_flag=True,
    help="Write the docker-compose.yml deployment instead: PostgreSQL, Synapse workers + Redis, "
    "coturn, TLS at the reverse proxy; secrets in DATA-DIR/secrets/, compose variables in "
    "DATA-DIR/compose.env.",
)
@click.option(
    "--public-url",
    help="[--production] https URL staff and apps use (the proxy's DNS name), e.g. https://chat.clinic.example.",
)
@click.option(
    "--synapse-db-url",
    help="[--production] Synapse's PostgreSQL URL (database with C collation). "
    "Default: the compose `postgres` service with a generated password.",
)
@click.option(
    "--database-url",
    help="[--production] Carebridge's postgresql+asyncpg:// URL. Default: the compose `postgres` service.",
)
@click.option(
    "--redis-url",
    default="redis://redis:6379/0",
    show_default=True,
    help="[--production] Redis for Synapse worker replication.",
)
@click.option(
    "--turn-host", help="[--production] Public DNS name of the TURN server (default: the public URL's host)."
)
def init_command(
    data_dir: Path,
    server_name: str,
    synapse_port: int,
    bridge_port: int,
    web_port: int,
    organization_name: str,
    org_file: Path | None,
    force: bool,
    production: bool,
    public_url: str | None,
    synapse_db_url: str | None,
    database_url: str | None,
    redis_url: str,
    turn_host: str | None,
) -> None:
    """Write a new data directory: carebridge.yaml, Synapse's homeserver.yaml, the
    appservice registration, signing key, archive key and log config.

    Secrets come from Python's `secrets` module and every file holding one is mode 0600.
    The homeserver is set up for compliance: no self-registration, no guests, no
    federation, history never purged, a strong password policy, the Carebridge module.

    With --production the same baseline is written for docker-compose.yml, plus
    production.yaml (PostgreSQL, Redis, worker map, metrics listener), workers/*.yaml,
    compose.env and secrets/ (see docs/operator/production.md).
    """
    if production:
        if not public_url:
            fail("--production needs --public-url https://<the proxy's DNS name>")
        assert public_url is not None
        _init_production(
            ComposeOptions(
                data_dir=data_dir,
                server_name=server_name,
                public_url=public_url,
                organization_name=organization_name,
                synapse_db_url=synapse_db_url,
                database_url=database_url,
                redis_url=redis_url,
                turn_host=turn_host,
                force=force,
            )
        )
        return
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


def _init_production(options: ComposeOptions) -> None:
    try:
        config_path = init_compose(options)
    except (InitError, ValueError) as exc:
        fail(str(exc))
        return
    env_file = config_path.parent / "compose.env"
    click.echo(f"Wrote {config_path.parent} (secrets in {config_path.parent / 'secrets'}, mode 0600)")
    click.echo(f"Next: docker compose --env-file {env_file} up -d --build")
