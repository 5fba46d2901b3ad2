"""policy.json: the organisation policy the Synapse module reads (module config
`policy_file`, <data dir>/policy.json), derived from the directory after every apply.

Deterministic (sorted, no timestamps) so an unchanged directory gives a byte-identical
file and a re-apply can tell there is nothing to write.
"""

from __future__ import annotations

import json
from pathlib import Path

from bridge.core.files import write_private
from bridge.db.directory import DirectorySnapshot
from policy.policy_document import POLICY_FILE_NAME, POLICY_VERSION, ChannelPolicy, PolicyDocument
from provisioning.org.desired import resolve_refs


def policy_path(data_dir: Path) -> Path:
    """Where the module expects the file (see synapse/homeserver.yaml.j2)."""
    return data_dir / POLICY_FILE_NAME


def policy_document(snapshot: DirectorySnapshot, bot_user_id: str) -> PolicyDocument:
    """The document for the module: who is active, who administers, who may create
    channels, each channel room's posters, responders and closed flag, and the shifts
    (schedules, user_schedules) login hours are enforced against."""
    active = [u for u in snapshot.users.values() if u.active]
    policy = dict(snapshot.settings.get("policy") or {})
    creators = resolve_refs(policy.get("channel_creators", ["role:admin"]), active)
    channels = {
        str(c.room_id): ChannelPolicy(
            name=c.name,
            alias=c.alias,
            closed=c.closed,
            post=sorted(u for u, a in snapshot.members.get(c.room_id, {}).items() if a == "post"),
            respond=sorted(u for u, a in snapshot.members.get(c.room_id, {}).items() if a == "respond"),
        )
        for c in sorted(snapshot.channels.values(), key=lambda c: c.room_id)
    }
    return {
        "version": POLICY_VERSION,
        "bot_user_id": bot_user_id,
        "organization": snapshot.settings.get("organization") or {},
        "admins": sorted(u.user_id for u in active if u.role == "admin"),
        "active_users": sorted(u.user_id for u in active),
        "deactivated_users": sorted(u.user_id for u in snapshot.users.values() if not u.active),
        "channel_creators": sorted(creators),
        "channels": channels,
        "policy": policy,
        # Login hours (policy/module/login_hours.py): shift definitions as in org.yaml and
        # each active person's shift.
        "schedules": {name: dict(d) for name, d in sorted(snapshot.schedules.items())},
        "user_schedules": {
            u.user_id: u.schedule for u in sorted(active, key=lambda u: u.user_id) if u.schedule
        },
    }


def render_policy(document: PolicyDocument) -> str:
    """Stable JSON text of the document."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_policy_if_changed(path: Path, text: str) -> bool:
    """Write the file (0600, atomically) unless it already holds exactly `text`."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    write_private(path, text)
    return True
