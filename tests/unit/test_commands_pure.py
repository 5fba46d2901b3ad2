"""Pure: command parsing, argument helpers, table rendering (HTML escaped, plain, CSV)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from bridge.commands.framework import (
    Command,
    CommandError,
    CommandRegistry,
    parse_command,
    parse_date,
    parse_user,
    table_reply,
)
from bridge.commands.matrix import txn_id_for
from bridge.core.report_table import ReportTable, table_html, to_csv, to_plain, to_records

TABLE = ReportTable(
    "Logins", ("user", "client"), (("@a:x", "Element <script>"), ("@b:x", 'say "hi", ok')), "UTC"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!online", ("online", ())),
        ("  !logins 2024-05-15   @jdoe:x ", ("logins", ("2024-05-15", "@jdoe:x"))),
        ("!report\nweek", ("report", ("week",))),
        ("hello !online", None),
        ("!!!", None),
        ("!Online", None),
        (None, None),
        (42, None),
    ],
)
def test_parse_command(body: object, expected: object) -> None:
    assert parse_command(body) == expected


def test_dates_and_users() -> None:
    today = date(2024, 5, 15)
    assert parse_date("today", today) == today
    assert parse_date("Yesterday", today) == date(2024, 5, 14)
    assert parse_date("2024-02-29", today) == date(2024, 2, 29)
    with pytest.raises(CommandError, match="not a date"):
        parse_date("2023-02-29", today)
    assert parse_user("@jdoe:clinic", "clinic") == "@jdoe:clinic"
    assert parse_user("jdoe", "clinic") == "@jdoe:clinic"
    with pytest.raises(CommandError, match="not a user"):
        parse_user("Jane Doe", "clinic")


def test_registry_refuses_duplicates_and_keeps_order() -> None:
    async def handler(_inv: object) -> list:  # pragma: no cover - never called
        return []

    registry = CommandRegistry()
    registry.add(Command("a", "!a", "first", handler))
    registry.add(Command("b", "!b", "second", handler))
    with pytest.raises(ValueError, match="already registered"):
        registry.add(Command("a", "!a", "again", handler))
    assert [c.name for c in registry] == ["a", "b"]


def test_renderings() -> None:
    html = table_html(TABLE)
    assert "&lt;script&gt;" in html and "<script>" not in html
    plain = to_plain(TABLE)
    assert plain.splitlines()[1].split() == ["user", "client"]
    assert list(csv.reader(io.StringIO(to_csv(TABLE)))) == [
        ["user", "client"],
        *[list(r) for r in TABLE.rows],
    ]
    assert to_records(TABLE)[1] == {"user": "@b:x", "client": 'say "hi", ok'}
    assert "(none)" in to_plain(ReportTable("Empty", ("a",), ()))


def test_csv_neutralises_formulas_but_keeps_user_ids() -> None:
    table = ReportTable(
        "t",
        ("user", "device", "client"),
        (("@jdoe:clinic.example", "=1+1", "@SUM(A1)"), ("@=x:s", "-2", "Element")),
    )
    rows = list(csv.reader(io.StringIO(to_csv(table))))
    assert rows[1] == ["@jdoe:clinic.example", "'=1+1", "'@SUM(A1)"]
    assert rows[2] == ["'@=x:s", "'-2", "Element"]


def test_long_tables_are_cut_in_chat() -> None:
    big = ReportTable("Big", ("n",), tuple((str(i),) for i in range(120)))
    reply = table_reply(big, 50)
    assert reply.plain.count("\n") < 60 and "70 more row(s)" in reply.plain
    assert reply.html is not None and reply.html.count("<tr>") == 51


def test_reply_transaction_ids_are_stable() -> None:
    assert txn_id_for("$abc", 0) == txn_id_for("$abc", 0) != txn_id_for("$abc", 1)
