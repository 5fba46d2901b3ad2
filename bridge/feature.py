"""How a feature plugs into the running bridge (bridge/service.py): one contract for all.

A feature (ArchiveFeature, ComplianceFeature, StaffFeature, CommandsFeature) is built with
the bridge and says what it attaches: its dispatcher consumers (`consumers()`) and its bot
commands (`commands()`, collected into the one registry of bridge/commands). The bridge
adds every consumer before the dispatcher runs, then starts features by their `stage`
once the bot is registered and the administrators' room exists, with what they need from
that point (`FeatureContext`). Stopping ends their background work, in reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from mautrix.appservice import IntentAPI
from mautrix.types import RoomID

from bridge.archive.dispatcher import Consumer
from bridge.commands.framework import Command


class Stage(Enum):
    """When a feature runs relative to the dispatcher."""

    BOUND = "bound"
    """Its consumers act as the bot: started before the dispatcher runs (so they are bound
    when the first event arrives), stopped after the dispatcher has stopped."""
    BACKGROUND = "background"
    """Background work that feeds or needs a running dispatcher: started after it starts,
    stopped before it stops."""


@dataclass(frozen=True)
class FeatureContext:
    """What a feature gets when the bridge starts it."""

    intent: IntentAPI
    """The Carebridge bot (a Synapse server admin)."""
    admin_room_id: RoomID
    """The administrators' room: alerts, reports and audit records go there."""
    archive_appended: Callable[[], None]
    """Say that rows were appended to the archive outside a transaction (the dispatcher
    reads them)."""


class Feature(Protocol):
    """A feature the bridge attaches, starts and stops."""

    @property
    def stage(self) -> Stage:
        """When it starts and stops relative to the dispatcher."""

    def consumers(self) -> Sequence[Consumer]:
        """Its dispatcher consumers (added before the dispatcher starts)."""

    def commands(self) -> Sequence[Command]:
        """Its `!commands` for the bot's registry."""

    async def start(self, ctx: FeatureContext) -> None:
        """Bind to the bot and the admins' room and start background work."""

    async def stop(self) -> None:
        """Stop background work."""


__all__ = ["Consumer", "Feature", "FeatureContext", "Stage"]
