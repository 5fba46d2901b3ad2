"""Production keeps Synapse on PostgreSQL and backs it up with pg_dump: the restore steps
in docs/operator/backup-restore.md, run verbatim on the local PostgreSQL, give back a
Synapse where every account signs in and every message is there."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

import psycopg2
import pytest
import yaml
from nio import RoomCreateResponse, RoomMessagesResponse, RoomSendResponse
from sqlalchemy.engine import make_url

from provisioning.ops.production import psycopg2_args
from tests.harness.databases import pg_base_url
from tests.harness.stack import Stack

pytestmark = pytest.mark.slow
DOC = Path(__file__).resolve().parents[2] / "docs" / "operator" / "backup-restore.md"


def documented_steps() -> str:
    """The shell block the document marks as tested."""
    text = DOC.read_text()
    found = re.search(r"<!-- tested: [^>]*-->\n```sh\n(.*?)```", text, re.S)
    assert found, "the tested block is missing from backup-restore.md"
    return found.group(1)


def admin(base: str, *statements: str) -> None:
    args = {k: v for k, v in psycopg2_args(base).items() if not k.startswith("cp_")}
    conn = psycopg2.connect(**args)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


async def test_documented_pg_dump_restore_gives_back_synapse(tmp_path: Path) -> None:
    base = pg_base_url()
    assert base is not None
    suffix = secrets.token_hex(4)
    source_db, restored_db = f"cb_syn_{suffix}", f"cb_syn_restored_{suffix}"
    admin(
        base,
        f"CREATE DATABASE \"{source_db}\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
    )
    url = make_url(base)
    synapse_args = psycopg2_args(str(url.set(database=source_db)))
    stack = Stack(root=tmp_path / "pg", synapse_database_args=synapse_args)
    try:
        stack.init()
        stack.start_synapse()
        stack.start_bridge()
        alice_id, alice_pw = await stack.create_user("alice")
        bob_id, _ = await stack.create_user("bob")
        alice = await stack.login(alice_id, alice_pw)
        room = await alice.room_create(is_direct=True, invite=[bob_id])
        assert isinstance(room, RoomCreateResponse), room
        sent = await alice.room_send(room.room_id, "m.room.message", {"msgtype": "m.text", "body": "before"})
        assert isinstance(sent, RoomSendResponse), sent
        await alice.close()
        stack.stop()

        env = {
            **os.environ,
            "PGHOST": url.host or "127.0.0.1",
            "PGPORT": str(url.port or 5432),
            "PGUSER": url.username or "postgres",
            "SYNAPSE_DB": source_db,
            "RESTORED_DB": restored_db,
        }
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        done = subprocess.run(
            ["sh", "-e", "-c", documented_steps()], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        # Nothing of the old database is used from here on.
        admin(base, f'DROP DATABASE "{source_db}" WITH (FORCE)')

        config = stack.s.path(stack.s.synapse.config)
        homeserver = yaml.safe_load(config.read_text())
        homeserver["database"]["args"]["dbname"] = restored_db
        config.write_text(yaml.safe_dump(homeserver, sort_keys=False))
        stack.start_synapse()
        alice = await stack.login(alice_id, alice_pw)
        try:
            history = await alice.room_messages(room.room_id, limit=20)
            assert isinstance(history, RoomMessagesResponse), history
            assert "before" in [e.source["content"].get("body") for e in history.chunk]
        finally:
            await alice.close()
    finally:
        stack.stop()
        admin(base, f'DROP DATABASE IF EXISTS "{source_db}" WITH (FORCE)',
              f'DROP DATABASE IF EXISTS "{restored_db}" WITH (FORCE)')  # fmt: skip
