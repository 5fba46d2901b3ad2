"""The plain (not gzipped) backup file, written with one pass over the data.

The database is dumped straight into the file that becomes the backup, and on Linux file
systems that can insert a range at the start of a file (ext4, XFS) a tar header is then put
in front of it without moving a byte: the first member's header is padded to one file-system
block with a pax `comment` record, which every tar reader skips. Elsewhere the dump is copied
once, in the kernel (`copy_file_range`), behind that same header. The other members follow
as in any tar.

While the database is dumped (one core), a helper thread flushes the file to disk and reads
what was written. Every member's SHA-256, and the SHA-256 of the whole file, are then read
from the backup file itself (on two threads): the digests in the manifest describe what the
file holds, not what was meant to go into it. The database member is hashed where it lies
before its header is inserted (the insert drops the file's page cache). `check_written`
then reads the finished file as a tar (headers and manifest); `carebridge verify-backup`
reads every byte. The file is 0600 from its creation and flushed (fsync) before `finish`
returns; the caller renames it into place. 45 CFR 164.308(a)(7)(ii)(A) data backup plan.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import io
import json
import os
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bridge.core.backup_format import MANIFEST_MEMBER

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
HASH_CHUNK = 4 << 20
FALLOC_FL_INSERT_RANGE = 0x20
FLUSH_EVERY = 0.1  # seconds
Advance = Callable[[int], None]


def _datasync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)


def _padded(length: int) -> int:
    return -(-length // BLOCK) * BLOCK


def member_info(arcname: str, size: int, mtime: float) -> tarfile.TarInfo:
    """A member as every backup writes it: a regular file, owner root, mode 0600."""
    info = tarfile.TarInfo(arcname)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def header_of_length(info: tarfile.TarInfo, length: int) -> bytes:
    """The member's header padded to exactly `length` bytes (a multiple of 512, at least
    1536) with a pax `comment` record, which tar readers ignore."""
    for filler in range(length - 2 * BLOCK - 12, 0, -1):
        info.pax_headers = {"comment": " " * filler}
        buf = header(info)
        if len(buf) == length:
            info.pax_headers = {}
            return buf
    raise ValueError(f"no tar header of {length} bytes for {info.name}")


def _insert_range(fd: int, length: int) -> bool:
    """Insert `length` bytes of zeroes at the start of the file without moving its data
    (fallocate FALLOC_FL_INSERT_RANGE); False where the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fallocate = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return False
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    return bool(fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, length) == 0)


def copy_range(src: int, dst: int, src_offset: int, dst_offset: int, length: int) -> None:
    """Copy `length` bytes between two files (in the kernel where it can); raises if the
    source ends early."""
    done = 0
    try:
        while done < length and hasattr(os, "copy_file_range"):
            n = os.copy_file_range(src, dst, length - done, src_offset + done, dst_offset + done)
            if n == 0:
                break
            done += n
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
    while done < length:
        data = os.pread(src, min(HASH_CHUNK, length - done), src_offset + done)
        if not data:
            break
        os.pwrite(dst, data, dst_offset + done)
        done += len(data)
    if done != length:
        raise OSError(errno.EIO, f"file ended after {done} of {length} bytes")


def hash_region(digest: Any, fd: int, offset: int, length: int) -> Any:
    """Feed `length` bytes of the file from `offset` to `digest` (large reads: hashlib lets
    go of the GIL); returns the digest."""
    end = offset + length
    view = memoryview(bytearray(min(HASH_CHUNK, length)))  # one buffer, read into again and again
    while offset < end:
        want = view[: min(len(view), end - offset)]
        n = _read_into(fd, want, offset)
        if n <= 0:
            raise OSError(errno.EIO, "backup file shorter than written")
        digest.update(want[:n])
        offset += n
    return digest


def _read_into(fd: int, buf: memoryview, offset: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(fd, [buf], offset)
    data = os.pread(fd, len(buf), offset)
    buf[: len(data)] = data
    return len(data)


def _can_insert(directory: Path) -> bool:
    """Whether files in `directory` take FALLOC_FL_INSERT_RANGE (tried on a scratch file)."""
    probe = directory / ".insert-probe"
    fd = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        length = max(4096, os.fstat(fd).st_blksize)
        os.pwrite(fd, bytes(2 * length), 0)
        return _insert_range(fd, length)
    finally:
        os.close(fd)
        probe.unlink()


class PlainBackup:
    """Writes one plain-tar backup at `path` (a new 0600 file). Dump the database into
    `database_target`, then `add_database`, `add` every other member, `finish(manifest)`."""

    def __init__(self, path: Path, advance: Advance | None = None) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self.advance = advance
        self._pos = 0
        self._hashed = 0  # the whole file's SHA-256 covers [0, _hashed)
        self._members = ThreadPoolExecutor(1)  # each member's SHA-256, in turn
        self._whole_pool = ThreadPoolExecutor(1)  # the whole file's SHA-256, in order
        self._whole = hashlib.sha256()
        self._digests: dict[str, Future[str]] = {}
        self.digests: dict[str, str] = {}
        self.sha256 = ""
        self.in_place = _can_insert(path.parent)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._members.shutdown()
        self._whole_pool.shutdown()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def database_target(self) -> Path:
        """The file to dump the database into: the backup file itself (still empty)."""
        return self.path

    @contextmanager
    def flushing(self) -> Iterator[None]:
        """While the database is dumped (one core busy), a helper thread keeps flushing the
        file to disk and reads what was written (a page's first read after it was written
        costs the kernel more than the next ones), so the flush that follows is short and
        the hashing that follows fast."""
        stop = threading.Event()

        def flush() -> None:
            buf = memoryview(bytearray(HASH_CHUNK))
            done = 0
            while not stop.wait(FLUSH_EVERY):
                _datasync(self._fd)
                end = os.fstat(self._fd).st_size
                while done + len(buf) <= end and not stop.is_set():
                    read = _read_into(self._fd, buf, done)
                    if read <= 0:
                        break
                    done += read

        helper = threading.Thread(target=flush, name="backup-flush", daemon=True)
        helper.start()
        try:
            yield
        finally:
            stop.set()
            helper.join()

    def _member_digest(self, offset: int, size: int) -> Future[str]:
        fd = self._fd
        return self._members.submit(lambda: hash_region(hashlib.sha256(), fd, offset, size).hexdigest())

    def _whole_region(self, offset: int, size: int) -> Future[Any]:
        return self._whole_pool.submit(hash_region, self._whole, self._fd, offset, size)

    def add_database(self, arcname: str) -> None:
        """Make the dump at `database_target` the first member: in place where the file
        system can insert its header in front, else copied once behind it."""
        size = os.fstat(self._fd).st_size
        length = max(4096, os.fstat(self._fd).st_blksize)
        head = header_of_length(member_info(arcname, size, time.time()), length)
        if self.in_place and size > 0:
            # Hashed where it lies (from the page cache) while the kernel writes it out.
            self._whole.update(head)
            digest, whole = self._member_digest(0, size), self._whole_region(0, size)
            _datasync(self._fd)
            digest.result(), whole.result()
            self.in_place = _insert_range(self._fd, length)
            if self.in_place:
                os.pwrite(self._fd, head, 0)
            else:
                self._whole = hashlib.sha256()
        else:
            self.in_place = False
        if not self.in_place:
            self._copy_behind(head, size)
            digest, _ = self._member_digest(length, size), self._whole_region(0, length + size)
        self._digests[arcname] = digest
        self._pos = self._hashed = length + size
        self._pad()
        self._advanced(size)

    def _copy_behind(self, head: bytes, size: int) -> None:
        """Move the dump into a new 0600 file, behind its header (one copy)."""
        copy = self.path.with_name(self.path.name + ".copy")
        fd = os.open(copy, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.pwrite(fd, head, 0)
            copy_range(self._fd, fd, 0, len(head), size)
            os.replace(copy, self.path)
        except BaseException:
            os.close(fd)
            copy.unlink(missing_ok=True)
            raise
        os.close(self._fd)
        self._fd = fd

    def _advanced(self, size: int) -> None:
        if self.advance is not None:
            self.advance(size)

    def _pad(self) -> None:
        self._write(bytes(_padded(self._pos) - self._pos))

    def _write(self, data: bytes) -> None:
        if data:
            os.pwrite(self._fd, data, self._pos)
            self._pos += len(data)

    def add(self, path: Path, arcname: str) -> None:
        """Copy one file in as `arcname` (owner root, mode 0600)."""
        with open(path, "rb") as source:
            stat = os.fstat(source.fileno())
            self._write(header(member_info(arcname, stat.st_size, stat.st_mtime)))
            copy_range(source.fileno(), self._fd, 0, self._pos, stat.st_size)
        self._digests[arcname] = self._member_digest(self._pos, stat.st_size)
        self._pos += stat.st_size
        self._pad()
        self._advanced(stat.st_size)

    def finish(self, manifest: dict[str, Any]) -> None:
        """Write the manifest (every member's SHA-256, read back from this file), end the
        archive, take the whole file's SHA-256 and flush the file to disk."""
        self.digests = {name: future.result() for name, future in self._digests.items()}
        body = json.dumps({**manifest, "members": self.digests}, indent=2, sort_keys=True).encode()
        self._write(header(member_info(MANIFEST_MEMBER, len(body), time.time())))
        self._write(body)
        self._pad()
        self._write(bytes(2 * BLOCK))
        self._write(bytes(-self._pos % RECORD))
        rest = self._whole_region(self._hashed, self._pos - self._hashed)
        os.fsync(self._fd)
        rest.result()
        self.sha256 = self._whole.hexdigest()


def check_written(path: Path, digests: dict[str, str]) -> bool:
    """The finished file read as a tar (its headers and its manifest, not the data the
    digests already cover): exactly the members the manifest names, and that manifest."""
    try:
        with tarfile.open(path, "r:") as tar:
            names = tar.getnames()
            source = tar.extractfile(MANIFEST_MEMBER)
            manifest = json.load(io.TextIOWrapper(source, "utf-8")) if source else None
    except (OSError, tarfile.TarError, KeyError, ValueError):
        return False
    return (
        isinstance(manifest, dict)
        and manifest.get("members") == digests
        and sorted(names) == sorted([*digests, MANIFEST_MEMBER])
    )
