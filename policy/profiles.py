"""Nobody appears under someone else's name: display names and avatars in rooms.

45 CFR 164.312(d) person or entity authentication, and 164.312(c)(1) integrity: a
colleague reading "Dr. Morgan Lee" must be reading Dr. Morgan Lee. Matrix lets a member set
a name and picture for one room in their `m.room.member` event (a "per-room profile"),
which clients show instead of the person's own. Here:

* a member event may carry only the person's **directory** name and avatar: the profile
  an administrator gave them (display names are provisioned through the admin API and
  cannot be changed by staff) and the avatar they set for themselves; no other name;
* an avatar is an `mxc://` address of a file on this server, never free text (an
  `avatar_url` of "… John Doe MRN 12345" would be stored and shown to colleagues, and is
  no picture at all): in member events and in the profile itself
  (`PUT /profile/{user}/avatar_url`, judged by the request guard);
* an event without a name or avatar is fine (clients show the user id).

Synapse fills a join's or invite's name and avatar from the person's profile, and after a
profile change re-sends their member event in every room with the new profile: those
equal the directory and pass. The rule is judged for the person the event is about (its
state key), whoever sends it (an invite names the invitee).

Every change of a person's profile is also recorded (`ProfileRecord`, sent down the
durable pipe by the module), because a value replaced within moments never reaches any
member event: Synapse cancels the pending re-send and builds the next one from the newest
profile.

Pure: facts in, a Decision out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from policy.decision import Decision

MEDIA_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


class ProfileReason(StrEnum):
    """Why a name or avatar was refused (the `reason` label of the refusal counter)."""

    ALLOWED = "allowed"
    NAME_NOT_DIRECTORY = "member-name-not-directory"
    AVATAR_NOT_DIRECTORY = "member-avatar-not-directory"
    AVATAR_NOT_LOCAL = "avatar-not-a-picture-on-this-server"


MESSAGES = {
    ProfileReason.NAME_NOT_DIRECTORY: (
        "In every room you appear under your name in the organisation's directory; another "
        "name cannot be set here. Ask an administrator if your name is wrong."
    ),
    ProfileReason.AVATAR_NOT_DIRECTORY: (
        "In every room you appear with your own profile picture; set it in your profile "
        "settings, not for one room."
    ),
    ProfileReason.AVATAR_NOT_LOCAL: (
        "A profile picture must be an image uploaded to this server; choose a picture "
        "file (or remove the picture)."
    ),
}


def _refuse(reason: ProfileReason) -> Decision:
    return Decision(False, reason, MESSAGES[reason])


def is_local_mxc(url: str, server_name: str) -> bool:
    """`mxc://<this server>/<media id>`, nothing else."""
    prefix = f"mxc://{server_name}/"
    return url.startswith(prefix) and MEDIA_ID.fullmatch(url[len(prefix) :]) is not None


def decide_avatar_url(avatar_url: Any, server_name: str) -> Decision:
    """A profile's avatar: unset ("" or null) or a picture on this server."""
    if avatar_url is None or avatar_url == "":
        return Decision(True, ProfileReason.ALLOWED)
    if isinstance(avatar_url, str) and is_local_mxc(avatar_url, server_name):
        return Decision(True, ProfileReason.ALLOWED)
    return _refuse(ProfileReason.AVATAR_NOT_LOCAL)


def carries_profile(content: Mapping[str, Any]) -> bool:
    """Does a member event's content set a name or an avatar (the only case judged)?"""
    return content.get("displayname") is not None or content.get("avatar_url") not in (None, "")


def decide_member_profile(
    content: Mapping[str, Any],
    directory_name: str | None,
    directory_avatar: str | None,
    server_name: str,
) -> Decision:
    """May an `m.room.member` event carry this name and avatar for the person it is about?
    Only their directory name and avatar; an avatar only as a picture on this server."""
    name = content.get("displayname")
    if name is not None and name != directory_name:
        return _refuse(ProfileReason.NAME_NOT_DIRECTORY)
    avatar = content.get("avatar_url")
    if avatar in (None, ""):
        return Decision(True, ProfileReason.ALLOWED)
    local = decide_avatar_url(avatar, server_name)
    if not local.allowed:
        return local
    if avatar != directory_avatar:
        return _refuse(ProfileReason.AVATAR_NOT_DIRECTORY)
    return Decision(True, ProfileReason.ALLOWED)


@dataclass(frozen=True)
class ProfileRecord:
    """One change of a person's profile as Synapse stored it: who, when, the new name and
    avatar, whether an administrator made it (or a deactivation), and by whom. 45 CFR
    164.312(b) audit controls."""

    ts: int
    user_id: str
    displayname: str | None
    avatar_url: str | None
    by_admin: bool
    deactivation: bool = False
    actor: str | None = None

    def content(self) -> dict[str, Any]:
        """The event content (the name and avatar kept even when null: "removed")."""
        content = asdict(self)
        if content["actor"] is None:
            del content["actor"]
        return content
