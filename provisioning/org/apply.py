"""Executing a plan against Synapse and the directory, fast and restartably.

Phases: channel rooms and rights first (rights may name accounts that do not exist yet),
then accounts and joins together (a join waits only for its own account; joins run one
at a time per room, as Synapse serialises them anyway, and many rooms at once), then
removals, closures and deactivations. Inside a phase steps run concurrently under a
bounded semaphore. If a step fails, the phase finishes, what succeeded is still recorded
in the directory, initial passwords already set are still delivered, and later phases are
skipped; running apply again picks up where it stopped. Every initial password is written
to the journal before its account is created, and accounts are recorded and their
passwords delivered in batches as they are created (provisioning.org.journal, .recorder),
so an apply killed outright is finished by the next one without creating, joining or
mailing anything twice. Logs carry user and room ids only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from mautrix.errors import MatrixRequestError
from mautrix.types import RoomID, UserID

from bridge.core.clock import now_ms
from bridge.core.matrix_errors import SynapseUnavailable, matrix_error
from bridge.db.directory import Directory, DirectoryChannel, DirectoryUser
from bridge.roles.store import RoleStore
from config.settings import Settings
from policy.event_types import CHANNEL_STATE_TYPE
from provisioning.org.actions import (
    Action,
    CloseChannel,
    CreateChannel,
    CreateUser,
    DeactivateUser,
    JoinMember,
    ReactivateUser,
    RecordChannel,
    RecordOrg,
    RemoveMember,
    ResumeUser,
    SetRights,
    UpdateChannel,
    UpdateUser,
    WritePolicyFile,
)
from provisioning.org.admin_api import SynapseClient
from provisioning.org.delivery import Credential, DeliveryReason, DeliveryReport
from provisioning.org.desired import DesiredChannel, DesiredUser
from provisioning.org.journal import Journal
from provisioning.org.passwords import generate_password
from provisioning.org.plan import Plan
from provisioning.org.policy_file import policy_document, policy_path, render_policy, write_policy_if_changed
from provisioning.org.recorder import AccountRecorder, directory_row

log = logging.getLogger(__name__)
A = TypeVar("A", bound=Action)
T = TypeVar("T")


@dataclass
class ApplyResult:
    """What an apply did: steps done, failures, password delivery, homeserver writes."""

    done: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    writes: int = 0
    policy_written: bool = False
    room_ids: dict[str, RoomID] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def default_concurrency() -> int:
    """Account creations in flight: Synapse hashes each password (bcrypt) on a CPU core,
    so more than about two per core only adds contention."""
    return min(16, max(4, 2 * (os.cpu_count() or 2)))


def connections_for(concurrency: int) -> int:
    """HTTP connections an Applier with this concurrency keeps busy (accounts + joins)."""
    return 3 * concurrency + 4


class ApplyError(Exception):
    """Some steps failed; `result` says which (and what still got done)."""

    def __init__(self, result: ApplyResult) -> None:
        super().__init__(f"{len(result.failures)} step(s) failed")
        self.result = result


@dataclass
class Applier:
    """Runs one plan. `advance` is called once per finished step (progress bars)."""

    plan: Plan
    client: SynapseClient
    directory: Directory
    settings: Settings
    advance: Callable[[Action], None] = lambda _action: None
    concurrency: int = field(default_factory=default_concurrency)
    join_rooms: int = 0  # rooms joined into at once; default 2 x concurrency
    result: ApplyResult = field(default_factory=ApplyResult)
    journal: Journal | None = None  # default: the deployment's (provisioning.org.journal)
    _recorder: AccountRecorder | None = None
    _passwords: dict[UserID, str] = field(default_factory=dict)
    _users: list[DirectoryUser] = field(default_factory=list)
    _closed: list[CloseChannel] = field(default_factory=list)
    _deactivated: list[DeactivateUser] = field(default_factory=list)
    _ready: dict[UserID, asyncio.Future[bool]] = field(default_factory=dict)

    def _of(self, cls: type[A]) -> list[A]:
        return [a for a in self.plan.actions if isinstance(a, cls)]

    async def _one(self, action: A, step: Callable[[A], Awaitable[None]]) -> None:
        """Run one step, recording success or failure (never raises a Matrix error)."""
        try:
            await step(action)
            self.result.done += 1
        except (MatrixRequestError, SynapseUnavailable, OSError) as exc:
            detail = exc.errcode if isinstance(exc, MatrixRequestError) else type(exc).__name__
            self.result.failures.append((action.kind, action.target, detail))
            log.warning("%s %s failed: %s", action.kind, action.target, detail)
        finally:
            self.advance(action)

    async def _phase(
        self, name: str, items: Sequence[T], run: Callable[[T], Awaitable[None]], limit: int = 0
    ) -> bool:
        """Run `run` over items, at most `limit` (default: concurrency) at a time."""
        sem = asyncio.Semaphore(limit or self.concurrency)
        started = time.perf_counter()

        async def bounded(item: T) -> None:
            async with sem:
                await run(item)

        await asyncio.gather(*(bounded(i) for i in items))
        self.result.timings[name] = time.perf_counter() - started
        return not self.result.failures

    async def _steps(self, name: str, actions: Sequence[A], step: Callable[[A], Awaitable[None]]) -> bool:
        return await self._phase(name, actions, lambda a: self._one(a, step))

    # --- steps -----------------------------------------------------------------------
    def _record_user(self, user: DesiredUser, now: int, started: bool = False) -> None:
        self._users.append(directory_row(user, now, started))

    @property
    def _journal(self) -> Journal:
        if self.journal is None:
            self.journal = Journal.of(self.settings)
        return self.journal

    def _created(self, user: DesiredUser, password: str, reason: DeliveryReason, now: int) -> None:
        assert self._recorder is not None
        cred = Credential(user.user_id, user.username, user.display_name, user.email, password, reason)
        self._recorder.add(directory_row(user, now, started=True), cred)

    async def _user_step(self, action: Action) -> None:
        now = now_ms()
        if isinstance(action, CreateUser | ReactivateUser):
            # A fresh password for every account created or brought back, written down in
            # the journal before the request (run()), so an interruption loses none.
            user = action.user
            password = self._passwords[user.user_id]
            ready = self._ready[user.user_id]
            try:
                if isinstance(action, CreateUser):
                    await self.client.create_user(user.user_id, password, user.display_name, user.email)
                else:
                    await self.client.reactivate_user(user.user_id, password, user.display_name, user.email)
            except BaseException:
                ready.set_result(False)
                raise
            ready.set_result(True)
            self._created(user, password, "new" if isinstance(action, CreateUser) else "reactivated", now)
        elif isinstance(action, ResumeUser):
            # Created by an apply that stopped before recording it: the password it was
            # created with is the one in the journal.
            pending = self._journal.pending[action.user.user_id]
            self._created(action.user, pending.password, pending.reason, now)
        elif isinstance(action, UpdateUser):
            fields = action.synapse_fields
            await self.client.update_user(
                action.user.user_id,
                displayname=action.user.display_name if "display_name" in fields else None,
                email=action.user.email if "email" in fields else None,
                admin=False if "server_admin" in fields else None,
            )
            self._record_user(action.user, now)

    async def _channel_step(self, action: Action) -> None:
        if isinstance(action, CreateChannel):
            ch = action.channel
            initial_state = [
                {
                    "type": "m.room.history_visibility",
                    "state_key": "",
                    "content": {"history_visibility": "shared"},
                },
                {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}},
                {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
                {"type": CHANNEL_STATE_TYPE, "state_key": "", "content": action.channel_state},
            ]
            room_id = await self.client.create_room(
                ch.name, ch.display_name, ch.topic, action.power_levels, initial_state
            )
            self.result.room_ids[ch.name] = room_id
            log.info("created channel room %s", room_id)
        elif isinstance(action, UpdateChannel):
            ch, room = action.channel, action.room_id
            self.result.room_ids[ch.name] = room
            states = {
                "name": ("m.room.name", {"name": ch.display_name}),
                "topic": ("m.room.topic", {"topic": ch.topic}),
                "history_visibility": ("m.room.history_visibility", {"history_visibility": "shared"}),
                "join_rule": ("m.room.join_rules", {"join_rule": "invite"}),
            }
            for change in action.changes:
                if change in states:
                    event_type, content = states[change]
                    await self.client.send_state(room, event_type, content)
        elif isinstance(action, SetRights):
            self.result.room_ids[action.channel.name] = action.room_id
            await self.client.send_state(action.room_id, "m.room.power_levels", action.power_levels)
            await self.client.send_state(action.room_id, CHANNEL_STATE_TYPE, action.channel_state)
        elif isinstance(action, RecordChannel):
            self.result.room_ids[action.channel.name] = action.room_id

    async def _join_step(self, action: JoinMember) -> None:
        room_id = action.room_id or self.result.room_ids.get(action.channel_name)
        if room_id is None:
            raise matrix_error(0, "M_NOT_FOUND", "channel room was not created")
        self.result.room_ids.setdefault(action.channel_name, room_id)
        ready = self._ready.get(action.user_id)
        if ready is not None and not await ready:
            raise matrix_error(0, "M_NOT_FOUND", "account was not created")
        await self.client.force_join(room_id, action.user_id)

    async def _join_phase(self, joins: Sequence[JoinMember]) -> bool:
        """Joins run one at a time per room (Synapse serialises membership changes in a
        room anyway) and many rooms at once; each waits for its account if that account
        is still being created, so joins overlap with account creation."""
        order = {user_id: i for i, user_id in enumerate(self._ready)}
        by_room: dict[str, list[JoinMember]] = {}
        for join in joins:
            by_room.setdefault(join.channel_name, []).append(join)
        queues = [sorted(q, key=lambda j: order.get(j.user_id, -1)) for q in by_room.values()]
        queues.sort(key=len, reverse=True)
        return await self._phase("joins", queues, self._join_queue, self.join_rooms or 2 * self.concurrency)

    async def _join_queue(self, queue: list[JoinMember]) -> None:
        for join in queue:
            await self._one(join, self._join_step)

    async def _remove_step(self, action: RemoveMember) -> None:
        self.result.room_ids.setdefault(action.channel_name, action.room_id)
        await self.client.kick(action.room_id, action.user_id, "no longer a member of this channel")

    async def _close_step(self, action: CloseChannel) -> None:
        if action.power_levels is not None:
            await self.client.send_state(action.room_id, "m.room.power_levels", action.power_levels)
            await self.client.send_state(action.room_id, CHANNEL_STATE_TYPE, action.channel_state)
        self._closed.append(action)
        log.info("closed channel room %s", action.room_id)

    async def _deactivate_step(self, action: DeactivateUser) -> None:
        if action.in_synapse:
            await self.client.deactivate_user(action.user_id)
        self._deactivated.append(action)
        log.info("deactivated %s (not erased)", action.user_id)

    # --- the whole run ---------------------------------------------------------------
    async def run(self) -> ApplyResult:
        """Apply every step; raises ApplyError after recording what succeeded."""
        writes_before = self.client.writes
        try:
            users: list[Action] = [
                *self._of(CreateUser),
                *self._of(ReactivateUser),
                *self._of(ResumeUser),
                *self._of(UpdateUser),
            ]
            channels: list[Action] = [
                *self._of(CreateChannel),
                *self._of(UpdateChannel),
                *self._of(SetRights),
                *self._of(RecordChannel),
            ]
            self._recorder = AccountRecorder(self.directory, self.settings, self._journal)
            ahead = []
            for action in users:
                if isinstance(action, CreateUser | ReactivateUser):
                    user = action.user
                    self._ready[user.user_id] = asyncio.get_running_loop().create_future()
                    password = self._journal.password_for(user.user_id) or generate_password()
                    self._passwords[user.user_id] = password
                    reason: DeliveryReason = "new" if isinstance(action, CreateUser) else "reactivated"
                    cred = Credential(
                        user.user_id, user.username, user.display_name, user.email, password, reason
                    )
                    ahead.append(cred)
            self._journal.write_ahead(ahead)
            # Rooms first (rights may name accounts not created yet), then accounts and
            # joins together: a join starts as soon as its account exists.
            ok = await self._steps("channels", channels, self._channel_step)
            started = time.perf_counter()
            both = await asyncio.gather(
                self._steps("users", users, self._user_step), self._join_phase(self._of(JoinMember))
            )
            self.result.timings["users+joins"] = time.perf_counter() - started
            ok = ok and all(both)
            ok = ok and await self._steps("removals", self._of(RemoveMember), self._remove_step)
            ok = ok and await self._steps("closures", self._of(CloseChannel), self._close_step)
            ok = ok and await self._steps("deactivations", self._of(DeactivateUser), self._deactivate_step)
            started = time.perf_counter()
            await self._recorder.flush()  # every account in the directory before policy.json
            await self._record(record_org=ok and bool(self._of(RecordOrg)))
            self.result.timings["directory"] = time.perf_counter() - started
            for action in self.plan.actions:
                if isinstance(action, RecordOrg | WritePolicyFile) and ok:
                    self.result.done += 1
                    self.advance(action)
        finally:
            started = time.perf_counter()
            if self._recorder is not None:
                # What succeeded is recorded and delivered even when a step failed.
                await self._recorder.flush()
                self.result.delivery = self._recorder.report
                self._journal.close()
            self.result.timings["passwords"] = time.perf_counter() - started
            self.result.writes = self.client.writes - writes_before
        if self.result.failures:
            raise ApplyError(self.result)
        return self.result

    async def _record(self, record_org: bool) -> None:
        """Write what succeeded to the directory, then policy.json from the directory."""
        now = now_ms()
        desired = self.plan.desired
        snap = await self.directory.snapshot()
        users = list(self._users)
        for action in self._deactivated:
            row = snap.users.get(action.user_id)
            if row is not None:
                users.append(replace(row, active=False, updated_ts=now, deactivated_ts=now))
        await self.directory.upsert_users(users)
        channels: list[DirectoryChannel] = []
        members: dict[RoomID, dict[UserID, str]] = {}
        for name, room_id in self.result.room_ids.items():
            ch: DesiredChannel = desired.channels[name]
            channels.append(
                DirectoryChannel(
                    room_id=room_id,
                    name=name,
                    alias=ch.alias,
                    display_name=ch.display_name,
                    topic=ch.topic,
                    closed=False,
                    rights=ch.rights,
                    managed_by="org",
                    created_ts=now,
                    updated_ts=now,
                )
            )
            members[room_id] = dict(ch.access)
        for close in self._closed:
            row_ch = snap.channels.get(close.channel_name)
            if row_ch is not None:
                channels.append(replace(row_ch, closed=True, updated_ts=now, closed_ts=now))
        await self.directory.upsert_channels(channels)
        await self.directory.replace_channel_members(members)
        if record_org:
            await self.directory.replace_schedules(desired.schedules, now)
            if snap.settings.get("rota_digest") != desired.settings.get("rota_digest"):
                await RoleStore(self.directory.engine).replace_rota(desired.rota)
            await self.directory.save_settings(desired.settings, now)
        document = policy_document(await self.directory.snapshot(), desired.bot_user_id)
        self.result.policy_written = write_policy_if_changed(
            policy_path(self.settings.data_dir), render_policy(document)
        )
