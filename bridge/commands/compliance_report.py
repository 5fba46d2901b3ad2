"""`!compliance`: the HIPAA safeguards report in chat (summary) and as a printable HTML file.

The same report as `carebridge compliance report --format html`; administrators only, like
every command (the consumer refuses anyone else). 45 CFR 164.308(a)(1)(ii)(D) activity
review; 164.316(b)(1) documentation.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.commands.framework import (
    Attachment,
    Command,
    CommandError,
    Invocation,
    Reply,
)
from bridge.compliance.safeguards.model import Result
from bridge.compliance.safeguards.render import to_html, to_plain_summary
from bridge.compliance.safeguards.report import Report
from bridge.compliance.safeguards.service import build_report
from config.settings import Settings


def summary_html(report: Report) -> str:
    """The chat message's HTML: the summary and every row that does not pass."""
    items = "".join(
        f"<li><strong>{row.result.value.upper()}</strong> {html.escape(row.safeguard.citation)} "
        f"{html.escape(row.safeguard.title)}: {html.escape(row.reason)}</li>"
        for row in report.rows
        if row.result is not Result.PASS
    )
    head = f"<p><strong>{html.escape(report.organization)}</strong>: {html.escape(report.summary())}</p>"
    return head + (f"<ul>{items}</ul>" if items else "") + "<p>The full report is attached (HTML).</p>"


def compliance_report_commands(settings: Settings, engine: AsyncEngine, as_token: str) -> list[Command]:
    """`!compliance`: every safeguard checked live, with the printable report."""

    async def compliance(inv: Invocation) -> list[Reply]:
        if inv.args:
            raise CommandError("!compliance takes no arguments.")
        report = await build_report(settings, engine, as_token)
        day = datetime.fromtimestamp(report.generated_ms / 1000, UTC).date().isoformat()
        page = Attachment(f"carebridge-compliance-{day}.html", "text/html", to_html(report).encode())
        return [Reply(to_plain_summary(report), summary_html(report), page)]

    return [
        Command(
            "compliance",
            "!compliance",
            "HIPAA safeguards, each checked live now (printable HTML report attached)",
            compliance,
        )
    ]
