"""The compliance report's database side, on SQLite and PostgreSQL: `carebridge backup`
reads its file back and records it (a damaged file is not "verified"), check history
remembers the last pass, and the fact queries count without decrypting anything."""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import insert

from bridge.archive.commit_log import CommitLog
from bridge.archive.keyring import Keyring
from bridge.archive.writer import ArchiveWriter
from bridge.compliance.safeguards import gather_db
from bridge.compliance.safeguards.gather import Gatherer
from bridge.compliance.safeguards.ledger import check_history, read_backup, recorded_backups, save_results
from bridge.compliance.safeguards.model import DAY_MS
from bridge.compliance.safeguards.model import Result as Verdict
from bridge.compliance.safeguards.report import evaluate
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import consumer_cursors, directory_users, failed_logins, sessions
from config.settings import load_settings
from provisioning.cli.app import main
from provisioning.ops.initdir import InitOptions, init_data_dir
from tests.unit.test_safeguards_pure import healthy, hs


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _copy_altering(source: Path, target: Path, member: str) -> None:
    """A copy of a backup whose `member` has one more line than its manifest says."""
    with tarfile.open(source, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for info in src:
            handle = src.extractfile(info)
            data = handle.read() if handle else b""
            if info.name == member:
                data += b"# changed\n"
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def _event(n: int, event_type: str = "m.room.message") -> dict[str, Any]:
    return {
        "event_id": f"$ev{n}:test",
        "room_id": "!room:test",
        "sender": "@alice:test",
        "type": event_type,
        "origin_server_ts": 1_700_000_000_000 + n,
        "content": {"msgtype": "m.text", "body": f"Patient note {n}"},
    }


async def test_backup_is_read_back_recorded_and_a_damaged_copy_does_not_verify(
    db_url: str, tmp_path: Path
) -> None:
    """Each `carebridge backup` is recorded with whether it holds the key and whether the file
    matches its manifest; a file cut short after writing reads back as not verified."""
    config = init_data_dir(InitOptions(data_dir=tmp_path / "data", database_url=db_url))
    plain, with_key = tmp_path / "b1.tar.gz", tmp_path / "b2.tar.gz"
    engine = create_engine(load_settings(config).database_url)
    await migrate(engine)
    made = await asyncio.to_thread(_cli, "backup", "-c", str(config), "--out", str(plain))
    assert made.exit_code == 0 and "read back, matches its manifest" in made.output, made.output
    made = await asyncio.to_thread(_cli, "backup", "-c", str(config), "--out", str(with_key), "--include-key")
    assert made.exit_code == 0, made.output
    try:
        newest, oldest = await recorded_backups(engine)
        assert (oldest.includes_key, oldest.verified, oldest.file_present) == (False, True, True)
        assert (newest.includes_key, newest.verified) == (True, True)
        assert newest.created_ms >= oldest.created_ms
        with_key.unlink()
        assert (await recorded_backups(engine))[0].file_present is False
    finally:
        await engine.dispose()
    data = plain.read_bytes()
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(data[: len(data) // 2])
    assert read_backup(damaged) == (False, False)
    altered = tmp_path / "altered.tar.gz"
    _copy_altering(plain, altered, "config/carebridge.yaml")
    assert read_backup(altered) == (False, False)
    assert read_backup(plain) == (True, False)


async def test_check_history_keeps_the_last_pass(db_url: str) -> None:
    """A row that passed and later fails keeps the time of its last pass."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        first = evaluate(healthy(), "x")
        await save_results(engine, first)
        history = await check_history(engine)
        assert history["authentication"] == first.generated_ms and len(history) == len(first.rows)
        later = healthy(homeserver=hs(enable_registration=True))
        later = type(later)(**{**later.__dict__, "now_ms": later.now_ms + 60_000})
        second = evaluate(later, "x", history)
        row = next(r for r in second.rows if r.safeguard.id == "authentication")
        assert row.result is Verdict.FAIL and row.last_true_ms == first.generated_ms
        await save_results(engine, second)
        again = await check_history(engine)
        assert again["authentication"] == first.generated_ms
        assert again["backup"] == later.now_ms
    finally:
        await engine.dispose()


async def test_fact_queries_count_without_decrypting(db_url: str) -> None:
    """Archive rows, key ids, export records, consumer lag; the ledger's open sessions, first
    sign-ins and failed attempts; people on shifts: all from metadata."""
    engine = create_engine(db_url)
    now = int(time.time() * 1000)
    try:
        await migrate(engine)
        writer = ArchiveWriter(engine, Keyring.generate())
        events = [_event(n) for n in range(5)] + [_event(9, "org.carebridge.export")]
        await writer.ingest_transaction("t1", events)
        async with engine.begin() as conn:
            await conn.execute(insert(consumer_cursors).values(name="compliance.commands", seq=2))
            await conn.execute(
                insert(directory_users),
                [
                    {
                        "user_id": uid,
                        "username": uid[1:5],
                        "display_name": "N",
                        "email": "n@x.example",
                        "role": "staff",
                        "groups": [],
                        "schedule": sched,
                        "active": active,
                        "managed_by": "cli",
                        "created_ts": now - DAY_MS,
                        "updated_ts": now,
                    }
                    for uid, sched, active in (
                        ("@ann1:t", "day", True),
                        ("@bob1:t", None, True),
                        ("@cat1:t", "day", False),
                    )
                ],
            )
            await conn.execute(
                insert(sessions),
                [
                    {
                        "user_id": "@ann1:t",
                        "device_id": "D1",
                        "login_ts": now - 5000,
                        "logout_ts": None,
                        "close_reason": None,
                    },
                    {
                        "user_id": "@cat1:t",
                        "device_id": "D2",
                        "login_ts": None,
                        "logout_ts": now - 9000,
                        "close_reason": "automatic",
                    },
                ],
            )
            await conn.execute(
                insert(failed_logins).values(
                    event_id="$f1", user_id=None, ts=now - 100, reason="unknown_user"
                )
            )
        archive = await gather_db.archive_facts(engine)
        assert (archive.rows, archive.head_seq, archive.exports) == (6, 6, 1)
        assert archive.consumer_lag == {"compliance.commands": 4} and len(archive.key_ids_used) == 1
        people = await gather_db.directory_people(engine)
        assert (people["@ann1:t"].open_sessions, people["@ann1:t"].ever_signed_in) == (1, True)
        assert people["@cat1:t"].ever_signed_in is False and people["@ann1:t"].initial_password is None
        activity = await gather_db.activity_facts(engine, now)
        assert activity.scheduled_people == 1 and activity.failed_logins_7d == 1
        assert activity.last_automatic_logout_ms == now - 9000
        assert activity.last_session_record_ms == now - 100
        assert await gather_db.organization_name(engine) is None
    finally:
        await engine.dispose()


async def test_archive_is_verified_even_when_synapse_cannot_be_asked(db_url: str, tmp_path: Path) -> None:
    """With Synapse down the chain is still walked and checked against the heads log (neither
    needs Synapse); which part could not be read (the published heads) is named."""
    config = init_data_dir(InitOptions(data_dir=tmp_path / "data", database_url=db_url))
    settings = load_settings(config)
    settings = settings.model_copy(
        update={"synapse": settings.synapse.model_copy(update={"url": "http://127.0.0.1:9"})}
    )
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        keyring = Keyring.load(settings.path(settings.archive.key_file))
        # Written as the bridge writes: every commit's head in the heads log.
        heads_log = CommitLog(settings.path(settings.archive.heads_log), keyring.chain_key)
        writer = ArchiveWriter(engine, keyring, commit_log=heads_log)
        await writer.ingest_transaction("t1", [_event(n) for n in range(7)])
        await writer.close()
        seen: list[int] = []
        facts, _history = await Gatherer(settings, engine, "token", progress=seen.append).facts()
        assert facts.verify is not None
        assert (facts.verify.ok, facts.verify.rows, facts.verify.tail_checked) == (True, 7, True)
        # The heads log's one head was checked; none could be read from Synapse.
        assert facts.verify.heads_checked == 1 and facts.verify.newest_head_ms is None
        assert seen[-1] == 7
        assert "published_heads" in facts.unreadable and "accounts" in facts.unreadable
    finally:
        await engine.dispose()
