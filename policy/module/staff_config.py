"""The `staff:` part of the Carebridge module config: uploads and DM size.

Rendered by `carebridge init` from carebridge.yaml's `files:` section into
homeserver.yaml; parsed once when Synapse loads the module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policy.files import FilePolicy
from policy.rooms import DEFAULT_MAX_DM_INVITEES

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_ALLOWED = ("image/*", "application/pdf", "text/plain")
DEFAULT_TOO_LARGE = "This file is larger than the {max_upload_mb} MB your organisation allows."
DEFAULT_FORBIDDEN = "This kind of file cannot be shared here."


class StaffConfigError(ValueError):
    """A malformed `staff:` mapping in the module config."""


@dataclass(frozen=True)
class StaffConfig:
    """Upload policy and the largest DM (invitees at creation) the module accepts."""

    files: FilePolicy
    max_dm_invitees: int = DEFAULT_MAX_DM_INVITEES

    @classmethod
    def parse(cls, raw: Any) -> StaffConfig:
        """Check every key; an error names it."""
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise StaffConfigError("carebridge module config: staff must be a mapping")
        unknown = sorted(set(raw) - {"files", "max_dm_invitees"})
        if unknown:
            raise StaffConfigError(f"carebridge module config: unknown staff keys {unknown}")
        files = raw.get("files") or {}
        if not isinstance(files, dict):
            raise StaffConfigError("carebridge module config: staff.files must be a mapping")
        unknown = sorted(
            set(files) - {"max_bytes", "allowed_types", "too_large_message", "forbidden_type_message"}
        )
        if unknown:
            raise StaffConfigError(f"carebridge module config: unknown staff.files keys {unknown}")
        max_bytes = files.get("max_bytes", DEFAULT_MAX_BYTES)
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
            raise StaffConfigError(
                "carebridge module config: staff.files.max_bytes must be a positive integer"
            )
        allowed = files.get("allowed_types", list(DEFAULT_ALLOWED))
        if not isinstance(allowed, list) or not allowed or not all(isinstance(a, str) for a in allowed):
            raise StaffConfigError(
                "carebridge module config: staff.files.allowed_types must be a list of MIME types"
            )
        messages = []
        for key, default in (
            ("too_large_message", DEFAULT_TOO_LARGE),
            ("forbidden_type_message", DEFAULT_FORBIDDEN),
        ):
            value = files.get(key, default)
            if not isinstance(value, str) or not value:
                raise StaffConfigError(f"carebridge module config: staff.files.{key} must be text")
            messages.append(value)
        max_dm = raw.get("max_dm_invitees", DEFAULT_MAX_DM_INVITEES)
        if not isinstance(max_dm, int) or isinstance(max_dm, bool) or max_dm < 1:
            raise StaffConfigError(
                "carebridge module config: staff.max_dm_invitees must be a positive integer"
            )
        policy = FilePolicy(max_bytes, tuple(a.lower() for a in allowed), messages[0], messages[1])
        return cls(files=policy, max_dm_invitees=max_dm)
