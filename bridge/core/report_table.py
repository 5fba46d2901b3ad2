"""A report as a table of strings, and its renderings: CSV, JSON, plain text, HTML.

One CSV writer serves the CLI (`carebridge report ... --format csv`) and the bot
(`!report`), so the two files are byte-for-byte the same for the same question.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# What a spreadsheet reads as the start of a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_START)
# What makes the csv module quote a cell (delimiter, quote, line ends; NUL to be safe).
_QUOTED = re.compile('[,"\r\n\x00]')
# A Matrix user id is shown as is (its localpart cannot start a formula).
_USER_ID = re.compile(r"^@[a-z0-9._/][a-z0-9._=/-]*:[A-Za-z0-9.-]+(:[0-9]+)?$")


@dataclass(frozen=True)
class ReportTable:
    """A titled table; every cell is already a string."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row has {len(row)} cells, table has {len(self.columns)} columns")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: a value that would start a formula (CSV
    injection, e.g. a client sending `=HYPERLINK(...)` as its user agent or device id)
    gets a leading apostrophe."""
    if value.startswith(FORMULA_START) and not _USER_ID.match(value):
        return "'" + value
    return value


def to_csv(table: ReportTable) -> str:
    """RFC 4180 CSV (CRLF line ends), header row first, formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    # A month's report has over a million cells but few distinct values (days, statuses,
    # people, minutes): each distinct value is looked at once, to neutralise it, and to
    # see whether the csv module would quote it. When none would, a row is its cells
    # joined by commas (what the csv module writes then, byte for byte, at a tenth of
    # its cost; tests/unit/test_report_csv.py).
    first = _FORMULA_FIRST
    changed = {}
    plain = True
    for value in set(itertools.chain.from_iterable(table.rows)):
        if value[:1] in first:
            safe = csv_cell(value)
            if safe != value:
                changed[value] = safe
                value = safe
        if plain and _QUOTED.search(value):
            plain = False
    rows: Iterable[Sequence[str]] = table.rows
    if changed:
        clean = changed.keys().isdisjoint
        get = changed.get
        rows = (row if clean(row) else [get(v, v) for v in row] for row in rows)
    if plain and len(table.columns) > 1:  # (a lone empty cell would be written as "")
        buffer.write("".join([",".join(row) + "\r\n" for row in rows]))
    else:
        writer.writerows(rows)
    return buffer.getvalue()


def to_records(table: ReportTable) -> list[dict[str, str]]:
    """Rows as dicts keyed by column (for JSON output)."""
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def to_plain(table: ReportTable, empty: str = "(none)") -> str:
    """Fixed-width text: the fallback body for clients that do not render HTML."""
    lines = [table.title]
    if not table.rows:
        lines.append(empty)
    else:
        widths = [max(len(c), *(len(r[i]) for r in table.rows)) for i, c in enumerate(table.columns)]
        lines.append("  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True)).rstrip())
        for row in table.rows:
            lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    if table.note:
        lines.append(table.note)
    return "\n".join(lines)


def table_html(table: ReportTable, empty: str = "(none)") -> str:
    """An HTML table for Matrix `formatted_body` (every value escaped)."""
    esc = html.escape
    parts = [f"<p><strong>{esc(table.title)}</strong></p>"]
    if not table.rows:
        parts.append(f"<p><em>{esc(empty)}</em></p>")
    else:
        head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in table.rows)
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    if table.note:
        parts.append(f"<p><em>{esc(table.note)}</em></p>")
    return "".join(parts)
