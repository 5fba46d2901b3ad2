"""carebridge.yaml: the one typed, frozen settings object shared by the CLI and the bridge.

Relative paths in the file are resolved against the directory that holds it (the data
directory), so a data dir can be moved or copied as a whole.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.errors import ConfigError, ConfigIssue
from config.validation import validate_document
from config.yamlfile import load_yaml
from policy.sign_in_limit import DEFAULT_FAILED_ATTEMPTS

DEFAULT_CONFIG_NAME = "carebridge.yaml"
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
Port = Annotated[int, Field(ge=1, le=65535)]
DEFAULT_ALLOWED_TYPES = (
    "image/*",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.*",
    "application/vnd.ms-excel",
    "audio/*",
    "video/*",
)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SynapseSettings(_Section):
    """How Carebridge reaches the homeserver it sits beside."""

    url: str = "http://127.0.0.1:8008"
    public_url: str = "http://127.0.0.1:8008"
    config: Path = Path("homeserver.yaml")


class BridgeSettings(_Section):
    """The appservice listener (private: only Synapse talks to it)."""

    host: str = "127.0.0.1"
    port: Port = 8009
    bot_localpart: str = "carebridge"
    registration: Path = Path("registration.yaml")
    admin_room_alias: str = "carebridge-admins"


class WebSettings(_Section):
    """The public listener: web client, .well-known, health."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 8080
    dist_dir: Path | None = None
    primary_colour: str = "#0b6e4f"


class DatabaseSettings(_Section):
    """The compliance database (SQLAlchemy async URL)."""

    url: str = "sqlite+aiosqlite:///carebridge.db"

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected a sqlite+aiosqlite:/// or postgresql+asyncpg:// SQLAlchemy URL")
        return value


class ArchiveSettings(_Section):
    """Where the archive keyring lives (0600 file, or an env var that overrides it), where
    encrypted media copies go, how often the chain head is published and where else it is
    written (an append-only log file, optionally syslog), reconciliation, and how often the
    archive is compared with what Synapse still holds."""

    key_file: Path = Path("archive.key")
    key_env: str = "CAREBRIDGE_ARCHIVE_KEYS"
    media_dir: Path = Path("archive-media")
    head_interval_minutes: float = Field(default=5.0, gt=0, le=1440)
    heads_log: Path = Path("heads.log")
    heads_syslog: bool = False
    reconcile_on_start: bool = True
    # Compare the archive with Synapse (every room and media file) at start and this often;
    # at least hourly, so an event Synapse lost is seen within the hour.
    synapse_check_interval_minutes: float = Field(default=60.0, gt=0, le=60)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: object) -> object:
        if isinstance(data, dict) and "head_interval_hours" in data:
            raise ValueError(
                "head_interval_hours was replaced by head_interval_minutes (default 5): heads "
                "are now published within minutes of the archive growing"
            )
        return data


class ReadinessSettings(_Section):
    """When the bridge reports itself not ready (/_carebridge/ready, `carebridge status`,
    the carebridge_ready metric): Synapse's deliveries failing, or the archive lagging."""

    max_lag_seconds: float = Field(default=300.0, gt=0, le=86400)
    probe_interval_seconds: float = Field(default=30.0, gt=0, le=3600)


class SupervisorSettings(_Section):
    """How `carebridge up` restarts a child that died (like systemd Restart=on-failure)."""

    restart: bool = True
    backoff_initial_seconds: float = Field(default=1.0, gt=0, le=300)
    backoff_max_seconds: float = Field(default=60.0, gt=0, le=3600)
    fast_crash_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_fast_crashes: int = Field(default=5, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> SupervisorSettings:
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError("backoff_max_seconds must be at least backoff_initial_seconds")
        return self


class SmtpSettings(_Section):
    """Outgoing mail for initial passwords. Absent: passwords go to a 0600 file."""

    host: str
    port: Port = 587
    username: str | None = None
    password_file: Path | None = None
    sender: str = "carebridge@localhost"
    starttls: bool = True
    use_tls: bool = False
    login_url: str | None = None


class ComplianceSettings(_Section):
    """Login/logout compliance: the missing-staff alert, the daily summary, the scheduler."""

    missing_alerts: bool = True
    daily_summary_at: str | None = "07:30"
    scheduler_enabled: bool = True
    scheduler_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 30
    report_rows_in_chat: Annotated[int, Field(ge=5, le=500)] = 50

    @field_validator("daily_summary_at")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None and not _HHMM.match(value):
            raise ValueError(
                'expected a 24-hour time "HH:MM" in quotes, e.g. "07:30", or null to turn it off'
            )
        return value


class RolesSettings(_Section):
    """Roles on shift and urgent messages in the bridge (the rules themselves, such as how
    often an urgent message alerts again, are the org file's `policy.urgent` and roles).
    `timers_enabled: false` leaves hand-overs and urgent alerts to another bridge process
    (or to nothing): messages are still routed."""

    timers_enabled: bool = True
    receipt_poll_seconds: Annotated[float, Field(ge=0.5, le=300)] = 5
    max_wait_seconds: Annotated[float, Field(ge=1, le=3600)] = 30


class LoggingSettings(_Section):
    """Log level and format; logs never carry PHI."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = False


class FilesSettings(_Section):
    """What staff may upload: enforced by the Synapse module (45 CFR 164.308(a)(5)(ii)(B),
    protection from malicious software; 164.312(c)(1) integrity)."""

    max_upload_mb: float = Field(default=50, gt=0, le=2048)
    allowed_types: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_TYPES), min_length=1)
    too_large_message: str = (
        "This file is larger than the {max_upload_mb} MB your organisation allows. "
        "Share a smaller file or ask IT for another way to send it."
    )
    forbidden_type_message: str = (
        "This kind of file cannot be shared here. Allowed: images, PDF, plain text, "
        "Office documents, audio and video."
    )

    @field_validator("allowed_types")
    @classmethod
    def _mime_patterns(cls, value: list[str]) -> list[str]:
        for item in value:
            major, sep, minor = item.partition("/")
            bad_star = "*" in major or "*" in minor[:-1]
            if not sep or not major or not minor or bad_star:
                raise ValueError(
                    f"{item!r} is not a MIME type like image/png or a pattern like image/* "
                    "(a * may only end the part after the slash)"
                )
        return [item.lower() for item in value]

    @property
    def max_upload_bytes(self) -> int:
        """The limit in bytes (MB = 1024 * 1024 bytes)."""
        return int(self.max_upload_mb * 1024 * 1024)


class PushSettings(_Section):
    """Push notifications to phones. A push gateway is a third party: only the gateways
    listed here may be registered by a phone (a pusher's `data.url`), and notifications
    carry event ids only, never message content (Synapse `push.include_content: false`).
    45 CFR 164.312(e)(1) transmission security."""

    gateways: list[str] = Field(default_factory=list)

    @field_validator("gateways")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("https://", "http://")) or " " in url:
                raise ValueError(
                    f"{url!r} is not a push gateway URL like https://push.example/_matrix/push/v1/notify"
                )
        return value


class TurnSettings(_Section):
    """The TURN relay (coturn) that lets calls connect through NAT and firewalls."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 3478
    public_host: str | None = None
    relay_min_port: Port = 49160
    relay_max_port: Port = 49400
    config: Path = Path("turnserver.conf")
    binary: str = "turnserver"


class CallsSettings(_Section):
    """WebRTC calls: call log, person-to-person rule, missed-call notices, TURN."""

    one_to_one_notice: str = (
        "Calls are person-to-person: start the call from a direct message with the one "
        "colleague you want to reach."
    )
    missed_call_notice: str = "Missed {kind} call from {caller} at {time}."
    turn: TurnSettings = TurnSettings()


class Rate(_Section):
    """A token bucket: `burst_count` at once, refilled at `per_second`."""

    per_second: float = Field(gt=0)
    burst_count: int = Field(ge=1)


class SignInSettings(_Section):
    """Synapse's sign-in limits (`rc_login` in homeserver.yaml, which `carebridge init`
    and `carebridge up` render from here). A ward's computers often share one address:
    `address` lets 60 people sign in at once at shift change (then one a second), while
    `failed_attempts` stops password guessing on any one account (5 wrong, then one try
    per 5 minutes) and `account` limits successful sign-ins per account."""

    address: Rate = Rate(per_second=1.0, burst_count=60)
    account: Rate = Rate(per_second=0.1, burst_count=10)
    failed_attempts: Rate = Rate(
        per_second=DEFAULT_FAILED_ATTEMPTS.per_second, burst_count=DEFAULT_FAILED_ATTEMPTS.burst_count
    )

    def rc_login(self) -> dict[str, dict[str, float | int]]:
        """The `rc_login` mapping for homeserver.yaml."""
        return {
            name: {"per_second": rate.per_second, "burst_count": rate.burst_count}
            for name, rate in (
                ("address", self.address),
                ("account", self.account),
                ("failed_attempts", self.failed_attempts),
            )
        }


# Staff type quickly in a busy hour (a handover in ten short lines): Synapse's default
# (0.2 a second, 10 at once) stops a nurse after ten quick messages.
DEFAULT_MESSAGE_RATE = Rate(per_second=5.0, burst_count=50)


class Settings(_Section):
    """Everything in carebridge.yaml."""

    server_name: str
    organization_name: str = "Carebridge"
    synapse: SynapseSettings = SynapseSettings()
    bridge: BridgeSettings = BridgeSettings()
    web: WebSettings = WebSettings()
    database: DatabaseSettings = DatabaseSettings()
    archive: ArchiveSettings = ArchiveSettings()
    readiness: ReadinessSettings = ReadinessSettings()
    supervisor: SupervisorSettings = SupervisorSettings()
    smtp: SmtpSettings | None = None
    org_file: Path | None = None
    files: FilesSettings = FilesSettings()
    push: PushSettings = PushSettings()
    calls: CallsSettings = CallsSettings()
    sign_in: SignInSettings = SignInSettings()
    # Messages (any event) one person may send: Synapse's `rc_message`, rendered by
    # `carebridge init` and `carebridge up` (docs/admin/sign-in-limits.md).
    messages: Rate = DEFAULT_MESSAGE_RATE
    compliance: ComplianceSettings = ComplianceSettings()
    roles: RolesSettings = RolesSettings()
    logging: LoggingSettings = LoggingSettings()
    data_dir: Path = Field(default=Path("."), exclude=True)

    @property
    def bot_user_id(self) -> str:
        """The appservice bot's Matrix id."""
        return f"@{self.bridge.bot_localpart}:{self.server_name}"

    @property
    def admin_room_alias(self) -> str:
        """Full alias of the administrators' room."""
        return f"#{self.bridge.admin_room_alias}:{self.server_name}"

    def path(self, value: Path) -> Path:
        """Resolve a path from the file against the data directory."""
        return value if value.is_absolute() else (self.data_dir / value)

    @property
    def database_url(self) -> str:
        """Database URL with a relative SQLite path resolved against the data directory."""
        url = self.database.url
        prefix = "sqlite+aiosqlite:///"
        if url.startswith(prefix):
            rest = url[len(prefix) :]
            if rest and not rest.startswith("/") and not rest.startswith(":memory:"):
                return prefix + str((self.data_dir / rest).resolve())
        return url


def load_settings(path: Path) -> Settings:
    """Load and validate carebridge.yaml; raises ConfigError naming file, line and key."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [*doc.problems, ConfigIssue(path, "", "expected a mapping of settings at the top level")]
        )
    settings = validate_document(Settings, doc)
    return settings.model_copy(update={"data_dir": path.resolve().parent})
