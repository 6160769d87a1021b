"""Reading `case import` CSV files: case id, received, assignee, optional summary.

- a header row is optional: a first row naming the columns (`case`, `case id`,
  `received`, `assignee`, `summary`, in any order) is recognised and used;
- the delimiter may be `,`, `;` (spreadsheets in many European locales) or a
  tab; a UTF-8 byte order mark (Excel) is skipped;
- every bad row becomes a problem `FILE.csv:LINE:1: error: …`, with LINE the
  line the row starts on; the good rows are returned for import.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sopgen.cases.errors import CaseError
from sopgen.cases.model import CASE_ID_HINT, ImportRow, check_case_id, clean_text
from sopgen.cases.timestamps import parse_timestamp
from sopgen.problems import Problem, error

MAX_BYTES = 20 * 1024 * 1024
"""A CSV of a few hundred thousand cases; anything larger is refused unread."""

COLUMNS = ("case", "received", "assignee", "summary")
_NAMES = {
    "case": "case",
    "case id": "case",
    "case_id": "case",
    "case-id": "case",
    "caseid": "case",
    "id": "case",
    "received": "received",
    "received at": "received",
    "received_at": "received",
    "receivedat": "received",
    "assignee": "assignee",
    "assigned to": "assignee",
    "summary": "summary",
    "description": "summary",
}


@dataclass
class CsvRows:
    rows: list[ImportRow]
    problems: list[Problem]
    total: int  # data rows read, good and bad


def read_csv(path: Path, file: str, zone: ZoneInfo) -> CsvRows:
    """Read and check every row of a case CSV (never raises for bad content)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return CsvRows(
                [],
                [
                    error(
                        file,
                        1,
                        1,
                        "too-large",
                        f"file is {size:,} bytes; the limit is {MAX_BYTES:,}",
                    )
                ],
                0,
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        return CsvRows([], [error(file, 1, 1, "no-file", "no such file")], 0)
    except IsADirectoryError:
        return CsvRows([], [error(file, 1, 1, "no-file", "is a directory, not a file")], 0)
    except OSError as exc:
        return CsvRows(
            [],
            [error(file, 1, 1, "unreadable", f"cannot read the file ({exc.strerror or exc})")],
            0,
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return CsvRows(
            [],
            [
                error(
                    file,
                    line,
                    1,
                    "not-utf8",
                    "the file is not UTF-8 text",
                    "save the CSV as UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)')",
                )
            ],
            0,
        )
    return parse_csv(text, file, zone)


def parse_csv(text: str, file: str, zone: ZoneInfo) -> CsvRows:
    """Check every row of CSV `text` (see the module docstring)."""
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    columns = {name: index for index, name in enumerate(COLUMNS)}
    width = len(COLUMNS)
    rows: list[ImportRow] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    total = 0
    start = 1
    first_row = True
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(
                error(
                    file,
                    reader.line_num,
                    1,
                    "bad-csv",
                    f"CSV syntax error: {exc}",
                    "check the quotes in this row",
                )
            )
            break
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if first_row:
            first_row = False
            header = _header(cells)
            if header is not None:
                if "case" not in header or "received" not in header:
                    problems.append(
                        error(
                            file,
                            line,
                            1,
                            "bad-header",
                            "the header row names no 'case' or no 'received' column",
                            "name the columns: case,received,assignee,summary",
                        )
                    )
                    return CsvRows([], problems, 0)
                columns, width = header, len(cells)
                continue
        total += 1
        try:
            row = _row(cells, columns, width, line, zone)
        except CaseError as exc:
            problems.append(exc.problem(file, line))
            continue
        key = row.case_id.lower()
        if key in seen:
            problems.append(
                error(
                    file,
                    line,
                    1,
                    "bad-row",
                    f"case id '{row.case_id}' appears twice in the file "
                    f"(first on line {seen[key]})",
                    "give each case its own id",
                )
            )
            continue
        seen[key] = line
        rows.append(row)
    return CsvRows(rows, problems, total)


def _header(cells: list[str]) -> dict[str, int] | None:
    """The column positions a header row names, or None when the row is data."""
    names = [_NAMES.get(" ".join(c.strip().lower().split())) for c in cells]
    if not any(names):
        return None
    return {name: index for index, name in enumerate(names) if name is not None}


def _row(
    cells: list[str], columns: dict[str, int], width: int, line: int, zone: ZoneInfo
) -> ImportRow:
    def cell(name: str) -> str | None:
        index = columns.get(name)
        if index is None or index >= len(cells):
            return None
        return cells[index].strip()

    if len(cells) < 2 or len(cells) > width:
        raise CaseError(
            f"the row has {len(cells)} column{'s' * (len(cells) != 1)}; expected 3 or 4",
            "write: case id, received, assignee[, summary]",
        )
    case_id = cell("case") or ""
    why = check_case_id(case_id)
    if why:
        raise CaseError(why, CASE_ID_HINT)
    received = parse_timestamp(cell("received") or "", zone, "received time")
    return ImportRow(
        line=line,
        case_id=case_id,
        received=received,
        assignee=clean_text(cell("assignee"), "assignee"),
        summary=clean_text(cell("summary"), "summary"),
    )
