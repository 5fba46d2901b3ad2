"""Recording accounts as `provision apply` creates them, in batches: the directory row, the
initial-password mark, the delivery of the password (mail or 0600 file) and its
"delivered" mark in the journal (provisioning.org.journal).

Recording as it goes (not once at the end) is what makes an interrupted apply cheap to
finish: at most one batch of accounts is left for the next apply to record and deliver,
and every person created before the interruption already has their password.
45 CFR 164.308(a)(3)(ii)(B) workforce clearance; 164.312(d) person authentication.
"""

from __future__ import annotations

import asyncio

from bridge.db.directory import Directory, DirectoryUser
from bridge.db.initial_passwords import InitialPasswords
from config.settings import Settings
from provisioning.org.delivery import Credential, DeliveryReport, deliver
from provisioning.org.desired import DesiredUser
from provisioning.org.journal import Journal

BATCH = 100


def directory_row(user: DesiredUser, now: int, started: bool = False) -> DirectoryUser:
    """The directory row of an org-file account (`started`: its active stretch begins now)."""
    return DirectoryUser(
        user_id=user.user_id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role,
        groups=user.groups,
        schedule=user.schedule,
        active=True,
        managed_by="org",
        created_ts=now,
        updated_ts=now,
        active_since_ts=now if started else None,
    )


class AccountRecorder:
    """Collects created accounts and records them every BATCH (and at `flush`)."""

    def __init__(
        self, directory: Directory, settings: Settings, journal: Journal, batch: int = BATCH
    ) -> None:
        self.directory = directory
        self.settings = settings
        self.journal = journal
        self.batch = batch
        self.report = DeliveryReport()
        self._rows: list[DirectoryUser] = []
        self._creds: list[Credential] = []
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, row: DirectoryUser, cred: Credential) -> None:
        """An account now exists in Synapse with this password: record and deliver it soon."""
        self._rows.append(row)
        self._creds.append(cred)
        if len(self._rows) >= self.batch:
            task = asyncio.get_running_loop().create_task(self._write())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write(self) -> None:
        async with self._lock:
            rows, creds = self._rows, self._creds
            self._rows, self._creds = [], []
            if not rows:
                return
            await self.directory.upsert_users(rows)
            await InitialPasswords(self.directory.engine).mark(c.user_id for c in creds)
            self.report.merge(await deliver(creds, self.settings))
            self.journal.delivered(c.user_id for c in creds)

    async def flush(self) -> None:
        """Record and deliver everything added so far (and wait for batches in flight)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._write()
