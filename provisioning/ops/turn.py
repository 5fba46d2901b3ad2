"""TURN for calls: coturn's config, Synapse's turn_uris, and coturn as a child of `up`.

Synapse serves `GET /_matrix/client/v3/voip/turnServer` with time-limited credentials
(HMAC of the shared secret, the TURN REST API scheme that coturn's `use-auth-secret`
checks). `carebridge init` generates the secret and writes it into both homeserver.yaml
and turnserver.conf (0600); `carebridge up` starts `turnserver` when it is installed.
"""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

from config.settings import Settings, TurnSettings
from provisioning.ops.templates import render


def turn_uris(turn: TurnSettings) -> list[str]:
    """The URIs clients are told to use (UDP first, TCP for networks that block UDP)."""
    host = turn.public_host or turn.host
    return [f"turn:{host}:{turn.port}?transport=udp", f"turn:{host}:{turn.port}?transport=tcp"]


def is_loopback(host: str) -> bool:
    """True for 127.x / ::1 / localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def render_turn_config(turn: TurnSettings, realm: str, secret: str, data_dir: Path) -> str:
    """turnserver.conf for coturn with the shared secret Synapse also holds."""
    return render(
        "turnserver.conf.j2",
        listen_host=turn.host,
        relay_ip=turn.host,
        port=turn.port,
        relay_min_port=turn.relay_min_port,
        relay_max_port=turn.relay_max_port,
        realm=realm,
        secret=secret,
        data_dir=str(data_dir),
        loopback=is_loopback(turn.host),
    )


def turnserver_argv(settings: Settings) -> list[str] | str:
    """The command line for coturn, or the reason it will not be started."""
    turn = settings.calls.turn
    if not turn.enabled:
        return "TURN is disabled (calls.turn.enabled: false)"
    binary = shutil.which(turn.binary)
    if binary is None:
        return (
            f"coturn is not installed ({turn.binary} not found); calls work on the local network "
            "only. Install it (Debian/Ubuntu: apt-get install coturn) and restart."
        )
    config = settings.path(turn.config)
    if not config.exists():
        return f"{config} is missing; run `carebridge init` to generate the TURN secret and config"
    return [binary, "-c", str(config)]
