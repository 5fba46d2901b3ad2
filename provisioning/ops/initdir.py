"""`carebridge init`: write a complete, self-consistent data directory.

The directory holds carebridge.yaml, Synapse's homeserver.yaml and log config rendered
from synapse/, the appservice registration (fresh tokens from `secrets`), the signing key
and the archive keyring. Every file with a secret in it is written 0600.
"""

from __future__ import annotations

import io
import secrets
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from signedjson.key import generate_signing_key, write_signing_keys

from bridge.archive.keyring import Keyring
from bridge.core.files import write_private
from config.settings import (
    DEFAULT_MESSAGE_RATE,
    CallsSettings,
    FilesSettings,
    PushSettings,
    Rate,
    SignInSettings,
)
from policy.rooms import ROOM_VERSION
from provisioning.ops.rate_limits import message_block, sign_in_block
from provisioning.ops.templates import render
from provisioning.ops.turn import render_turn_config, turn_uris

DEFAULT_TURN_PORT = 3478


class InitError(Exception):
    """The data directory cannot be written as asked."""


@dataclass(frozen=True)
class InitOptions:
    """What `carebridge init` was asked for."""

    data_dir: Path
    server_name: str = "carebridge.local"
    synapse_port: int = 8008
    bridge_port: int = 8009
    web_port: int = 8080
    bind_address: str = "127.0.0.1"
    organization_name: str = "Carebridge Demo Clinic"
    database_url: str | None = None
    synapse_database_args: dict[str, object] | None = None
    org_file: Path | None = None
    testing: bool = False
    force: bool = False
    turn_port: int | None = None  # None: 3478, or a free loopback port when testing
    extra_settings: dict[str, object] = field(default_factory=dict)
    # Production (`carebridge init --production`): the directory as the processes see it
    # (e.g. /data inside containers), the public https URL, where Synapse reaches the
    # bridge, and TURN. None/empty: the embedded defaults derived from the fields above.
    runtime_dir: Path | None = None
    module_outbox_dir: str | None = None  # default: <data dir>/module-outbox
    public_url: str | None = None
    appservice_url: str | None = None
    turn_uris: tuple[str, ...] = ()
    turn_shared_secret: str = ""


def registration_document(opts: InitOptions, as_token: str, hs_token: str) -> dict[str, object]:
    """The appservice registration: the bot user, and every room (non-exclusive).

    The non-exclusive `.*` rooms namespace makes Synapse send the bridge the events of all
    rooms, including DMs the bot never joined, which archive completeness depends on.
    """
    return {
        "id": "carebridge",
        "url": opts.appservice_url or f"http://{opts.bind_address}:{opts.bridge_port}",
        "as_token": as_token,
        "hs_token": hs_token,
        "sender_localpart": "carebridge",
        "rate_limited": False,
        "receive_ephemeral": False,
        "namespaces": {
            "users": [{"exclusive": True, "regex": f"@carebridge:{_regex_escape(opts.server_name)}"}],
            # Channels and the admins' room get aliases created by the bot.
            "aliases": [{"exclusive": False, "regex": f"#.*:{_regex_escape(opts.server_name)}"}],
            "rooms": [{"exclusive": False, "regex": ".*"}],
        },
    }


def synapse_upload_cap(max_upload_bytes: int) -> int:
    """Synapse's own max_upload_size: twice the configured limit (at least 1 MiB more),
    so the module, with the organisation's message, answers for files over the limit."""
    return max_upload_bytes + max(max_upload_bytes, 1024 * 1024)


def module_staff_config(files: FilesSettings) -> dict[str, object]:
    """The module's `staff:` config (policy/module/staff_config.py) from `files:`."""
    return {
        "files": {
            "max_bytes": files.max_upload_bytes,
            "allowed_types": list(files.allowed_types),
            "too_large_message": files.too_large_message,
            "forbidden_type_message": files.forbidden_type_message,
        }
    }


def _calls_settings(opts: InitOptions) -> CallsSettings:
    raw = dict(opts.extra_settings.get("calls") or {})  # type: ignore[call-overload]
    turn = dict(raw.get("turn") or {})
    default_port = _free_port(opts.bind_address) if opts.testing else DEFAULT_TURN_PORT
    turn.setdefault("port", opts.turn_port or default_port)
    turn.setdefault("host", opts.bind_address)
    if opts.turn_uris:
        turn["enabled"] = False  # the deployment runs its own coturn (docker-compose)
    raw["turn"] = turn
    return CallsSettings.model_validate(raw)


# Test harness only: sign-in and message limits lifted (tests sign in hundreds of times
# from one address and send thousands of messages as one person).
_TESTING_RATE = {"per_second": 1000, "burst_count": 1000}


def _sign_in_settings(opts: InitOptions) -> SignInSettings:
    raw = opts.extra_settings.get("sign_in")
    if raw is None and opts.testing:
        raw = dict.fromkeys(("address", "account", "failed_attempts"), _TESTING_RATE)
    return SignInSettings.model_validate(raw or {})


def _message_rate(opts: InitOptions) -> Rate:
    raw = opts.extra_settings.get("messages")
    if raw is None:
        return Rate.model_validate(_TESTING_RATE) if opts.testing else DEFAULT_MESSAGE_RATE
    return Rate.model_validate({**DEFAULT_MESSAGE_RATE.model_dump(), **dict(raw)})  # type: ignore[call-overload]


def _free_port(host: str) -> int:
    """A port nobody listens on now: test data directories never share the standard
    TURN port (two test runs, or a developer's own coturn, would fight over 3478)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$*+?{}[]\\|()" else c for c in text)


def init_data_dir(opts: InitOptions) -> Path:
    """Create the data directory; returns the path of the carebridge.yaml written."""
    data_dir = opts.data_dir.resolve()
    config_path = data_dir / "carebridge.yaml"
    if data_dir.exists() and any(data_dir.iterdir()):
        if not opts.force:
            raise InitError(
                f"{data_dir} already exists and is not empty; use --force to overwrite "
                "(this replaces its tokens and keys)"
            )
        for name in ("homeserver.db", "carebridge.db", "media_store", "archive-media"):
            target = data_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (data_dir / "logs").mkdir(exist_ok=True, mode=0o700)

    as_token = secrets.token_urlsafe(32)
    hs_token = secrets.token_urlsafe(32)
    write_private(
        data_dir / "registration.yaml",
        yaml.safe_dump(registration_document(opts, as_token, hs_token), sort_keys=False),
    )

    files = FilesSettings.model_validate(opts.extra_settings.get("files") or {})
    push = PushSettings.model_validate(opts.extra_settings.get("push") or {})
    sign_in = _sign_in_settings(opts)
    messages = _message_rate(opts)
    calls = _calls_settings(opts)
    # Production supplies its own TURN (coturn in docker-compose) and secret.
    turn_secret = opts.turn_shared_secret or secrets.token_urlsafe(32)
    uris = list(opts.turn_uris) or (turn_uris(calls.turn) if calls.turn.enabled else [])

    seen_dir = opts.runtime_dir or data_dir
    web_url = opts.public_url or f"http://{opts.bind_address}:{opts.web_port}"
    public_url = opts.public_url or f"http://{opts.bind_address}:{opts.synapse_port}"
    homeserver = render(
        "homeserver.yaml.j2",
        server_name=opts.server_name,
        public_url=public_url,
        web_client_url=web_url,
        data_dir=str(seen_dir),
        synapse_port=opts.synapse_port,
        bind_address=opts.bind_address,
        x_forwarded=False,
        database_url=bool(opts.synapse_database_args),
        database_args=opts.synapse_database_args or {},
        macaroon_secret_key=secrets.token_urlsafe(32),
        form_secret=secrets.token_urlsafe(32),
        registration_path=str(seen_dir / "registration.yaml"),
        bot_localpart="carebridge",
        admin_room_alias="carebridge-admins",
        max_upload_size=synapse_upload_cap(files.max_upload_bytes),
        staff=module_staff_config(files),
        push_gateways=list(push.gateways),
        turn_uris=uris,
        turn_shared_secret=turn_secret,
        turn_user_lifetime="1h",
        sign_in_block=sign_in_block(sign_in),
        message_block=message_block(messages),
        room_version=ROOM_VERSION,
        testing=opts.testing,
        module_outbox_dir=opts.module_outbox_dir or str(seen_dir / "module-outbox"),
    )
    write_private(data_dir / "homeserver.yaml", homeserver)
    write_private(
        data_dir / "log.config.yaml",
        render("log.config.yaml.j2", data_dir=str(seen_dir), log_level="INFO"),
    )
    if calls.turn.enabled:
        write_private(
            data_dir / str(calls.turn.config),
            render_turn_config(calls.turn, opts.server_name, turn_secret, seen_dir),
        )
    (data_dir / "run").mkdir(exist_ok=True, mode=0o700)
    signing = io.StringIO()
    write_signing_keys(signing, [generate_signing_key("a_" + secrets.token_hex(2))])
    write_private(data_dir / "signing.key", signing.getvalue())

    keyring_path = data_dir / "archive.key"
    write_private(keyring_path, Keyring.generate().dumps())

    settings: dict[str, object] = {
        "server_name": opts.server_name,
        "organization_name": opts.organization_name,
        "synapse": {"url": public_url, "public_url": public_url, "config": "homeserver.yaml"},
        "bridge": {"host": opts.bind_address, "port": opts.bridge_port},
        "web": {"host": opts.bind_address, "port": opts.web_port},
        "database": {"url": opts.database_url or "sqlite+aiosqlite:///carebridge.db"},
        "archive": {"key_file": "archive.key"},
    }
    if opts.org_file is not None:
        settings["org_file"] = str(opts.org_file.resolve())
    settings.update(opts.extra_settings)
    settings["calls"] = calls.model_dump(mode="json", exclude_defaults=True)
    settings["sign_in"] = sign_in.model_dump(mode="json")
    settings["messages"] = messages.model_dump(mode="json")
    header = (
        "# Carebridge settings, written by `carebridge init`.\n"
        "# Every key is documented in config/carebridge.example.yaml and docs/operator/configuration.md.\n"
    )
    write_private(config_path, header + yaml.safe_dump(settings, sort_keys=False))
    return config_path
