"""`!verify`: the same check as `carebridge archive verify`, answered in chat.

Walks the hash chain (bridge.archive.verify, no decryption key needed, no content read) and
its MACs under the chain key, compares it with every chain head the bot published in the
administrators' room (read back from Synapse) and logged in the heads log (one per
committed transaction), so a deleted tail or a recomputed chain is caught, and checks the
archived media files.
45 CFR 164.312(c)(1) integrity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import ChainKey
from bridge.archive.heads import PublishedHead, published_heads
from bridge.archive.synapse_check import SynapseComparison, compare_with_synapse
from bridge.archive.verify import VerifyReport, verify_archive
from bridge.core.synapse_http import SynapseHTTP

log = logging.getLogger(__name__)


class ArchiveCheck:
    """Runs the archive verification for the bot."""

    def __init__(
        self,
        engine: AsyncEngine,
        synapse_url: str,
        as_token: str,
        bot_user_id: str,
        media_dir: Path | None,
        heads_log: Path | None = None,
        chain_key: Callable[[], ChainKey | None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.synapse_url = synapse_url
        self.as_token = as_token
        self.bot_user_id = bot_user_id
        self.media_dir = media_dir
        self.heads_log = heads_log
        self.chain_key = chain_key

    async def _heads(self, admin_room_id: str) -> list[PublishedHead] | None:
        try:
            async with SynapseHTTP(self.synapse_url, self.as_token, timeout=30) as http:
                return [h async for h in published_heads(http, admin_room_id, self.bot_user_id)]
        except Exception as exc:  # noqa: BLE001 - said in the answer: the tail is unchecked
            log.warning("could not read published chain heads (%s)", type(exc).__name__)
            return None

    async def run(self, admin_room_id: str | None) -> VerifyReport:
        """Chain, published heads (when readable) and media."""
        heads = await self._heads(admin_room_id) if admin_room_id else None
        return await verify_archive(
            self.engine, heads, self.media_dir, chain_key=self.chain_key(), heads_log=self.heads_log
        )

    async def against_synapse(self) -> SynapseComparison | None:
        """Archived events and media Synapse no longer holds (None if Synapse could not
        be asked)."""
        try:
            async with SynapseHTTP(self.synapse_url, self.as_token, timeout=60) as http:
                return await compare_with_synapse(self.engine, http)
        except Exception as exc:  # noqa: BLE001 - said in the answer
            log.warning("could not compare the archive with Synapse (%s)", type(exc).__name__)
            return None


def describe(report: VerifyReport, synapse: SynapseComparison | None = None, compared: bool = False) -> str:
    """The chat answer for a verification report (an alert first when Synapse lost data)."""
    text = _describe_chain(report)
    if synapse is not None and not synapse.ok:
        return synapse.alert_text() + "\n\n" + text
    if synapse is not None:
        text += (
            f" Synapse still holds every archived event ({synapse.events_checked} in "
            f"{synapse.rooms_checked} room(s)) and media file ({synapse.media_checked})."
        )
    elif compared:
        text += " Synapse could not be compared with the archive (purged history not ruled out)."
    return text


def _describe_chain(report: VerifyReport) -> str:
    if not report.ok:
        lines = ["ARCHIVE VERIFICATION FAILED:"]
        for p in report.problems:
            where = f"row {p.seq}" + (f", event {p.event_id}" if p.event_id else "")
            lines.append(f"- {p.kind.upper()} at {where}: {p.detail}")
        lines.append(
            f"{report.rows} row(s) verified before the first problem. Run `carebridge archive verify`."
        )
        return "\n".join(lines)
    text = (
        f"Archive intact: {report.rows} row(s) in an unbroken chain, head row {report.head.seq} "
        f"(sha256 {report.head.row_hash.hex()[:16]}...); {report.media_checked} media file(s) checked."
    )
    if report.keyed_from is not None:
        text += f" Keyed from row {report.keyed_from}: {report.macs_checked} MAC(s) checked."
    if report.tail_checked:
        text += f" Matches all {report.heads_checked} published chain head(s) and heads-log line(s)."
    for note in report.unchecked:
        text += f" Not checked: {note}."
    return text
