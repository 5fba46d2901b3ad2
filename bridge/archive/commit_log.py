"""Every committed archive transaction's head reaches the heads log before it is acknowledged.

The order of writes is what keeps a crash from ever looking like tampering:

1. the database transaction commits (durable: SQLite WAL with synchronous=FULL, PostgreSQL
   with synchronous_commit on);
2. its new head (seq, row hash, the chain key's MAC) is appended to the heads log and
   fsynced, here;
3. only then does the writer return, and Synapse get its 200.

So a logged head always names a committed row: the log is never ahead of the database,
whatever moment the process dies at. A crash between 1 and 2 leaves at most the rows of
the transactions in flight after the newest line; those were never acknowledged (Synapse
still holds them and redelivers), `archive verify` reports them as "not yet logged" rather
than as a finding, and the bridge logs its head again when it starts.

On SQLite the writer's own database thread appends the line right after COMMIT, in the
same hand-off (bridge.archive.one_trip): the line costs its fsync and nothing else. Other
commits are grouped here: while one line is being fsynced, commits that finish meanwhile
wait for the next line, which carries only the newest head (a head vouches for every row
before it through the chain). One append and one fsync per transaction or batch, never
per row.
45 CFR 164.312(c)(1) integrity, 164.312(b) audit controls.
"""

from __future__ import annotations

import asyncio
import logging
import os
import syslog
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bridge.archive.chain import ChainKey
from bridge.archive.heads_log import COMMIT, head_line
from bridge.core.clock import now_ms

log = logging.getLogger(__name__)


class HeadsLogError(OSError):
    """The head of a committed transaction could not be written to the heads log."""


class CommitLog:
    """Appends the head of each committed archive transaction to the heads log, fsynced,
    grouping the commits that finish while an append is under way."""

    def __init__(
        self,
        path: Path,
        chain_key: Callable[[], ChainKey | None],
        to_syslog: bool = False,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.path = path
        self.chain_key = chain_key
        self.to_syslog = to_syslog
        self.clock = clock
        self.appends = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heads-log")
        self._durable = 0
        self._in_flight = 0
        self._pending: tuple[int, bytes] | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._file: tuple[int, int] | None = None  # (inode, size) after our last append
        self._lock = threading.Lock()  # appends come from the flusher and the writer's thread
        self._fd: tuple[int, int] | None = None  # (descriptor, inode) of the open log

    @property
    def durable_seq(self) -> int:
        """The newest seq this process has in the log (fsynced)."""
        return self._durable

    def ensure_file(self) -> None:
        """Create the log (0600, folder entry fsynced) if it does not exist yet, so it
        exists before the first row it will vouch for is committed."""
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    async def record(self, seq: int, row_hash: bytes) -> None:
        """Return once a head at `seq` or later is in the log, fsynced; raises
        HeadsLogError if the append failed (the caller must not acknowledge)."""
        if seq <= self._durable:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, future))
        if seq > max(self._in_flight, self._pending[0] if self._pending else 0):
            self._pending = (seq, row_hash)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="carebridge-heads-log")
        await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending is not None:
                seq, row_hash = self._pending
                self._pending, self._in_flight = None, seq
                error: BaseException | None = None
                try:
                    await loop.run_in_executor(self._executor, self.append_committed, seq, row_hash)
                except OSError as exc:
                    error = exc
                self._settle(seq, error)
        finally:
            self._flusher = None

    def _settle(self, seq: int, error: BaseException | None) -> None:
        waiting = []
        for wanted, future in self._waiters:
            if wanted > seq and not (error is None and wanted <= self._durable):
                waiting.append((wanted, future))
            elif not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    failed = error if isinstance(error, HeadsLogError) else HeadsLogError(str(error))
                    future.set_exception(failed)
        self._waiters = waiting

    def append_committed(self, seq: int, row_hash: bytes) -> None:
        """Append the head of a transaction that has committed, and fsync it, on the
        calling thread (a no-op if a later head is in already); raises HeadsLogError."""
        with self._lock:
            if seq <= self._durable:
                return
            try:
                self._append(seq, row_hash)
            except OSError as exc:
                log.error("archive head seq=%d not written to the heads log %s (%s)", seq, self.path, exc)
                raise HeadsLogError(f"heads log append failed: {exc}") from exc
            self._durable = seq

    def _open(self) -> tuple[int, os.stat_result]:
        """The log's descriptor, kept open between appends, and the file's status; re-opened
        (and the folder entry fsynced if the file is new) when the path no longer names the
        file we hold (deleted, or replaced)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if self._fd is not None and st is not None and st.st_ino == self._fd[1]:
            return self._fd[0], st
        if self._fd is not None:
            os.close(self._fd[0])
            self._fd = None
        if st is None:
            self.ensure_file()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        st = os.fstat(fd)
        self._fd = (fd, st.st_ino)
        return fd, st

    def _append(self, seq: int, row_hash: bytes) -> None:
        chain = self.chain_key()
        mac = chain.mac(seq, row_hash) if chain is not None and chain.covers(seq) else None
        line = head_line(seq, row_hash, self.clock(), kind=COMMIT, mac=mac)
        fd, before = self._open()
        if self._file is not None and (before.st_ino != self._file[0] or before.st_size < self._file[1]):
            # Lines only ever grow the file (other processes append too): a smaller or
            # different file means someone cut or replaced the log while we ran.
            log.error(
                "the heads log %s was truncated or replaced while the bridge ran (was %d bytes, now %d)",
                self.path,
                self._file[1],
                before.st_size,
            )
        data = (line + "\n").encode()
        os.write(fd, data)
        # fdatasync: the line and the file's new size, without the timestamps fsync adds.
        os.fdatasync(fd)
        self._file = (before.st_ino, before.st_size + len(data))
        self.appends += 1
        if self.to_syslog:
            syslog.openlog("carebridge", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
            syslog.syslog(syslog.LOG_NOTICE, f"archive chain head {line}")

    async def close(self) -> None:
        """Wait for the append under way, then let the thread end."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        self._executor.shutdown(wait=False)
        with self._lock:
            if self._fd is not None:
                os.close(self._fd[0])
                self._fd = None
