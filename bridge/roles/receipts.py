"""Read receipts of the rooms that have unread urgent messages, polled by the bot.

Why polling: Synapse pushes receipts to an appservice only with `receive_ephemeral`
(MSC2409), which also pushes every typing notification of every room the bridge watches
(all of them); pushed ephemeral data is not kept across a Synapse restart; and private
receipts (m.read.private) are withheld from appservices for users outside their
namespace anyway. An appservice's users may not /sync; the room's initial sync, asked by
the bot (which is in every room it alerts in), returns each member's latest public
receipt: the current truth, whenever it is asked, so a restarted bridge misses nothing.
A receipt covers its event and everything before it; the archive's sequence numbers give
that order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from mautrix.api import Method, Path
from mautrix.appservice import IntentAPI
from mautrix.types import RoomID
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.db.tables import archive_events

RECEIPT_TYPES = ("m.read", "m.read.private")


@dataclass(frozen=True)
class Receipt:
    """A member's latest read receipt in a room."""

    user_id: str
    event_id: str
    ts: int


def parse_receipts(content: Mapping[str, Any]) -> dict[str, Receipt]:
    """An m.receipt event's content -> each user's receipt (the latest ts wins)."""
    found: dict[str, Receipt] = {}
    for event_id, kinds in content.items():
        if not isinstance(kinds, Mapping):
            continue
        for kind in RECEIPT_TYPES:
            users = kinds.get(kind)
            if not isinstance(users, Mapping):
                continue
            for user_id, data in users.items():
                ts = data.get("ts") if isinstance(data, Mapping) else None
                ts = int(ts) if isinstance(ts, int | float) else 0
                if user_id not in found or ts >= found[user_id].ts:
                    found[user_id] = Receipt(str(user_id), str(event_id), ts)
    return found


async def latest_receipts(intent: IntentAPI, room_ids: Collection[str]) -> dict[str, dict[str, Receipt]]:
    """room -> user -> latest public receipt, for rooms the bot is joined to (the room's
    initial sync: an appservice's users may not call /sync)."""
    out: dict[str, dict[str, Receipt]] = {}
    for room_id in sorted(room_ids):
        data = await intent.api.request(
            Method.GET, Path.v3.rooms[RoomID(room_id)].initialSync, query_params={"limit": "1"}
        )
        per_user: dict[str, Receipt] = {}
        for event in data.get("receipts") or []:
            if isinstance(event, Mapping) and isinstance(event.get("content"), Mapping):
                for user_id, receipt in parse_receipts(event["content"]).items():
                    if user_id not in per_user or receipt.ts >= per_user[user_id].ts:
                        per_user[user_id] = receipt
        out[room_id] = per_user
    return out


async def archive_seqs(engine: AsyncEngine, event_ids: Collection[str]) -> dict[str, int]:
    """The archive position of each event (events not archived yet are left out)."""
    ids = sorted(set(event_ids))
    found: dict[str, int] = {}
    async with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = select(archive_events.c.event_id, archive_events.c.seq).where(
                archive_events.c.event_id.in_(chunk)
            )
            found.update({r[0]: int(r[1]) for r in await conn.execute(query)})
    return found
