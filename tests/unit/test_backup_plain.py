"""The plain backup file (provisioning/ops/backup_plain.py): the database dumped into the
file itself (its header inserted in front, or the dump copied once behind it) makes the
same tar, whose digests and whole-file SHA-256 are those of the bytes on disk."""

from __future__ import annotations

import hashlib
import sqlite3
import tarfile
from pathlib import Path

import pytest

from bridge.compliance.safeguards.ledger import inspect_backup
from provisioning.ops import backup_plain
from provisioning.ops.backup_plain import PlainBackup, check_written, header_of_length, member_info
from provisioning.ops.dbcopy import sqlite_online_backup


def _source_db(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
    db.executemany("INSERT INTO t (body) VALUES (?)", [(bytes([n % 256]) * 3000,) for n in range(200)])
    db.commit()
    db.close()
    return path


def _write(tmp_path: Path, name: str) -> tuple[PlainBackup, dict[str, bytes]]:
    source = _source_db(tmp_path / "source.db")
    small, empty = tmp_path / "odd.bin", tmp_path / "empty.bin"
    small.write_bytes(b"\x00sealed\xff" * 77)  # not a multiple of 512
    empty.write_bytes(b"")
    with PlainBackup(tmp_path / name) as writer:
        sqlite_online_backup(source, writer.database_target)
        writer.add_database("db/carebridge.sqlite3")
        writer.add(small, "media/ab/odd.bin")
        writer.add(empty, "config/empty")
        writer.finish({"format": "carebridge-backup/1"})
    expected = {"media/ab/odd.bin": small.read_bytes(), "config/empty": b""}
    return writer, expected


@pytest.mark.parametrize("in_place", [True, False])
def test_the_database_in_place_or_copied_makes_the_same_checked_tar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool
) -> None:
    if in_place and not backup_plain._can_insert(tmp_path):
        pytest.skip("this file system cannot insert a range (the copy is tested)")
    if not in_place:
        monkeypatch.setattr(backup_plain, "_can_insert", lambda _directory: False)
    writer, expected = _write(tmp_path, "b.tar")
    path = writer.path
    assert writer.in_place is in_place
    assert (path.stat().st_mode & 0o777) == 0o600
    assert writer.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with tarfile.open(path) as tar:
        names = tar.getnames()
        contents = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
        first = tar.getmembers()[0]
    assert names[0] == "db/carebridge.sqlite3" and names[-1] == "manifest.json"
    assert first.offset_data == 4096 or first.offset_data % 4096 == 0, "the dump starts on a block"
    for name, data in expected.items():
        assert contents[name] == data
    copy = tmp_path / "restored.db"
    copy.write_bytes(contents["db/carebridge.sqlite3"])
    assert sqlite3.connect(copy).execute("SELECT count(*) FROM t").fetchone() == (200,)
    assert writer.digests == {
        name: hashlib.sha256(data).hexdigest() for name, data in contents.items() if name != "manifest.json"
    }
    assert check_written(path, writer.digests)
    assert inspect_backup(path) == (True, False, writer.sha256, path.stat().st_size)
    assert not list(tmp_path.glob("b.tar.*")), "no copy left behind"


def test_a_damaged_file_fails_its_checks(tmp_path: Path) -> None:
    writer, _ = _write(tmp_path, "b.tar")
    path, data = writer.path, writer.path.read_bytes()
    flipped = tmp_path / "flipped.tar"
    flipped.write_bytes(data[:5000] + bytes([data[5000] ^ 1]) + data[5001:])
    assert check_written(flipped, writer.digests), "the structure check does not read the data..."
    assert inspect_backup(flipped)[0] is False, "...verify-backup does"
    short = tmp_path / "short.tar"
    short.write_bytes(data[: len(data) // 2])
    assert not check_written(short, writer.digests)
    assert not check_written(path, {**writer.digests, "media/missing": "0" * 64})


def test_the_padded_header_is_exactly_one_block_of_the_file_system() -> None:
    for length in (1536, 4096, 65536):
        head = header_of_length(member_info("db/carebridge.sqlite3", 123 * 4096, 0), length)
        assert len(head) == length
