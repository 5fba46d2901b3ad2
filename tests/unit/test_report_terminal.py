"""The tables `carebridge report` and `carebridge archive verify` print in an 80-column
terminal (or piped to a file) cut no value: a user id, device, client or chain-head hash
that does not fit folds onto the next line."""

from __future__ import annotations

import pytest

from bridge.archive.heads import Head
from bridge.archive.verify import VerifyReport
from bridge.compliance.reports import LOGIN_COLUMNS
from bridge.core.report_table import ReportTable
from provisioning.cli.commands.archive_cmd import _print_report
from provisioning.cli.commands.report_cmd import _emit

ROW = (
    "2026-11-27 11:06",
    "@jdoe:carebridge.local",
    "Jane Doe",
    "ok",
    "PDKBWQZTRE",
    "2026-11-27 19:02",
    "7h 56m",
    "logout",
    "127.0.0.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome",
)


def _in_order(value: str, text: str) -> bool:
    rest = iter(text)
    return all(char in rest for char in value if not char.isspace())


def test_login_report_table_keeps_every_value_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every cell of the logins table is printed in full (folded, never cut with an ellipsis)."""
    monkeypatch.setenv("COLUMNS", "80")
    _emit(ReportTable("Logins on 2026-11-27", LOGIN_COLUMNS, (ROW,), "Times in America/Chicago."), "table")
    out = capsys.readouterr().out
    assert "…" not in out, out
    for column, value in zip(LOGIN_COLUMNS, ROW, strict=True):
        assert _in_order(column, out), column
        assert _in_order(value, out), value


def test_verify_table_prints_the_whole_chain_head_hash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain head's sha256 (what an auditor compares with a published head) is printed
    in full."""
    monkeypatch.setenv("COLUMNS", "80")
    digest = bytes(range(32))
    _print_report(VerifyReport(rows=93, head=Head(93, digest)), None, offline=True)
    out = capsys.readouterr().out
    assert "…" not in out, out
    assert _in_order(digest.hex(), out), out
