"""deploy/postgres/init-databases.sh, run as the postgres image runs it (first start, as the
postgres user), on a private throwaway cluster: two roles that log in with the passwords
from the secrets, Synapse's database with the C collation Synapse requires."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.harness.stack import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "init-databases.sh"


@pytest.fixture
def private_cluster() -> Iterator[tuple[Path, int]]:
    """A PostgreSQL cluster owned by the `postgres` user in a temp dir: (socket dir, port)."""
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("runuser", "initdb", "pg_ctl")):
        pytest.skip("needs root, runuser, initdb and pg_ctl to start a private cluster")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres system user")
    root = Path(tempfile.mkdtemp(prefix="cb-pginit-"))
    os.chown(root, owner.pw_uid, owner.pw_gid)
    port = free_port()

    def as_postgres(*argv: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True)

    try:
        as_postgres("initdb", "-D", str(root / "data"), "-U", "postgres", "--encoding=UTF8", "--locale=C",
                    "--auth-local=trust", "--auth-host=scram-sha-256")  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
        as_postgres("pg_ctl", "-D", str(root / "data"), "-o", options, "-l", str(root / "log"), "-w", "start")
        yield root, port
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                "pg_ctl",
                "-D",
                str(root / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_init_script_creates_both_databases_and_roles(private_cluster: tuple[Path, int]) -> None:
    socket_dir, port = private_cluster
    script = socket_dir / "init-databases.sh"
    shutil.copy(SCRIPT, script)
    os.chmod(script, 0o755)
    passwords = {"SYNAPSE_DB_PASSWORD": "syn-Pw_123'quote", "CAREBRIDGE_DB_PASSWORD": "cb-Pw_456"}
    env = {"POSTGRES_USER": "postgres", "PGHOST": str(socket_dir), "PGPORT": str(port), **passwords}
    env_args = [f"{k}={v}" for k, v in env.items()]
    done = subprocess.run(
        ["runuser", "-u", "postgres", "--", "env", *env_args, "bash", str(script)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr

    def connect(user: str, password: str, dbname: str) -> psycopg2.extensions.connection:
        return psycopg2.connect(host="127.0.0.1", port=port, user=user, password=password, dbname=dbname)

    with connect("synapse", passwords["SYNAPSE_DB_PASSWORD"], "synapse") as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT datcollate, datctype, pg_encoding_to_char(encoding) "
            "FROM pg_database WHERE datname = 'synapse'"
        )
        assert cur.fetchone() == ("C", "C", "UTF8")
        cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'synapse'")
        assert cur.fetchone() == ("synapse",)
    with (
        connect("carebridge", passwords["CAREBRIDGE_DB_PASSWORD"], "carebridge") as conn,
        conn.cursor() as cur,
    ):
        cur.execute("CREATE TABLE owned_here (x int)")  # the role owns its database
    with pytest.raises(psycopg2.OperationalError):
        connect("carebridge", "wrong", "carebridge")
