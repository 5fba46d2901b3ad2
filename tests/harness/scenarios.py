"""Scenarios shared by integration tests on different stacks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from tests.harness.smtp import MailCatcher
from tests.harness.stack import Stack


@contextmanager
def stack_with_mail(root: Path, **extra_settings: Any) -> Iterator[tuple[Stack, MailCatcher]]:
    """Synapse + bridge with SMTP to a local MailCatcher, both stopped on exit.

    Waits for Synapse's start-up schema updates: reactivating an account fails on a
    brand-new SQLite homeserver until they are done (a unique index on profiles)."""
    mail = MailCatcher()
    mail.start()
    stack = Stack(root=root, extra_settings={"smtp": mail.settings(), **extra_settings})
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        asyncio.run(stack.wait_background_updates())
        yield stack, mail
    finally:
        stack.stop()
        mail.stop()


@dataclass(frozen=True)
class DirectMessages:
    """What `exchange_dm` did: the room, its two members (and their passwords, to sign in
    again) and the two messages' event ids."""

    room_id: str
    alice_id: str
    bob_id: str
    event_ids: tuple[str, str]
    passwords: tuple[str, str]


async def exchange_dm(stack: Stack, first_body: str, reply_body: str = "ack") -> DirectMessages:
    """Two new staff accounts exchange a DM the bot never joins (the Foundation check)."""
    alice_id, alice_pw = await stack.create_user(display_name="Alice Nurse")
    bob_id, bob_pw = await stack.create_user(display_name="Bob Physician")
    alice = await stack.login(alice_id, alice_pw)
    bob = await stack.login(bob_id, bob_pw)
    try:
        created = await alice.room_create(is_direct=True, invite=[bob_id])
        assert isinstance(created, RoomCreateResponse), created
        joined = await bob.join(created.room_id)
        assert isinstance(joined, JoinResponse), joined
        sent = await alice.room_send(
            created.room_id, "m.room.message", {"msgtype": "m.text", "body": first_body}
        )
        assert isinstance(sent, RoomSendResponse), sent
        reply = await bob.room_send(
            created.room_id, "m.room.message", {"msgtype": "m.text", "body": reply_body}
        )
        assert isinstance(reply, RoomSendResponse), reply
        event_ids = (sent.event_id, reply.event_id)
        return DirectMessages(created.room_id, alice_id, bob_id, event_ids, (alice_pw, bob_pw))
    finally:
        await asyncio.gather(alice.close(), bob.close())


async def send_texts(client: AsyncClient, room_id: str, bodies: Iterable[str]) -> list[str]:
    """Send each body as an m.text message, one after another; their event ids in order."""
    sent = []
    for body in bodies:
        resp = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
        assert isinstance(resp, RoomSendResponse), resp
        sent.append(resp.event_id)
    return sent
