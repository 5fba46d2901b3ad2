"""`carebridge init --production`: Synapse on PostgreSQL with workers and Redis, and the bridge.

The single-process baseline (`homeserver.yaml`, rendered by `init_data_dir` exactly as for
the embedded set-up) stays the compliance source of truth. Production adds, from synapse/:

- `production.yaml`: PostgreSQL is already in homeserver.yaml; this overlay holds the
  listeners (client behind the proxy, replication, metrics), Redis, `instance_map`,
  `stream_writers` and which worker sends appservice transactions;
- `workers/<name>.yaml`: one file per Synapse worker;
- `log.production.yaml`: JSON log lines on stderr;
- for docker-compose: `compose.env` (no secrets) and `secrets/*` (0600 files).

The same code renders the docker-compose layout (service names, /data inside containers)
and the loopback layout the worker test runs on this machine.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url

from bridge.core.files import write_private
from provisioning.ops.initdir import InitOptions, init_data_dir
from provisioning.ops.templates import render

WorkerRole = Literal["client", "events", "appservice"]
CONTAINER_DIR = Path("/data")
SECRETS_MOUNT = Path("/run/secrets")  # where docker-compose mounts secrets/<name>
SECRET_NAMES = (
    "postgres_password",
    "synapse_db_password",
    "carebridge_db_password",
    "redis_password",
    "turn_shared_secret",
)


@dataclass(frozen=True)
class MainProcess:
    """Synapse's main process: where workers reach it and the ports it listens on."""

    host: str = "synapse"
    bind_addresses: tuple[str, ...] = ("0.0.0.0",)  # noqa: S104 - container network only
    client_port: int = 8008
    replication_port: int = 9093
    metrics_port: int = 9000


@dataclass(frozen=True)
class WorkerSpec:
    """One Synapse generic worker and its duty."""

    name: str
    role: WorkerRole
    host: str
    http_port: int = 8008
    metrics_port: int = 9000
    replication_port: int | None = None
    bind_addresses: tuple[str, ...] = ("0.0.0.0",)  # noqa: S104 - container network only


@dataclass(frozen=True)
class Topology:
    """The Synapse processes of a deployment."""

    main: MainProcess
    workers: tuple[WorkerSpec, ...]

    @property
    def event_persisters(self) -> list[str]:
        return [w.name for w in self.workers if w.role == "events"]

    @property
    def appservice_sender(self) -> str | None:
        return next((w.name for w in self.workers if w.role == "appservice"), None)


def compose_topology() -> Topology:
    """The worker set docker-compose.yml runs (service names are the hosts)."""
    return Topology(
        main=MainProcess(),
        workers=(
            WorkerSpec("client1", "client", host="synapse-client1"),
            WorkerSpec("persister1", "events", host="synapse-persister1", replication_port=9093),
            WorkerSpec("appservice1", "appservice", host="synapse-appservice1"),
        ),
    )


@dataclass(frozen=True)
class RedisTarget:
    """Where Synapse's replication pub/sub lives."""

    host: str
    port: int = 6379
    dbid: int | None = None
    password_path: str | None = None


def redis_target(url: str, password_path: str | None = None) -> RedisTarget:
    """redis://host:port/db -> RedisTarget (the password, if any, comes from a file)."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.hostname:
        raise ValueError(f"expected redis://host:port[/db], got {url!r}")
    db = parts.path.strip("/")
    return RedisTarget(parts.hostname, parts.port or 6379, int(db) if db else None, password_path)


def psycopg2_args(url: str) -> dict[str, object]:
    """Synapse's `database.args` from a PostgreSQL URL (any driver suffix)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise ValueError("expected a postgresql:// URL for Synapse's database")
    args: dict[str, object] = {
        "user": parsed.username or "postgres",
        "dbname": parsed.database or "synapse",
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "cp_min": 5,
        "cp_max": 10,
    }
    if parsed.password:
        args["password"] = unquote(str(parsed.password))
    return args


@dataclass(frozen=True)
class ProductionOptions:
    """What `carebridge init --production` (or the worker test) asks for."""

    data_dir: Path
    server_name: str
    public_url: str
    synapse_db_url: str
    database_url: str
    redis: RedisTarget
    topology: Topology = field(default_factory=compose_topology)
    runtime_dir: Path | None = CONTAINER_DIR
    media_dir: str = "/var/lib/synapse/media"
    run_dir: str = "/tmp"  # noqa: S108 - pid files inside a container
    bridge_host: str = "bridge"
    bridge_bind: str = "0.0.0.0"  # noqa: S104 - container network only
    bridge_port: int = 8009
    web_port: int = 8080
    organization_name: str = "Carebridge"
    turn_uris: tuple[str, ...] = ()
    turn_shared_secret: str = ""
    log_level: str = "INFO"
    archive_media_dir: str = "archive-media"
    heads_log: str = "heads.log"
    module_outbox_dir: str | None = None
    web_dist_dir: str | None = None
    testing: bool = False
    force: bool = False


def init_production(opts: ProductionOptions) -> Path:
    """Write the production data directory; returns the carebridge.yaml path."""
    topo = opts.topology
    synapse_url = f"http://{topo.main.host}:{topo.main.client_port}"
    base = InitOptions(
        data_dir=opts.data_dir,
        server_name=opts.server_name,
        synapse_port=topo.main.client_port,
        bridge_port=opts.bridge_port,
        web_port=opts.web_port,
        bind_address=opts.bridge_bind,
        organization_name=opts.organization_name,
        database_url=opts.database_url,
        synapse_database_args=psycopg2_args(opts.synapse_db_url),
        testing=opts.testing,
        force=opts.force,
        runtime_dir=opts.runtime_dir,
        public_url=opts.public_url.rstrip("/"),
        appservice_url=f"http://{opts.bridge_host}:{opts.bridge_port}",
        turn_uris=opts.turn_uris,
        turn_shared_secret=opts.turn_shared_secret,
        module_outbox_dir=opts.module_outbox_dir,
        extra_settings={
            "synapse": {
                "url": synapse_url,
                "public_url": opts.public_url.rstrip("/"),
                "config": "homeserver.yaml",
            },
            "bridge": {"host": opts.bridge_bind, "port": opts.bridge_port},
            "web": {"host": opts.bridge_bind, "port": opts.web_port, "dist_dir": opts.web_dist_dir},
            "archive": {
                "key_file": "archive.key",
                "media_dir": opts.archive_media_dir,
                "heads_log": opts.heads_log,
            },
            "logging": {"level": opts.log_level, "json_format": True},
        },
    )
    config_path = init_data_dir(base)
    data_dir = opts.data_dir.resolve()
    common = {"config_dir": str(opts.runtime_dir or data_dir), "run_dir": opts.run_dir}
    write_private(
        data_dir / "production.yaml",
        render(
            "production.yaml.j2",
            **common,
            media_dir=opts.media_dir,
            main=topo.main,
            redis=opts.redis,
            replication_secret=secrets.token_urlsafe(32),
            workers=topo.workers,
            event_persisters=topo.event_persisters,
            appservice_sender=topo.appservice_sender,
        ),
    )
    write_private(
        data_dir / "log.production.yaml", render("log.production.yaml.j2", log_level=opts.log_level)
    )
    for worker in topo.workers:
        write_private(
            data_dir / "workers" / f"{worker.name}.yaml", render("worker.yaml.j2", **common, worker=worker)
        )
    if topo.workers:
        os.chmod(data_dir / "workers", 0o700)
    return config_path


def synapse_argv(data_dir: Path, worker: str | None = None) -> list[str]:
    """The config files one Synapse process loads, in order (paths as given)."""
    argv = ["-c", str(data_dir / "homeserver.yaml"), "-c", str(data_dir / "production.yaml")]
    if worker is not None:
        argv += ["-c", str(data_dir / "workers" / f"{worker}.yaml")]
    return argv


@dataclass(frozen=True)
class ComposeOptions:
    """`carebridge init --production` for docker-compose.yml (service names, generated secrets)."""

    data_dir: Path
    server_name: str
    public_url: str
    organization_name: str = "Carebridge"
    synapse_db_url: str | None = None
    database_url: str | None = None
    redis_url: str = "redis://redis:6379/0"
    turn_host: str | None = None
    force: bool = False


def init_compose(opts: ComposeOptions) -> Path:
    """Write the data dir for docker-compose.yml: configs, compose.env and secrets/ (0600)."""
    values = {name: secrets.token_urlsafe(32) for name in SECRET_NAMES}
    public_host = urlsplit(opts.public_url).hostname
    if not public_host or not opts.public_url.startswith("https://"):
        raise ValueError("--public-url must be an https:// URL (TLS terminates at the reverse proxy)")
    turn_host = opts.turn_host or public_host
    synapse_db = (
        opts.synapse_db_url or f"postgresql://synapse:{values['synapse_db_password']}@postgres:5432/synapse"
    )
    bridge_db = (
        opts.database_url
        or f"postgresql+asyncpg://carebridge:{values['carebridge_db_password']}@postgres:5432/carebridge"
    )
    prod = ProductionOptions(
        data_dir=opts.data_dir,
        server_name=opts.server_name,
        public_url=opts.public_url,
        synapse_db_url=synapse_db,
        database_url=bridge_db,
        redis=redis_target(opts.redis_url, str(SECRETS_MOUNT / "redis_password")),
        organization_name=opts.organization_name,
        turn_uris=(f"turn:{turn_host}:3478?transport=udp", f"turn:{turn_host}:3478?transport=tcp"),
        turn_shared_secret=values["turn_shared_secret"],
        archive_media_dir="/var/lib/carebridge/archive-media",
        heads_log="/var/lib/carebridge/heads/heads.log",
        module_outbox_dir="/var/lib/synapse/module-outbox",
        web_dist_dir="/opt/carebridge/webclient",
        force=opts.force,
    )
    config_path = init_production(prod)
    data_dir = opts.data_dir.resolve()
    for name, value in values.items():
        write_private(data_dir / "secrets" / name, value)
    os.chmod(data_dir / "secrets", 0o700)
    uid, gid = _deployment_owner(data_dir)
    env = {
        "CAREBRIDGE_DIR": str(data_dir),
        "CAREBRIDGE_SERVER_NAME": opts.server_name,
        "CAREBRIDGE_DOMAIN": public_host,
        "CAREBRIDGE_TURN_HOST": turn_host,
        "CAREBRIDGE_UID": str(uid),
        "CAREBRIDGE_GID": str(gid),
    }
    lines = ["# docker compose --env-file this-file up -d   (written by carebridge init --production)"]
    lines += [f"{k}={v}" for k, v in env.items()]
    write_private(data_dir / "compose.env", "\n".join(lines) + "\n")
    if os.getuid() == 0:
        _chown_tree(data_dir, uid, gid)
    return config_path


SYNAPSE_IMAGE_UID = 991


def _deployment_owner(data_dir: Path) -> tuple[int, int]:
    """Who Synapse and the bridge run as in their containers: the directory's owner, or
    Synapse's image user (991) when root writes it (services never run as root)."""
    if os.getuid() == 0:
        return SYNAPSE_IMAGE_UID, SYNAPSE_IMAGE_UID
    stat = data_dir.stat()
    return stat.st_uid, stat.st_gid


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, gid, follow_symlinks=False)
