"""The documented example settings file is valid and lists every settings key."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel

from config.settings import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "carebridge.example.yaml"


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    out = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        out.add(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out |= _keys(annotation, f"{prefix}{name}.")
    return out


def _flatten(data: dict[str, object], prefix: str = "") -> set[str]:
    out = set()
    for key, value in data.items():
        out.add(prefix + key)
        if isinstance(value, dict):
            out |= _flatten(value, f"{prefix}{key}.")
    return out


def test_example_is_valid_and_complete() -> None:
    load_settings(EXAMPLE)
    documented = _flatten(yaml.safe_load(EXAMPLE.read_text()))
    missing = _keys(Settings) - documented
    assert not missing, f"settings keys not documented in the example: {sorted(missing)}"
