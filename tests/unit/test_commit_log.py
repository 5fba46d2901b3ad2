"""The commit log: each committed head is in the heads log (fsynced) before record()
returns; commits that finish during an append share the next one; a failed append is an
error the caller sees; a lower head is never written after a higher one."""

from __future__ import annotations

import asyncio
import logging
import stat
from pathlib import Path

import pytest

from bridge.archive.chain import ChainKey
from bridge.archive.commit_log import CommitLog, HeadsLogError
from bridge.archive.heads_log import COMMIT, read_heads_log


def digest(seq: int) -> bytes:
    return seq.to_bytes(32, "big")


async def test_record_returns_with_the_head_and_its_mac_in_the_log(tmp_path: Path) -> None:
    key = ChainKey.generate(3)
    log = CommitLog(tmp_path / "logs" / "heads.log", lambda: key, clock=lambda: 1234)
    try:
        await log.record(2, digest(2))
        await log.record(3, digest(3))
        await log.record(3, digest(3))  # already durable: no second line
    finally:
        await log.close()
    lines = read_heads_log(tmp_path / "logs" / "heads.log")
    assert [(h.kind, h.seq, h.row_hash, h.published_ts) for h in lines] == [
        (COMMIT, 2, digest(2), 1234),
        (COMMIT, 3, digest(3), 1234),
    ]
    assert lines[0].mac is None, "row 2 is before the chain key's first row"
    assert lines[1].mac == key.mac(3, digest(3))
    assert stat.S_IMODE((tmp_path / "logs" / "heads.log").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700


async def test_commits_finishing_during_an_append_share_the_next_one(tmp_path: Path) -> None:
    log = CommitLog(tmp_path / "heads.log", lambda: None)
    try:
        await asyncio.gather(*(log.record(seq, digest(seq)) for seq in range(1, 51)))
    finally:
        await log.close()
    seqs = [h.seq for h in read_heads_log(tmp_path / "heads.log")]
    assert log.durable_seq == 50 and seqs[-1] == 50
    assert seqs == sorted(seqs), "a lower head is never written after a higher one"
    assert log.appends == len(seqs) < 50, "grouped: fewer appends than commits"


async def test_a_failed_append_raises_and_a_later_one_recovers(tmp_path: Path) -> None:
    path = tmp_path / "heads.log"
    path.mkdir()  # a folder where the file should be: the append fails
    log = CommitLog(path, lambda: None)
    try:
        with pytest.raises(HeadsLogError):
            await log.record(1, digest(1))
        assert log.durable_seq == 0
        path.rmdir()
        await log.record(2, digest(2))
    finally:
        await log.close()
    assert [h.seq for h in read_heads_log(path)] == [2]


async def test_a_log_cut_while_running_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "heads.log"
    log = CommitLog(path, lambda: None)
    try:
        await log.record(1, digest(1))
        await log.record(2, digest(2))
        path.write_text(path.read_text().splitlines()[0] + "\n")
        with caplog.at_level(logging.ERROR, logger="bridge.archive.commit_log"):
            await log.record(3, digest(3))
    finally:
        await log.close()
    assert "truncated or replaced" in caplog.text
