"""Which org file is in force: the one last applied (recorded in the directory), beside
the one `carebridge up` re-applies at every start (`org_file:` in carebridge.yaml).

An apply from another file is undone by the next `up`, so `provision apply OTHER.yaml`
warns and asks first, and `carebridge status` shows both and whether the homeserver
still matches the file in force.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.core.clock import now_ms
from bridge.db.directory import Directory
from config.settings import Settings

APPLIED_KEY = "applied_org_file"


def configured_org_file(settings: Settings) -> Path | None:
    """`org_file:` of carebridge.yaml, resolved, or None."""
    return settings.path(settings.org_file).resolve() if settings.org_file else None


def conflicting_file(settings: Settings, chosen: Path | None) -> Path | None:
    """The configured org file when `chosen` is a different file (else None)."""
    configured = configured_org_file(settings)
    if chosen is None or configured is None or chosen.resolve() == configured:
        return None
    return configured


def conflict_warning(chosen: Path, configured: Path) -> str:
    """What an administrator is told before applying another file than `org_file:`."""
    return (
        f"carebridge.yaml's org_file: is {configured}, not {chosen}. `carebridge up` "
        f"re-applies {configured.name} at every start and would undo this apply. To make "
        f"{chosen.name} permanent, set org_file: to it in carebridge.yaml."
    )


@dataclass(frozen=True)
class AppliedOrgFile:
    """The file the last successful apply used."""

    path: str
    sha256: str
    ts: int

    @classmethod
    def from_setting(cls, value: Any) -> AppliedOrgFile | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(str(value["path"]), str(value["sha256"]), int(value["ts"]))
        except (KeyError, TypeError, ValueError):
            return None

    def changed_since(self) -> bool:
        """Whether the file on disk differs from what was applied (or is gone)."""
        try:
            return file_digest(Path(self.path)) != self.sha256
        except OSError:
            return True


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def applied_value(path: Path) -> dict[str, Any]:
    """What is recorded for an applied file: its path and content hash."""
    return {"path": str(path.resolve()), "sha256": file_digest(path), "ts": now_ms()}


async def record_applied(directory: Directory, value: dict[str, Any]) -> None:
    """Remember which file was just applied (`applied_value` of it)."""
    await directory.save_settings({APPLIED_KEY: value}, int(value["ts"]))


async def applied_org_file(directory: Directory) -> AppliedOrgFile | None:
    """The file of the last successful apply, if any was recorded."""
    return AppliedOrgFile.from_setting(await directory.setting(APPLIED_KEY))
