"""The Synapse module's configuration: one frozen dataclass, parsed once at load time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policy.module.staff_config import StaffConfig, StaffConfigError
from policy.sign_in_limit import DEFAULT_FAILED_ATTEMPTS, Rate


class ModuleConfigError(Exception):
    """A bad `modules:` entry for Carebridge in homeserver.yaml."""


@dataclass(frozen=True)
class ModuleConfig:
    """What homeserver.yaml gives policy.module.entry.CarebridgeModule."""

    bot_user_id: str
    admin_room_alias: str
    policy_file: str | None = None
    outbox_dir: str | None = None
    staff: StaffConfig = field(default_factory=lambda: StaffConfig.parse(None))
    # The only push gateways (pusher `data.url`) phones may register: carebridge.yaml push.gateways.
    push_gateways: tuple[str, ...] = ()
    # Wrong passwords per account, shared by /login and every re-authentication: the same
    # values as rc_login.failed_attempts (homeserver.yaml points both at one YAML anchor).
    sign_in_failed_attempts: Rate = DEFAULT_FAILED_ATTEMPTS

    @classmethod
    def parse(cls, raw: Any) -> ModuleConfig:
        """Check every key; an unknown or mistyped one stops Synapse with a clear message."""
        if not isinstance(raw, dict):
            raise ModuleConfigError("carebridge module config must be a mapping")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ModuleConfigError(f"carebridge module config: unknown keys {unknown}")
        for key in ("bot_user_id", "admin_room_alias"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ModuleConfigError(f"carebridge module config: {key} must be a non-empty string")
        if not raw["bot_user_id"].startswith("@"):
            raise ModuleConfigError("carebridge module config: bot_user_id must be a Matrix user id")
        policy_file = raw.get("policy_file")
        if policy_file is not None and not isinstance(policy_file, str):
            raise ModuleConfigError("carebridge module config: policy_file must be a path")
        outbox_dir = raw.get("outbox_dir")
        if outbox_dir is not None and (not isinstance(outbox_dir, str) or not outbox_dir.startswith("/")):
            raise ModuleConfigError("carebridge module config: outbox_dir must be an absolute directory path")
        try:
            staff = StaffConfig.parse(raw.get("staff"))
        except StaffConfigError as exc:
            raise ModuleConfigError(str(exc)) from None
        gateways = raw.get("push_gateways", [])
        if not isinstance(gateways, list) or not all(isinstance(g, str) and g for g in gateways):
            raise ModuleConfigError("carebridge module config: push_gateways must be a list of URLs")
        return cls(
            raw["bot_user_id"],
            raw["admin_room_alias"],
            policy_file,
            outbox_dir,
            staff,
            tuple(gateways),
            _rate(raw.get("sign_in_failed_attempts")),
        )


def _rate(raw: Any) -> Rate:
    """`sign_in_failed_attempts: {per_second, burst_count}` (absent: the default)."""
    if raw is None:
        return DEFAULT_FAILED_ATTEMPTS
    where = "carebridge module config: sign_in_failed_attempts"
    if not isinstance(raw, dict) or set(raw) != {"per_second", "burst_count"}:
        raise ModuleConfigError(f"{where} must be a mapping with per_second and burst_count")
    per_second, burst = raw["per_second"], raw["burst_count"]
    if isinstance(per_second, bool) or not isinstance(per_second, int | float) or per_second <= 0:
        raise ModuleConfigError(f"{where}.per_second must be a number above 0")
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise ModuleConfigError(f"{where}.burst_count must be a whole number of at least 1")
    return Rate(float(per_second), burst)
