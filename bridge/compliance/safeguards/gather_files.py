"""Facts read from the files in force: carebridge.yaml (already loaded), the appservice
registration, the archive keyring (never the keys themselves) and the heads log.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from bridge.archive.keyring import Keyring, KeyringError
from bridge.compliance.safeguards.model import KeyFacts
from config.settings import Settings
from config.yamlfile import yaml_mapping


def settings_facts(settings: Settings) -> dict[str, Any]:
    """The carebridge.yaml values the checks read (no secrets)."""
    archive = settings.archive
    return {
        "public_url": settings.synapse.public_url,
        "head_interval_hours": getattr(archive, "head_interval_hours", None),
        # A minutes setting, when this deployment has one (newer versions publish often).
        "head_interval_minutes": getattr(archive, "head_interval_minutes", None),
        "scheduler_enabled": settings.compliance.scheduler_enabled,
        "missing_alerts": settings.compliance.missing_alerts,
        "daily_summary_at": settings.compliance.daily_summary_at,
    }


def registration_config(settings: Settings) -> dict[str, Any]:
    """The appservice registration (namespaces only: the tokens are dropped here)."""
    data = yaml_mapping(settings.path(settings.bridge.registration))
    return {"namespaces": data.get("namespaces")}


def key_facts(settings: Settings) -> KeyFacts:
    """Whether the keyring loads, its key ids and sizes, and whether its file is private."""
    path = settings.path(settings.archive.key_file)
    env = settings.archive.key_env
    import os

    from_env = bool(env and os.environ.get(env))
    private: bool | None = None
    if not from_env and path.exists():
        private = not (path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    try:
        ring = Keyring.load(path, env)
    except KeyringError as exc:
        return KeyFacts(False, str(exc), from_env, private, (), False)
    return KeyFacts(
        loaded=True,
        error=None,
        from_env=from_env,
        file_private=private,
        key_ids=tuple(sorted(ring.keys)),
        all_256_bit=all(len(k) == 32 for k in ring.keys.values()),
    )


def heads_log_facts(settings: Settings) -> dict[str, Any] | None:
    """The newest entry of the append-only heads log, when this deployment writes one
    (a JSON object per line with the head's time as `published_ts` or `ts`, epoch ms)."""
    configured = getattr(settings.archive, "heads_log", None) or getattr(
        settings.archive, "heads_log_file", None
    )
    if not isinstance(configured, str | Path):
        return None
    path = settings.path(Path(configured))
    if not path.is_file():
        return None
    last = ""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                last = line
    try:
        entry = json.loads(last) if last else None
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    ts = entry.get("published_ts", entry.get("ts"))
    return {"ts": ts} if isinstance(ts, int) else None
