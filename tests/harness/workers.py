"""A production-shaped stack without Docker: Synapse on PostgreSQL, Redis, one worker, the bridge.

Synapse's main process and one generic worker (the appservice sender: it, not the main
process, delivers transactions to the bridge) run from the configs `carebridge init
--production` writes, rendered for loopback ports. Both databases are fresh PostgreSQL
databases on CAREBRIDGE_TEST_PG_URL's server (Synapse's with the C collation it requires);
Redis comes from CAREBRIDGE_TEST_REDIS_URL. Unset locally: skipped; CI=1: a failure.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field

import psycopg2
from sqlalchemy.engine import make_url

from bridge.core.registration import load_registration
from config.settings import load_settings
from provisioning.ops.production import (
    MainProcess,
    ProductionOptions,
    Topology,
    WorkerSpec,
    init_production,
    psycopg2_args,
    redis_target,
    synapse_argv,
)
from tests.harness.databases import pg_base_url, required_env
from tests.harness.stack import Stack, free_port, wait_http

REDIS_ENV = "CAREBRIDGE_TEST_REDIS_URL"
WORKER = "appservice1"
CLIENT_WORKER = "client1"


def redis_url() -> str:
    """The Redis URL for worker tests, or skip (locally) / fail (CI=1) when unset."""
    return required_env(REDIS_ENV, "the worker test")


def _admin_connection(base_url: str) -> psycopg2.extensions.connection:
    args = {k: v for k, v in psycopg2_args(base_url).items() if not k.startswith("cp_")}
    conn = psycopg2.connect(**args)
    conn.autocommit = True
    return conn


def scrape(url: str) -> dict[str, float]:
    """Prometheus text exposition -> {'name{labels}': value} (comments skipped)."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*(?:\{.*\})?)\s+(\S+)", line)
        if match and not line.startswith("#"):
            samples[match.group(1)] = float(match.group(2))
    return samples


def metric(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        if base == name and all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total


@dataclass
class WorkerStack(Stack):
    """Stack whose Synapse is a main process + one appservice-sender worker on PostgreSQL."""

    worker: subprocess.Popen[bytes] | None = None
    databases: list[str] = field(default_factory=list)
    topology: Topology | None = None
    client_worker: bool = False  # also a generic worker serving the client API
    client: subprocess.Popen[bytes] | None = None

    def init(self) -> None:
        pg = pg_base_url()
        redis = redis_url()
        assert pg is not None
        suffix = secrets.token_hex(5)
        synapse_db, bridge_db = f"cb_syn_{suffix}", f"cb_brg_{suffix}"
        conn = _admin_connection(pg)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"CREATE DATABASE \"{synapse_db}\" ENCODING 'UTF8' LC_COLLATE 'C' "
                    "LC_CTYPE 'C' TEMPLATE template0"
                )
                cur.execute(f'CREATE DATABASE "{bridge_db}"')
        finally:
            conn.close()
        self.databases = [synapse_db, bridge_db]
        base = make_url(pg)
        target = redis_target(redis)
        if target.dbid is None:  # keep Synapse's Redis cache keys apart from other users
            target = redis_target(redis.rstrip("/") + f"/{1 + secrets.randbelow(15)}")
        self.topology = Topology(
            main=MainProcess(
                host="127.0.0.1",
                bind_addresses=("127.0.0.1",),
                client_port=free_port(),
                replication_port=free_port(),
                metrics_port=free_port(),
            ),
            workers=(
                WorkerSpec(
                    WORKER,
                    "appservice",
                    host="127.0.0.1",
                    bind_addresses=("127.0.0.1",),
                    http_port=free_port(),
                    metrics_port=free_port(),
                ),
                *(
                    [
                        WorkerSpec(
                            CLIENT_WORKER,
                            "client",
                            host="127.0.0.1",
                            bind_addresses=("127.0.0.1",),
                            http_port=free_port(),
                            metrics_port=free_port(),
                        )
                    ]
                    if self.client_worker
                    else []
                ),
            ),
        )
        data_dir = self.root / "data"
        bridge_port, web_port = free_port(), free_port()
        self.config_path = init_production(
            ProductionOptions(
                data_dir=data_dir,
                # Synapse's Redis channels are named after the server: unique per run.
                server_name=f"w{suffix}.carebridge.test",
                public_url=f"http://127.0.0.1:{self.topology.main.client_port}",
                synapse_db_url=base.set(drivername="postgresql", database=synapse_db).render_as_string(
                    hide_password=False
                ),
                database_url=base.set(database=bridge_db).render_as_string(hide_password=False),
                redis=target,
                topology=self.topology,
                runtime_dir=None,
                media_dir=str(data_dir.resolve() / "media"),
                run_dir=str(data_dir.resolve() / "run"),
                bridge_host="127.0.0.1",
                bridge_bind="127.0.0.1",
                bridge_port=bridge_port,
                web_port=web_port,
                testing=True,
                log_level="INFO",
            )
        )
        self.settings = load_settings(self.config_path)
        reg = load_registration(self.s.path(self.s.bridge.registration))
        self.as_token, self.hs_token = reg.as_token, reg.hs_token

    @property
    def worker_spec(self) -> WorkerSpec:
        assert self.topology is not None
        return self.topology.workers[0]

    @property
    def client_worker_url(self) -> str:
        """The client API of the client worker (client_worker=True)."""
        assert self.topology is not None
        return f"http://127.0.0.1:{self.topology.workers[1].http_port}"

    @property
    def main_metrics_url(self) -> str:
        assert self.topology is not None
        return f"http://127.0.0.1:{self.topology.main.metrics_port}/_synapse/metrics"

    @property
    def worker_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.worker_spec.metrics_port}/_synapse/metrics"

    def start_synapse(self) -> None:
        data_dir = self.s.data_dir
        logs = data_dir / "logs"
        self.synapse = self._spawn(
            [sys.executable, "-m", "synapse.app.homeserver", *synapse_argv(data_dir)], "synapse.out"
        )
        wait_http(f"{self.hs_url}/health", 120, self.synapse, logs / "synapse.out")
        self.worker = self._spawn(
            [sys.executable, "-m", "synapse.app.generic_worker", *synapse_argv(data_dir, WORKER)],
            f"{WORKER}.out",
        )
        wait_http(
            f"http://127.0.0.1:{self.worker_spec.http_port}/health", 120, self.worker, logs / f"{WORKER}.out"
        )
        if self.client_worker:
            self.client = self._spawn(
                [sys.executable, "-m", "synapse.app.generic_worker", *synapse_argv(data_dir, CLIENT_WORKER)],
                f"{CLIENT_WORKER}.out",
            )
            wait_http(f"{self.client_worker_url}/health", 120, self.client, logs / f"{CLIENT_WORKER}.out")

    def stop(self) -> None:
        self.stop_bridge()
        for proc in (self.client, self.worker, self.synapse):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.client = self.worker = self.synapse = None
        if self.databases:
            conn = _admin_connection(pg_base_url() or "")
            try:
                with conn.cursor() as cur:
                    for name in self.databases:
                        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                conn.close()
            self.databases = []

    def log_text(self) -> dict[str, str]:
        """Every log this stack wrote: Synapse main, the worker, the bridge."""
        logs = self.s.data_dir / "logs"
        return {p.name: p.read_text(errors="replace") for p in sorted(logs.glob("*.out"))}
