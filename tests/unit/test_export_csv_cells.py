"""CSV exports are safe to open in a spreadsheet (no formula injection)."""

from __future__ import annotations

import pytest

from bridge.archive.export.job import _csv_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555", "'+1 555"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("BP 120/80", "BP 120/80"),
        (None, ""),
        (7, 7),
    ],
)
def test_formula_cells_are_neutralised(value: object, cell: object) -> None:
    assert _csv_cell(value) == cell
