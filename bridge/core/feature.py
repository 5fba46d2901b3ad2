"""How a feature bundle plugs into the running bridge (bridge/service.py).

A bundle (ArchiveServices, ComplianceServices, StaffFeatures) is built with the bridge,
adds its consumers to the dispatcher then, and is started once the bot is registered and
the administrators' room exists, with what it needs from that point: the bot's intent
and the room id. Stopping ends its background work; the bridge stops bundles in a fixed
order around the dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mautrix.appservice import IntentAPI
from mautrix.types import RoomID


@dataclass(frozen=True)
class FeatureContext:
    """What a feature gets when the bridge starts it."""

    intent: IntentAPI
    """The Carebridge bot (a Synapse server admin)."""
    admin_room_id: RoomID
    """The administrators' room: alerts, reports and audit records go there."""


class Feature(Protocol):
    """A feature bundle the bridge starts and stops."""

    async def start(self, ctx: FeatureContext) -> None:
        """Bind to the bot and the admins' room and start background work."""

    async def stop(self) -> None:
        """Stop background work (the bridge has stopped taking transactions)."""
