"""Comparing the archive with what Synapse still holds: purged history, lost media.

Synapse has no module hook for its admin API's `purge_history`, media deletion or
quarantine, so nothing can refuse them. This check detects them afterwards: every room the
archive knows is paginated through Synapse's admin messages API, and every archived event
that Synapse no longer returns is reported (`purged`; a whole room gone is `room_missing`);
every archived media item Synapse no longer serves is reported (`media_lost`, or
`media_quarantined`). Only ids are read and reported, never content (no key needed).
45 CFR 164.312(c)(1) integrity, 164.308(a)(1)(ii)(D) information system activity review.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from mautrix.errors import MatrixRequestError, MNotFound
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.core.synapse_http import ADMIN, SynapseHTTP
from bridge.db.tables import archive_events, archive_media

PAGE = 1000
# Rows Carebridge writes itself (media copies, export records): never Synapse events.
CAREBRIDGE_SOURCES = ("media", "export")
MAX_LISTED = 20


@dataclass(frozen=True)
class SynapseFinding:
    """One thing the archive holds that Synapse no longer has."""

    kind: str  # purged | room_missing | media_lost | media_quarantined
    room_id: str
    item: str  # event id or mxc URI
    detail: str


@dataclass
class SynapseComparison:
    """What `carebridge archive verify --against-synapse` found."""

    rooms_checked: int = 0
    events_checked: int = 0
    media_checked: int = 0
    findings: list[SynapseFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Synapse still has everything the archive holds."""
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "ok": self.ok,
            "rooms_checked": self.rooms_checked,
            "events_checked": self.events_checked,
            "media_checked": self.media_checked,
            "findings": [asdict(f) for f in self.findings],
        }

    def alert_text(self) -> str:
        """The administrators' room alert (ids only)."""
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
        summary = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items()))
        lines = [
            "ALERT: Synapse no longer holds data the archive has "
            f"({summary}). History was purged or media deleted through Synapse's admin API; "
            "the archive still has every copy. Find out who used the admin API.",
        ]
        for finding in self.findings[:MAX_LISTED]:
            lines.append(f"- {finding.kind.upper()} {finding.item} in {finding.room_id}: {finding.detail}")
        if len(self.findings) > MAX_LISTED:
            more = len(self.findings) - MAX_LISTED
            lines.append(f"... and {more} more (carebridge archive verify --against-synapse)")
        return "\n".join(lines)


async def _archived_rooms(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(archive_events.c.room_id).distinct().order_by(archive_events.c.room_id)
        )
        return [str(r[0]) for r in rows]


async def _archived_ids(engine: AsyncEngine, room_id: str) -> list[str]:
    t = archive_events
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(t.c.event_id)
            .where(
                t.c.room_id == room_id,
                t.c.event_id.like("$%"),
                t.c.source.not_in(CAREBRIDGE_SOURCES),
                t.c.event_id.not_like("$carebridge-%"),
            )
            .order_by(t.c.seq)
        )
        return [str(r[0]) for r in rows]


async def _synapse_ids(http: SynapseHTTP, room_id: str) -> set[str] | None:
    """Every event id Synapse returns for the room's timeline; None if the room is gone."""
    ids: set[str] = set()
    token: str | None = None
    path = f"{ADMIN}/v1/rooms/{quote(room_id, safe='')}/messages"
    while True:
        params = {"dir": "b", "limit": str(PAGE)}
        if token:
            params["from"] = token
        try:
            page = await http.request("GET", path, params=params)
        except MNotFound:
            return None
        chunk = page.get("chunk") or []
        ids.update(str(e["event_id"]) for e in chunk if isinstance(e, dict) and "event_id" in e)
        token = page.get("end")
        if not chunk or not token:
            return ids


async def _media_problem(http: SynapseHTTP, mxc: str) -> tuple[str, str] | None:
    server, _, media_id = mxc.removeprefix("mxc://").partition("/")
    path = f"{ADMIN}/v1/media/{quote(server, safe='')}/{quote(media_id, safe='')}"
    try:
        info = await http.request("GET", path)
    except MNotFound:
        return "media_lost", "Synapse no longer has this file"
    except MatrixRequestError as exc:
        return "media_lost", f"Synapse answered {exc.errcode}"
    info = info.get("media_info", info)
    if isinstance(info, dict) and info.get("quarantined_by"):
        return "media_quarantined", "Synapse quarantined this file (staff can no longer open it)"
    return None


async def compare_with_synapse(engine: AsyncEngine, http: SynapseHTTP) -> SynapseComparison:
    """Report archived events and media that Synapse no longer holds."""
    result = SynapseComparison()
    for room_id in await _archived_rooms(engine):
        archived = await _archived_ids(engine, room_id)
        if not archived:
            continue
        present = await _synapse_ids(http, room_id)
        result.rooms_checked += 1
        result.events_checked += len(archived)
        if present is None:
            result.findings.append(
                SynapseFinding(
                    "room_missing",
                    room_id,
                    room_id,
                    f"Synapse no longer has this room ({len(archived)} archived events)",
                )
            )
            continue
        for event_id in archived:
            if event_id not in present:
                result.findings.append(
                    SynapseFinding(
                        "purged", room_id, event_id, "in the archive, no longer in Synapse's room history"
                    )
                )
    async with engine.connect() as conn:
        media = (
            await conn.execute(
                select(archive_media.c.mxc, archive_media.c.room_id).order_by(archive_media.c.seq)
            )
        ).all()
    for mxc, room_id in media:
        result.media_checked += 1
        problem = await _media_problem(http, str(mxc))
        if problem is not None:
            result.findings.append(SynapseFinding(problem[0], str(room_id), str(mxc), problem[1]))
    return result
