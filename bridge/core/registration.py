"""Reading the appservice registration file written by `carebridge init`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from config.errors import ConfigError, ConfigIssue


@dataclass(frozen=True)
class Registration:
    """The tokens and identity in registration.yaml."""

    id: str
    as_token: str
    hs_token: str
    sender_localpart: str
    url: str


def load_registration(path: Path) -> Registration:
    """Load registration.yaml; a missing file or key is one clear ConfigError."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(path, "", "appservice registration file not found")]) from None
    except yaml.YAMLError:
        raise ConfigError([ConfigIssue(path, "", "registration file is not valid YAML")]) from None
    if not isinstance(raw, dict):
        raise ConfigError([ConfigIssue(path, "", "expected a mapping")])
    missing = [
        k
        for k in ("id", "as_token", "hs_token", "sender_localpart", "url")
        if not isinstance(raw.get(k), str)
    ]
    if missing:
        raise ConfigError([ConfigIssue(path, k, "required string is missing") for k in missing])
    for key in ("as_token", "hs_token"):
        if len(raw[key]) < 32:
            raise ConfigError([ConfigIssue(path, key, "token too short; regenerate with carebridge init")])
    return Registration(
        id=raw["id"],
        as_token=raw["as_token"],
        hs_token=raw["hs_token"],
        sender_localpart=raw["sender_localpart"],
        url=raw["url"],
    )
