"""One export job: output files, a manifest, and the audit records that log the export.

Every export is itself recorded in the archive: an `org.carebridge.export` record before
any data is written (who: the operator named on the command line and the OS account;
what: the filters and format; where: the folder) and one when it completes (counts and the
SHA-256 of every output file) or fails. 45 CFR 164.312(b) audit controls.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.export.stream import ExportCounts, Exporter, ExportFilter
from bridge.archive.heads import current_head
from bridge.archive.keyring import Sealer
from bridge.archive.writer import ArchiveWriter
from bridge.core.clock import iso_ms, now_ms
from bridge.core.report_table import FORMULA_START
from policy.event_types import EXPORT_RECORD_TYPE

Format = Literal["jsonl", "csv"]
CSV_COLUMNS = (
    "seq",
    "event_id",
    "room_id",
    "sender",
    "time",
    "type",
    "msgtype",
    "body",
    "current_body",
    "revisions",
    "reactions",
    "in_reply_to",
    "thread_root",
    "attachment_status",
    "attachment_path",
    "attachment_sha256",
    "members",
    "kind",
    "state_key",
    "content",
)


def audit_room_id(server_name: str) -> str:
    """The (virtual) room id Carebridge files its own audit records under."""
    return f"!carebridge-audit:{server_name}"


class Sink(Protocol):
    """Where records go."""

    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> str: ...


class _HashingFile:
    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._handle = os.fdopen(fd, "wb")
        self._digest = hashlib.sha256()

    def write_bytes(self, data: bytes) -> None:
        self._digest.update(data)
        self._handle.write(data)

    def close(self) -> str:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        return self._digest.hexdigest()


class JsonlSink:
    """One JSON object per line (UTF-8)."""

    def __init__(self, path: Path) -> None:
        self._file = _HashingFile(path)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record."""
        self._file.write_bytes(json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n")

    def close(self) -> str:
        """Flush, fsync; returns the file's SHA-256."""
        return self._file.close()


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet will show as text: values that would start a formula
    (CSV injection: =HYPERLINK(...) typed into a message) get a leading apostrophe.
    The JSONL format keeps every value exactly as sent."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class CsvSink:
    """One row per message; nested fields (revisions, reactions) as JSON in their cell."""

    def __init__(self, path: Path) -> None:
        self._file = _HashingFile(path)
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer)
        self._emit(list(CSV_COLUMNS))

    def _emit(self, row: list[Any]) -> None:
        self._csv.writerow(row)
        self._file.write_bytes(self._buffer.getvalue().encode())
        self._buffer.seek(0)
        self._buffer.truncate()

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as a row."""
        attachment = record.get("attachment") or {}
        flat = {
            **record,
            "revisions": json.dumps(record["revisions"], ensure_ascii=False),
            "reactions": json.dumps(record["reactions"], ensure_ascii=False),
            "attachment_status": attachment.get("status"),
            "attachment_path": attachment.get("path"),
            "attachment_sha256": attachment.get("sha256"),
            "members": ";".join(record["members"]),
            "content": json.dumps(record["content"], ensure_ascii=False) if "content" in record else None,
        }
        self._emit([_csv_cell(flat.get(c)) for c in CSV_COLUMNS])

    def close(self) -> str:
        """Flush, fsync; returns the file's SHA-256."""
        return self._file.close()


@dataclass(frozen=True)
class ExportJob:
    """What to export, where, and who asked."""

    flt: ExportFilter
    fmt: Format
    out_dir: Path
    operator: str


@dataclass(frozen=True)
class ExportResult:
    """The finished export."""

    export_id: str
    data_file: Path
    sha256: str
    counts: ExportCounts


def prepare_out_dir(out_dir: Path) -> None:
    """Create the export folder 0700; refuse one that already has files in it."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; choose a new folder for each export")
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    out_dir.chmod(0o700)


async def run_export(
    engine: AsyncEngine,
    keyring: Sealer,
    writer: ArchiveWriter,
    media_dir: Path,
    job: ExportJob,
    server_name: str,
    bot_user_id: str,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Record the export, stream it to files, write the manifest, record completion."""
    prepare_out_dir(job.out_dir)
    export_id = uuid.uuid4().hex
    head = await current_head(engine)
    who = {"operator": job.operator, "os_user": getpass.getuser(), "host": socket.gethostname()}
    started = now_ms()

    async def record(phase: str, extra: dict[str, Any]) -> str:
        event_id = f"$carebridge-export-{export_id}-{phase}"
        await writer.append(
            [
                {
                    "event_id": event_id,
                    "room_id": audit_room_id(server_name),
                    "sender": bot_user_id,
                    "type": EXPORT_RECORD_TYPE,
                    "origin_server_ts": now_ms(),
                    "content": {"phase": phase, "export_id": export_id, **extra},
                }
            ],
            source="export",
        )
        return event_id

    start_id = await record(
        "started",
        {
            **who,
            "filter": job.flt.describe(),
            "format": job.fmt,
            "out_dir": str(job.out_dir.resolve()),
            "archive_head": {"seq": head.seq, "hash": head.row_hash.hex()},
        },
    )
    data_file = job.out_dir / f"messages.{job.fmt}"
    sink: Sink = JsonlSink(data_file) if job.fmt == "jsonl" else CsvSink(data_file)
    exporter = Exporter(engine, keyring, media_dir, job.out_dir)
    try:
        async for item in exporter.records(job.flt):
            sink.write(item)
            if progress is not None:
                progress(exporter.scanned, exporter.total)
        digest = sink.close()
    except BaseException as exc:
        sink.close()
        await record("failed", {"error": type(exc).__name__, "counts": asdict(exporter.counts)})
        raise
    done_id = await record(
        "completed", {"counts": asdict(exporter.counts), "files": {data_file.name: digest}}
    )
    manifest = {
        "export_id": export_id,
        **who,
        "filter": job.flt.describe(),
        "format": job.fmt,
        "started": iso_ms(started),
        "finished": iso_ms(now_ms()),
        "archive_head": {"seq": head.seq, "hash": head.row_hash.hex()},
        "counts": asdict(exporter.counts),
        "files": {data_file.name: digest},
        "audit_records": [start_id, done_id],
    }
    (job.out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (job.out_dir / "manifest.json").chmod(0o600)
    return ExportResult(export_id, data_file, digest, exporter.counts)
