"""to_csv writes a table whose cells need no quoting by joining them with commas: the
bytes must be exactly what the csv module writes (RFC 4180, CRLF), with formula-like
cells neutralised, for any table: plain ones, ones where a single cell needs quoting,
formula-like cells, user ids, empty cells."""

from __future__ import annotations

import csv
import io
import random

from bridge.core.report_table import ReportTable, csv_cell, to_csv

ALPHABET = ["a", "Z", "0", " ", "-", "=", "+", "@", "\t", "é", ":", ".", "'", ",", '"', "\r", "\n", "\x00"]


def _by_the_csv_module(table: ReportTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([csv_cell(v) for v in row] for row in table.rows)
    return buffer.getvalue()


def _cell(rng: random.Random, special: str) -> str:
    if rng.random() < 0.2:
        return rng.choice(["", "@anna:example.org", "@bad user:x", "2025-03-03 07:00", "on_time"])
    if special and rng.random() < 0.05:
        return rng.choice(["x", "", "=1"]) + special + rng.choice(["", "y"])
    return "".join(rng.choice(ALPHABET[:13]) for _ in range(rng.randint(0, 6)))


def test_csv_is_the_csv_modules_for_any_table() -> None:
    rng = random.Random(24)
    joined = quoted = 0
    for _ in range(400):
        width = rng.randint(1, 6)
        special = rng.choice(["", "", *ALPHABET[13:]])  # some tables have one kind of cell to quote
        rows = tuple(tuple(_cell(rng, special) for _ in range(width)) for _ in range(rng.randint(0, 30)))
        table = ReportTable("t", tuple(f"c{i}" for i in range(width)), rows)
        assert to_csv(table) == _by_the_csv_module(table), rows
        needs_quotes = any(c in v for row in rows for v in row for c in ',"\r\n\x00')
        joined += not needs_quotes
        quoted += needs_quotes
    assert joined > 100 and quoted > 50  # both ways of writing were exercised


def test_a_lone_empty_cell_is_quoted_as_the_csv_module_does() -> None:
    table = ReportTable("t", ("only",), (("",), ("x",)))
    assert to_csv(table) == 'only\r\n""\r\nx\r\n' == _by_the_csv_module(table)
