"""Synapse's configuration as Synapse itself loads it: `homeserver.yaml`, and in production
the `production.yaml` overlay after it (`-c homeserver.yaml -c production.yaml`: a top-level
key of the later file replaces the earlier one's). Every reader (backup and restore, the
compliance checks) uses this one loader, so they all see the configuration in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from config.settings import Settings
from config.yamlfile import yaml_mapping

PRODUCTION_OVERLAY: Final = "production.yaml"


@dataclass(frozen=True)
class HomeserverConfig:
    """The merged configuration, and whether the production overlay is part of it."""

    values: dict[str, Any]
    production_overlay: bool


def homeserver_config(settings: Settings) -> HomeserverConfig:
    """The homeserver configuration in force. Raises OSError when a file cannot be read,
    yaml.YAMLError or ValueError when one is not a YAML mapping."""
    path = settings.path(settings.synapse.config)
    values = yaml_mapping(path)
    overlay = path.parent / PRODUCTION_OVERLAY
    if not overlay.is_file():
        return HomeserverConfig(values, production_overlay=False)
    values.update(yaml_mapping(overlay))
    return HomeserverConfig(values, production_overlay=True)
