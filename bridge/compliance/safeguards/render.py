"""The report for people and machines: a rich table, JSON (a stable, versioned schema:
docs/admin/compliance-report.md) and one self-contained printable HTML page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from rich.table import Table

from bridge.compliance.safeguards.model import Result, Row, stamp
from bridge.compliance.safeguards.report import Report
from bridge.core.clock import iso_seconds

SCHEMA = "carebridge-compliance-report"
# Bump on any change a consumer could notice (a key renamed, removed or retyped). New
# keys and new rows do not bump it; consumers must ignore keys they do not know.
SCHEMA_VERSION = 1
STYLE = {Result.PASS: "green", Result.WARN: "yellow", Result.FAIL: "bold red"}
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_BACKTICKS = re.compile(r"`([^`]+)`")


def _code(text: str) -> Markup:
    """Escape, then show `backticked` spans as <code>."""
    return Markup(_BACKTICKS.sub(r"<code>\1</code>", str(escape(text))))  # noqa: S704 - escaped first


_TEMPLATES.filters["code"] = _code


def _row_json(row: Row) -> dict[str, Any]:
    s = row.safeguard
    return {
        "id": s.id,
        "citation": s.citation,
        "title": s.title,
        "does": s.does,
        "check": s.check,
        "result": row.result.value,
        "reason": row.reason,
        "checked_at": iso_seconds(row.checked_ms),
        "last_true_at": iso_seconds(row.last_true_ms),
        "tests": list(s.tests),
    }


def to_json_document(report: Report) -> dict[str, Any]:
    """The report as the documented JSON object."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "organization": report.organization,
        "server_name": report.server_name,
        "generated_at": iso_seconds(report.generated_ms),
        "versions": {"carebridge": report.carebridge_version, "synapse": report.synapse_version},
        "summary": {
            "result": report.overall.value,
            "pass": report.count(Result.PASS),
            "warn": report.count(Result.WARN),
            "fail": report.count(Result.FAIL),
            "text": report.summary(),
        },
        "rows": [_row_json(r) for r in report.rows],
    }


def to_json(report: Report) -> str:
    """The JSON text (UTF-8, indented, keys in schema order)."""
    return json.dumps(to_json_document(report), indent=2, ensure_ascii=False) + "\n"


def to_table(report: Report) -> Table:
    """A rich table for the terminal."""
    table = Table(
        title=f"{report.organization}: HIPAA safeguards ({stamp(report.generated_ms)})",
        caption=report.summary(),
        show_lines=True,
    )
    for column in ("safeguard", "result", "reason", "last true", "test"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        s = row.safeguard
        table.add_row(
            f"{s.citation}\n{s.title}",
            f"[{STYLE[row.result]}]{row.result.value.upper()}[/]",
            row.reason,
            stamp(row.last_true_ms),
            "\n".join(s.tests),
        )
    return table


def to_plain_summary(report: Report) -> str:
    """The chat message: the summary and every row that does not pass."""
    lines = [
        f"Compliance report for {report.organization} ({stamp(report.generated_ms)}): {report.summary()}"
    ]
    for row in report.rows:
        if row.result is not Result.PASS:
            lines.append(
                f"- {row.result.value.upper()} {row.safeguard.citation} {row.safeguard.title}: {row.reason}"
            )
    lines.append("The full report with every safeguard is attached (HTML, printable).")
    return "\n".join(lines)


def to_html(report: Report) -> str:
    """One self-contained page (inline CSS, no scripts, no external references)."""
    return _TEMPLATES.get_template("report.html.j2").render(
        r=report,
        generated=stamp(report.generated_ms),
        rows=[
            {"row": row, "s": row.safeguard, "last": stamp(row.last_true_ms), "result": row.result.value}
            for row in report.rows
        ],
        overall=report.overall.value,
        counts={r.value: report.count(r) for r in Result},
        schema_version=SCHEMA_VERSION,
    )
