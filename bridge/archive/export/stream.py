"""Export: every archived room event, messages with their edits, reactions, attachments
and membership.

Streams the archive page by page (memory stays flat however large it grows): for each
message the original body, every revision (m.replace; one by someone other than the
sender is kept and marked `by_other_sender`, never taken as the current text), every
reaction (m.annotation), the attachment decrypted into the export folder (its SHA-256
checked against the one recorded when it was archived), and who was a member of the room
when it was sent, computed incrementally from the archived m.room.member events in
archive order. Every other event (state, membership, polls, locations, custom and unknown
types, records of malformed events) is a record too, with its raw content: a compliance
export is everything that was said.
45 CFR 164.312(b) audit controls; 164.524 access (producing a person's record).
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.export.select import Target, merged, rooms_written_in, rows_in_span, sources, span_of
from bridge.archive.keyring import Sealer
from bridge.archive.media_store import read_media
from bridge.archive.reader import iter_events
from bridge.archive.writer import ArchivedEvent
from bridge.core.clock import iso_ms
from bridge.db.tables import archive_events, archive_media, archive_relations
from policy.event_types import CAREBRIDGE_PREFIX
from policy.relations import ANNOTATION, REPLACE, THREAD, relation_of

MESSAGE_TYPES = ("m.room.message", "m.sticker")
MEMBER = "m.room.member"
PAGE = 1000  # rows per page and per batch of relation look-ups (round trips dominated at 200)
t = archive_events


def thread_and_reply(content: dict[str, Any]) -> tuple[str | None, str | None]:
    """(thread root, replied-to event) of a message. In a thread (rel_type m.thread) the
    root is the relation's target; the `m.in_reply_to` a client adds only as a fallback
    for thread-unaware clients (`is_falling_back`) is not a reply of its own."""
    rel = content.get("m.relates_to")
    if not isinstance(rel, dict):
        return None, None
    reply = rel.get("m.in_reply_to")
    reply_id = reply.get("event_id") if isinstance(reply, dict) else None
    reply_id = reply_id if isinstance(reply_id, str) else None
    if rel.get("rel_type") != THREAD:
        return None, reply_id
    root = rel.get("event_id")
    return (root if isinstance(root, str) else None), (None if rel.get("is_falling_back") else reply_id)


@dataclass(frozen=True)
class ExportFilter:
    """Which messages: one room or one sender, optionally within [since, until) (ms)."""

    room_id: str | None = None
    user_id: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def __post_init__(self) -> None:
        if (self.room_id is None) == (self.user_id is None):
            raise ValueError("export exactly one of: a room, a user")

    def describe(self) -> dict[str, Any]:
        """The filter as recorded in the audit record and the manifest."""
        return {
            "room": self.room_id,
            "user": self.user_id,
            "since": iso_ms(self.since_ms) if self.since_ms is not None else None,
            "until": iso_ms(self.until_ms) if self.until_ms is not None else None,
        }


@dataclass
class ExportCounts:
    """What an export produced."""

    messages: int = 0
    events: int = 0
    revisions: int = 0
    reactions: int = 0
    attachments: int = 0
    attachments_missing: int = 0


@dataclass
class _Membership:
    """Who is joined to each room, kept sorted as membership events arrive (a change costs
    one insertion, not a sort of the whole room), and one shared tuple per room until the
    next change."""

    joined: dict[str, list[str]] = field(default_factory=dict)
    snapshots: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def apply(self, event: dict[str, Any]) -> None:
        room, user = event["room_id"], event.get("state_key")
        content = _content(event)
        if not isinstance(user, str):
            return
        members = self.joined.setdefault(room, [])
        at = bisect.bisect_left(members, user)
        present = at < len(members) and members[at] == user
        if content.get("membership") == "join":
            if not present:
                members.insert(at, user)
        elif present:
            del members[at]
        self.snapshots.pop(room, None)

    def at(self, room: str) -> tuple[str, ...]:
        snap = self.snapshots.get(room)
        if snap is None:
            snap = self.snapshots[room] = tuple(self.joined.get(room, ()))
        return snap


def _in_window(flt: ExportFilter, ts: int) -> bool:
    return (flt.since_ms is None or ts >= flt.since_ms) and (flt.until_ms is None or ts < flt.until_ms)


def _content(event: dict[str, Any]) -> dict[str, Any]:
    content = event.get("content")
    return content if isinstance(content, dict) else {}


def _attached(event: dict[str, Any]) -> str | None:
    """The target of an edit or reaction (exported with its target), else None."""
    rel = _content(event).get("m.relates_to")
    if not isinstance(rel, dict) or rel.get("rel_type") not in (REPLACE, ANNOTATION):
        return None
    target = rel.get("event_id")
    return target if isinstance(target, str) else None


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: object, fallback: str = "file") -> str:
    """A file name safe to create inside the export folder (no paths, no dot files)."""
    text = _UNSAFE.sub("_", name if isinstance(name, str) else "").strip(" .")
    return (text or fallback)[:100]


class Exporter:
    """Produces export records; attachments are decrypted into `out_dir/attachments`."""

    def __init__(
        self, engine: AsyncEngine, keyring: Sealer, media_dir: Path, out_dir: Path, page: int = PAGE
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.media_dir = media_dir
        self.out_dir = out_dir
        self.page = page
        self.counts = ExportCounts()
        self.total = 0  # the target's rows to read (known once records() has started)
        self.scanned = 0  # of those, read so far

    async def records(self, flt: ExportFilter) -> AsyncIterator[dict[str, Any]]:
        """Yield one record per event, in archive order (edits and reactions inside the
        record of what they edit or react to)."""
        membership = _Membership()
        batch: list[tuple[ArchivedEvent, tuple[str, ...]]] = []
        target = Target(flt.room_id, flt.user_id, flt.since_ms, flt.until_ms)
        span = await span_of(self.engine, target)
        if span is None:
            return
        self.total = await rows_in_span(self.engine, target, span)
        rooms = await rooms_written_in(self.engine, flt.user_id, span) if flt.user_id is not None else []

        def seen() -> None:
            self.scanned += 1

        stream = merged(self.engine, self.keyring, sources(target, span, rooms), self.page, seen)
        async for archived in stream:
            event = archived.event
            if event["type"] == MEMBER:
                membership.apply(event)
            if event.get("sender") != flt.user_id and flt.user_id is not None:
                continue
            if not _in_window(flt, int(event.get("origin_server_ts", 0))) or archived.seq < span.first:
                continue
            related_to = _attached(event)
            if related_to is not None and not await self._foreign_target(flt, related_to):
                continue
            batch.append((archived, membership.at(event["room_id"])))
            if len(batch) >= self.page:
                for record in await self._resolve(batch):
                    yield record
                batch = []
        if batch:
            for record in await self._resolve(batch):
                yield record

    async def _foreign_target(self, flt: ExportFilter, target: str) -> bool:
        """In a person's export, their edit of or reaction to someone else's message has no
        record of its own to sit in: it becomes a record itself."""
        if flt.user_id is None:
            return False
        async with self.engine.connect() as conn:
            sender = await conn.scalar(select(t.c.sender).where(t.c.event_id == target))
        return sender != flt.user_id

    async def _related(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        r = archive_relations
        async with self.engine.connect() as conn:
            rel_ids = [
                row[0]
                for row in await conn.execute(
                    select(r.c.event_id)
                    .where(r.c.target_event_id.in_(ids), r.c.rel_type.in_((REPLACE, ANNOTATION)))
                    .order_by(r.c.seq)
                )
            ]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(rel_ids), 500):
            chunk = rel_ids[start : start + 500]
            async for archived in iter_events(self.engine, self.keyring, where=t.c.event_id.in_(chunk)):
                relation = relation_of(archived.event)
                # The clear-text index only points the way; the sealed event must agree.
                if relation is not None and relation.target_event_id in ids:
                    grouped.setdefault(relation.target_event_id, []).append(archived.event)
        return grouped

    async def _resolve(self, batch: list[tuple[ArchivedEvent, tuple[str, ...]]]) -> list[dict[str, Any]]:
        ids = [a.event["event_id"] for a, _ in batch]
        related = await self._related(ids)
        records = []
        for archived, members in batch:
            records.append(await self._record(archived, members, related.get(archived.event["event_id"], [])))
        return records

    async def _record(
        self, archived: ArchivedEvent, members: tuple[str, ...], related: list[dict[str, Any]]
    ) -> dict[str, Any]:
        event = archived.event
        content = _content(event)
        revisions = []
        reactions = []
        for rel in related:
            rel_content = _content(rel)
            rel_type = rel_content.get("m.relates_to", {}).get("rel_type")
            if rel_type == REPLACE:
                new = rel_content.get("m.new_content")
                body = new.get("body") if isinstance(new, dict) else rel_content.get("body")
                revision = {
                    "event_id": rel["event_id"],
                    "time": iso_ms(int(rel.get("origin_server_ts", 0))),
                    "body": body,
                }
                if rel.get("sender") != event["sender"]:
                    # Clients ignore such an edit; the archive keeps it as evidence.
                    revision.update(sender=rel.get("sender"), by_other_sender=True)
                revisions.append(revision)
            elif rel_type == ANNOTATION:
                reactions.append(
                    {
                        "event_id": rel["event_id"],
                        "sender": rel["sender"],
                        "key": rel_content["m.relates_to"].get("key"),
                        "time": iso_ms(int(rel.get("origin_server_ts", 0))),
                    }
                )
        is_message = event["type"] in MESSAGE_TYPES
        if is_message:
            self.counts.messages += 1
        else:
            self.counts.events += 1
        own_revisions = [r for r in revisions if not r.get("by_other_sender")]
        self.counts.revisions += len(revisions)
        self.counts.reactions += len(reactions)
        thread_root, in_reply_to = thread_and_reply(content)
        record = {
            "seq": archived.seq,
            "event_id": event["event_id"],
            "room_id": event["room_id"],
            "sender": event["sender"],
            "time": iso_ms(int(event.get("origin_server_ts", 0))),
            "type": event["type"],
            "kind": "message" if is_message else "event",
            "msgtype": content.get("msgtype"),
            "body": content.get("body"),
            "current_body": own_revisions[-1]["body"] if own_revisions else content.get("body"),
            "revisions": revisions,
            "reactions": reactions,
            "in_reply_to": in_reply_to,
            "thread_root": thread_root,
            "attachment": await self._attachment(archived.seq, content),
            "members": list(members),
        }
        carebridge_keys = any(str(k).startswith(CAREBRIDGE_PREFIX) for k in content)
        if (
            carebridge_keys
            or not is_message
            or content.get("msgtype") not in (None, "m.text", "m.notice", "m.emote")
        ):
            # Everything beyond a plain text message keeps its raw content (locations'
            # geo_uri, polls, custom and unknown types, malformed records, and Carebridge's
            # own keys: an urgent mark, a forwarded copy, a hand-over notice).
            record["content"] = event.get("content")
        if "state_key" in event:
            record["state_key"] = event["state_key"]
        return record

    async def _attachment(self, seq: int, content: dict[str, Any]) -> dict[str, Any] | None:
        url = content.get("url")
        if not isinstance(url, str):
            file_info = content.get("file")
            url = file_info.get("url") if isinstance(file_info, dict) else None
        if not isinstance(url, str):
            return None
        info = content.get("info")
        name = content.get("filename") or content.get("body")
        mimetype = info.get("mimetype") if isinstance(info, dict) else None
        result: dict[str, Any] = {"mxc": url, "name": name, "mimetype": mimetype}
        m = archive_media
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(m).where(m.c.mxc == url))).first()
        if row is None or row.status != "stored":
            self.counts.attachments_missing += 1
            result["status"] = (
                "not-archived" if row is None else {"failed": "unavailable"}.get(row.status, row.status)
            )
            return result
        data = read_media(self.media_dir, row.path, row.key_id, url, self.keyring)
        digest = hashlib.sha256(data).hexdigest()
        rel = Path("attachments") / f"{seq}-{safe_filename(name)}"
        target = self.out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        self.counts.attachments += 1
        result.update(
            status="exported" if digest == row.sha256 else "sha256-mismatch",
            path=str(rel),
            sha256=digest,
            archived_sha256=row.sha256,
            size=len(data),
        )
        return result
