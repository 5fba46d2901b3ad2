"""What the bot does on Matrix, behind a small interface (mautrix underneath).

Replies are sent with transaction ids derived from the command's event id, so a reply
re-sent after a crash is de-duplicated by Synapse instead of appearing twice.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol, cast

from mautrix.api import MediaPath, Method
from mautrix.appservice import IntentAPI
from mautrix.types import EventType, RoomID


def txn_id_for(event_id: str, index: int) -> str:
    """A stable transaction id for the index-th message answering event_id."""
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:32]
    return f"cb-cmd-{digest}-{index}"


class BotClient(Protocol):
    """The bot's Matrix actions the commands and the scheduler need."""

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str | None = None) -> str:
        """Send an m.room.message; returns the event id."""
        ...

    async def upload(self, data: bytes, mimetype: str, filename: str) -> str:
        """Upload to the media repository; returns the mxc:// URI."""
        ...

    async def joined_members(self, room_id: str) -> set[str]:
        """User ids joined to a room (empty if the bot cannot see it)."""
        ...

    async def join(self, room_id: str) -> None:
        """Accept an invite / join a room."""
        ...


class MautrixBot:
    """BotClient over the appservice bot's mautrix IntentAPI."""

    def __init__(self, intent: IntentAPI) -> None:
        self.intent = intent

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str | None = None) -> str:
        """PUT /rooms/{room}/send/m.room.message/{txn}."""
        event_id = await self.intent.send_message_event(
            RoomID(room_id), EventType.ROOM_MESSAGE, cast(Any, content), txn_id=txn_id
        )
        return str(event_id)

    async def upload(self, data: bytes, mimetype: str, filename: str) -> str:
        """POST /_matrix/media/v1/create, then PUT /_matrix/media/v3/upload/{server}/{id}.

        Reserving the id first lets the Carebridge module recognise the bot's own files (an
        HTML compliance report would otherwise be refused as active content)."""
        created = await self.intent.create_mxc()
        mxc = created.content_uri
        server_name, media_id = self.intent.api.parse_mxc_uri(mxc)
        # Synapse answers the PUT with {} (mautrix's upload_media expects a content_uri).
        await self.intent.api.request(
            Method.PUT,
            MediaPath.v3.upload[server_name][media_id],
            content=data,
            headers={"Content-Type": mimetype},
            query_params={"filename": filename},
        )
        return str(mxc)

    async def joined_members(self, room_id: str) -> set[str]:
        """GET /rooms/{room}/joined_members."""
        members = await self.intent.get_joined_members(RoomID(room_id))
        return {str(m) for m in members}

    async def join(self, room_id: str) -> None:
        """POST /rooms/{room}/join."""
        await self.intent.join_room_by_id(RoomID(room_id))
