"""Locating and rendering the Jinja2 templates kept in the top-level synapse/ folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_ENV = "CAREBRIDGE_TEMPLATES"


def templates_dir() -> Path:
    """The synapse/ templates folder: $CAREBRIDGE_TEMPLATES, else next to the packages."""
    override = os.environ.get(TEMPLATES_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "synapse"


def render(name: str, **values: Any) -> str:
    """Render one template; undefined variables are an error, not an empty string."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - renders YAML config, never HTML
        keep_trailing_newline=True,
    )
    return env.get_template(name).render(**values)
