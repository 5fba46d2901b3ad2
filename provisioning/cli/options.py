"""What every `carebridge` command shares: the -c/--config option and the one way to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from config.settings import DEFAULT_CONFIG_NAME

DEFAULT_DATA_DIR = Path("carebridge-data")

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_DATA_DIR / DEFAULT_CONFIG_NAME,
    show_default=True,
    help="Path to carebridge.yaml (written by `carebridge init`).",
)


def fail(message: str, code: int = 2) -> None:
    """Print one clear error line (or several for several problems) and exit non-zero."""
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)
