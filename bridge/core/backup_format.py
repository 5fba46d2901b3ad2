"""The backup file's format, shared by the writer (`carebridge backup`, `restore`) and the
compliance checks that read a backup back: a gzipped tar whose `manifest.json` names every
member with its SHA-256."""

from __future__ import annotations

from typing import Final

FORMAT: Final = "carebridge-backup/1"
MANIFEST_MEMBER: Final = "manifest.json"
KEY_MEMBER: Final = "key/archive.key"
HEADS_LOG_MEMBER: Final = "heads/heads.log"
