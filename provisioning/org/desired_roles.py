"""The org file's roles, rota and urgent-message escalation, resolved to Matrix ids for
the directory (pure, no I/O).

Roles are stored as one settings row ("roles": name -> definition with member user ids);
the rota as rows of `role_rota`, replaced whenever its digest (settings "rota_digest")
changes; channels' own escalation as settings "channel_escalation".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Protocol

from mautrix.types import UserID

from bridge.roles.store import RotaRow
from config.org import OrgFile


class _Person(Protocol):
    @property
    def username(self) -> str: ...
    @property
    def user_id(self) -> UserID: ...
    @property
    def groups(self) -> tuple[str, ...]: ...


def _uid(username: str, server_name: str) -> str:
    return f"@{username}:{server_name}"


def _target(ref: str | None, server_name: str) -> str | None:
    """ "role:x" stays; "user:name" becomes a user id."""
    if ref is None or ref.startswith("role:"):
        return ref
    return _uid(ref.removeprefix("user:"), server_name)


def role_settings(org: OrgFile, server_name: str, people: Iterable[_Person]) -> dict[str, Any]:
    """Settings rows: "roles", "channel_escalation" and "rota_digest"."""
    people = list(people)
    roles: dict[str, Any] = {}
    for name, role in org.roles.items():
        groups = {r.removeprefix("group:") for r in role.members if r.startswith("group:")}
        users = {r.removeprefix("user:") for r in role.members if r.startswith("user:")}
        members = sorted(str(p.user_id) for p in people if p.username in users or groups & set(p.groups))
        roles[name] = {
            "display_name": role.display_name,
            "members": members,
            "backup": _target(role.backup, server_name),
            "escalation_minutes": role.escalation_minutes,
            "self_assign": role.self_assign,
            "schedule": role.schedule,
        }
    escalation = {
        c.name: {
            "escalation_minutes": c.escalation_minutes,
            "escalate_to": _target(c.escalate_to, server_name),
        }
        for c in org.channels
        if c.escalation_minutes is not None or c.escalate_to is not None
    }
    rows = rota_rows(org, server_name)
    digest = hashlib.sha256(json.dumps([r.__dict__ for r in rows], sort_keys=True).encode()).hexdigest()
    return {
        "roles": roles,
        "channel_escalation": escalation,
        "rota_digest": {"sha256": digest, "rows": len(rows)},
    }


def rota_rows(org: OrgFile, server_name: str) -> tuple[RotaRow, ...]:
    """The expanded rota (config.org_rota.RotaShift) as directory rows, in a stable order."""
    rows = [
        RotaRow(
            role=s.role,
            user_id=_uid(s.username, server_name),
            start_ts=int(s.start.timestamp() * 1000),
            end_ts=int(s.end.timestamp() * 1000),
            ref=s.ref[:255],
        )
        for s in org.rota_shifts
    ]
    return tuple(sorted(rows, key=lambda r: (r.role, r.start_ts, r.user_id, r.end_ts)))
