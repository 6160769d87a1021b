"""CSV that sopgen writes: the one way, so that no cell becomes a live formula.

A spreadsheet (Excel, LibreOffice, Google Sheets) reads a cell that starts
with `=`, `+`, `-` or `@` as a formula, and a tab or carriage return first
can smuggle one past a check; `=HYPERLINK("https://…","click")` as an
assignee's name would be a live link in the manager's copy of the report.
Following OWASP's advice on CSV injection, such a text cell is written with a
single quote in front (`'=HYPERLINK(…)`): spreadsheets show it as text, and a
program reading the CSV sees the quote and the text after it. Numbers are
written as they are (a negative number is a number, not a formula). Cells are
quoted as the `csv` module does (a cell holding a quote, comma or line break
is enclosed in double quotes, its quotes doubled).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a text cell must not start with (OWASP, CSV injection)."""


def safe_cell(value: Any) -> Any:
    """`value` as a CSV cell no spreadsheet runs: text starting like a formula gets a
    leading single quote; anything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """`rows` as CSV text (`\\n` line ends), every cell made safe by `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
