"""Reading `case import` CSV files: case id, received, optional assignee, summary, priority.

- the delimiter is detected (the most consistent split among `,` `;` tab and `|`), so
  spreadsheets of European locales (`;`) work as well as `,`; a UTF-8 byte
  order mark (Excel) is skipped;
- a header row is optional. A first row naming the columns in English or
  German (`case id`, `Fall-Nr.`, `received`, `Eingang`, `assignee`,
  `Bearbeiter`, `summary`, `Zusammenfassung`, `priority`, `Priorität` and
  their variants, see `NAMES`), in any order, is recognised and used;
  `--columns` maps other names (`case=Ticket,received=Opened`) or positions
  (`case=1,received=3`);
- without a header the columns are case id, received[, assignee[, summary[,
  priority]]]; with or without a header, only the case id and the received
  time are required;
- a priority must be one of `priorities:` in sopgen.yaml (any case); an empty
  cell means `normal`. A bad one is reported at its line and column;
- a `history` column (by name only: `history`, `backlog`, `Altbestand`) marks a
  row's case as history with yes/true/1/x (no/false/0/empty: not): no reminders
  for its steps already overdue when it was imported (as `--history` for all);
- the file is read row by row (an import of any size holds one batch of rows
  in memory), and every bad row becomes a problem `FILE.csv:LINE:1: error: …`,
  with LINE the line the row starts on.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar
from zoneinfo import ZoneInfo

from sopgen.cases.errors import CaseError
from sopgen.cases.model import CASE_ID_HINT, ImportRow, check_case_id, clean_text
from sopgen.cases.timestamps import parse_timestamp
from sopgen.model import DEFAULT_PRIORITIES, priority_named
from sopgen.problems import InputError, Problem, error

MAX_BYTES = 200 * 1024 * 1024
"""A CSV of a few million cases; anything larger is refused unread."""

COLUMNS = ("case", "received", "assignee", "summary", "priority", "history")
POSITIONAL = COLUMNS[:5]
"""The columns of a file without a header, in this order (history only by name)."""
REQUIRED = ("case", "received")
DELIMITERS = ",;\t|"
SAMPLE_CHARS = 64 * 1024
"""How much of the file the delimiter and header detection look at."""


def _names(names: str) -> frozenset[str]:
    return frozenset(_normal(n) for n in names.split("|"))


def _normal(name: str) -> str:
    """`Fall-Nr.` → `fallnr`: case, spaces and punctuation do not matter in a header."""
    return re.sub(r"[\W_]+", "", name.casefold())


NAMES: Mapping[str, frozenset[str]] = {
    "case": _names(
        "case|case id|case no|case nr|case number|case #|id|ticket|ticket id|ticket no"
        "|ticket number|complaint|complaint id|complaint no|complaint number|reference"
        "|ref|Fall|Fall-Nr.|Fallnr|Fallnummer|Fall-ID|Vorgang|Vorgangs-Nr."
        "|Vorgangsnummer|Vorgang-Nr.|Ticket-Nr.|Ticketnummer|Reklamation"
        "|Reklamations-Nr.|Reklamationsnummer|Beschwerde|Beschwerde-Nr."
        "|Beschwerdenummer|Aktenzeichen"
    ),
    "received": _names(
        "received|received at|received on|received date|date|date time|opened|opened at"
        "|opened on|created|created at|created on|arrived|timestamp|Eingang|Eingang am"
        "|Eingangsdatum|Eingangszeit|Eingegangen|Eingegangen am|Datum|Erstellt"
        "|Erstellt am|Zeitpunkt|Eröffnet"
    ),
    "assignee": _names(
        "assignee|assigned to|assigned|owner|agent|rep|handler|handled by|Bearbeiter"
        "|Bearbeiterin|Bearbeiter/in|Bearbeiter:in|Sachbearbeiter|Sachbearbeiter/in"
        "|Zuständig|Zustaendig|Verantwortlich|Zugewiesen|Zugewiesen an"
    ),
    "summary": _names(
        "summary|description|subject|title|text|note|notes|Zusammenfassung|Beschreibung"
        "|Betreff|Kurzbeschreibung|Anliegen|Titel|Bemerkung|Notiz"
    ),
    "priority": _names(
        "priority|prio|urgency|severity|Priorität|Prioritaet|Dringlichkeit|Wichtigkeit"
    ),
    "history": _names("history|backlog|as history|Altbestand|Historie|Rückstand"),
}
_COLUMN_OF = {name: column for column, names in NAMES.items() for name in names}
COLUMNS_HINT = (
    "name the columns in a header row (case,received,assignee,summary,priority or "
    "Fall-Nr.;Eingang;Bearbeiter;Zusammenfassung;Priorität), or map them with "
    "--columns case=NAME,received=NAME[,assignee=NAME][,summary=NAME][,priority=NAME]"
)


# --------------------------------------------------------------------------- --columns


def parse_columns_option(text: str) -> dict[str, str]:
    """`--columns case=Ticket,received=3` → {"case": "Ticket", "received": "3"}.

    A value is a header name or a 1-based column number. Raises ValueError
    with a message for the user.
    """
    mapping: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not value:
            raise ValueError(f"'{item.strip()}' is not COLUMN=NAME")
        if key not in COLUMNS:
            raise ValueError(f"unknown column '{key}': the columns are {', '.join(COLUMNS)}")
        if key in mapping:
            raise ValueError(f"column '{key}' is mapped twice")
        mapping[key] = value
    return mapping


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class CsvLayout:
    """How a file's rows are read: delimiter, which cell holds which column."""

    delimiter: str
    columns: Mapping[str, int]  # column name → 0-based cell index
    width: int  # a row may have at most this many non-empty cells
    header: bool


def _sniff_delimiter(sample: str) -> str:
    """The candidate delimiter that splits the sample's rows most consistently.

    Each of `,` `;` tab `|` reads the sample as CSV (quotes honoured); the one whose
    most common row width (at least two cells) is shared by the most rows wins, ties
    going to the wider split. `csv.Sniffer` is not used: a quoted word after a comma
    in a semicolon file (`Lieferung fehlt, "dringend"`) made it pick the comma.
    """
    if not sample.strip():
        return ","
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            widths = Counter(
                len(row) for row, _ in zip(reader, range(50), strict=False) if any(row)
            )
        except csv.Error:  # e.g. a NUL byte: the row reader reports it with its line
            continue
        if not widths:
            continue
        width, rows = widths.most_common(1)[0]
        if width >= 2 and (rows, width) > best_score:
            best, best_score = delimiter, (rows, width)
    return best


def _is_timestamp(cell: str, zone: ZoneInfo) -> bool:
    try:
        parse_timestamp(cell, zone)
    except CaseError:
        return False
    return True


def detect_layout(
    sample_rows: list[list[str]],
    delimiter: str,
    zone: ZoneInfo,
    mapping: Mapping[str, str] | None = None,
) -> tuple[CsvLayout, Problem | None]:
    """Header or not, and where each column is, from the first non-blank rows.

    Returns the layout and a problem (line 1) when the header cannot be used.
    """
    mapping = mapping or {}
    first = sample_rows[0] if sample_rows else []
    known = [_COLUMN_OF.get(_normal(cell)) for cell in first]
    header_names = {_normal(cell): index for index, cell in enumerate(first) if cell.strip()}
    data_like = any(_is_timestamp(cell, zone) for cell in first)
    mapped_by_name = any(not v.isdigit() and _normal(v) in header_names for v in mapping.values())
    later_data = len(sample_rows) > 1 and any(_is_timestamp(c, zone) for c in sample_rows[1])
    header = not data_like and (any(known) or mapped_by_name or later_data)
    columns: dict[str, int] = {}
    if header:
        for index, name in enumerate(known):
            if name is not None and name not in columns:
                columns[name] = index
    else:
        columns = {name: index for index, name in enumerate(POSITIONAL)}
    for name, value in mapping.items():
        if value.isdigit() and int(value) >= 1:
            columns[name] = int(value) - 1
        elif header and _normal(value) in header_names:
            columns[name] = header_names[_normal(value)]
        else:
            where = (
                f"the header names {', '.join(repr(c.strip()) for c in first if c.strip())}"
                if header
                else "the file has no header row, so name columns by number (case=1)"
            )
            layout = CsvLayout(delimiter, columns, len(first), header)
            return layout, error(
                "", 1, 1, "bad-header", f"--columns names '{value}' for {name}, but {where}"
            )
    claimed = {columns[name] for name in mapping if name in columns}
    for name in [n for n in columns if n not in mapping and columns[n] in claimed]:
        del columns[name]  # a mapped column wins over a guessed one at the same position
    width = len(first) if header else max(len(POSITIONAL), max(columns.values(), default=0) + 1)
    layout = CsvLayout(delimiter, columns, width, header)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        named = ", ".join(repr(c.strip()) for c in first if c.strip())
        what = " and no ".join(f"'{m}'" for m in missing)
        return layout, error(
            "",
            1,
            1,
            "bad-header",
            f"the header row ({named}) names no {what} column",
            COLUMNS_HINT,
        )
    return layout, None


# --------------------------------------------------------------------------- reading


@dataclass
class CsvRows:
    """A whole file's rows at once (tests and small files); `CsvReader` streams."""

    rows: list[ImportRow]
    problems: list[Problem]
    total: int  # data rows read, good and bad


class CsvReader:
    """The rows of one case CSV, read lazily: iterate for `ImportRow`s and `Problem`s.

    Every data row yields exactly one item; the iteration ends after a CSV
    syntax error (reported as a problem). Case ids repeated within the file
    are bad rows (the first one counts).
    """

    def __init__(
        self,
        opener: Callable[[], IO[str]],
        file: str,
        zone: ZoneInfo,
        mapping: Mapping[str, str] | None = None,
        priorities: Sequence[str] = DEFAULT_PRIORITIES,
    ):
        self.file = file
        self.zone = zone
        self.priorities = tuple(priorities)
        self._opener = opener
        with opener() as handle:
            sample = handle.read(SAMPLE_CHARS)
        if len(sample) == SAMPLE_CHARS and "\n" in sample:
            sample = sample[: sample.rindex("\n")]
        self.delimiter = _sniff_delimiter(sample)
        sample_rows = [
            cells
            for cells in _rows_of(io.StringIO(sample, newline=""), self.delimiter, 3)
            if any(c.strip() for c in cells)
        ]
        self.layout, problem = detect_layout(sample_rows, self.delimiter, zone, mapping)
        self.problem = (
            None
            if problem is None
            else error(file, problem.line, 1, problem.code, problem.message, problem.hint)
        )

    def __iter__(self) -> Iterator[ImportRow | Problem]:
        if self.problem is not None:
            yield self.problem
            return
        seen: dict[str, int] = {}
        with self._opener() as handle:
            reader = csv.reader(handle, delimiter=self.delimiter, strict=True)
            start = 1
            header = self.layout.header
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield error(
                        self.file,
                        reader.line_num,
                        1,
                        "bad-csv",
                        f"CSV syntax error: {exc}",
                        "check the quotes in this row",
                    )
                    return
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in cells):
                    continue  # blank line
                if header:
                    header = False
                    continue
                try:
                    row = _row(cells, self.layout, line, self.zone, self.priorities)
                except _CellError as exc:
                    yield error(self.file, line, exc.column, "bad-row", exc.message, exc.hint)
                    continue
                except CaseError as exc:
                    yield exc.problem(self.file, line)
                    continue
                key = row.case_id.lower()
                if key in seen:
                    yield error(
                        self.file,
                        line,
                        1,
                        "bad-row",
                        f"case id '{row.case_id}' appears twice in the file "
                        f"(first on line {seen[key]})",
                        "give each case its own id",
                    )
                    continue
                seen[key] = line
                yield row

    def count(self) -> int:
        """How many data rows the file holds (for progress), without checking them."""
        if self.problem is not None:
            return 0
        rows = 0
        with self._opener() as handle:
            try:
                for cells in csv.reader(handle, delimiter=self.delimiter):
                    rows += any(cell.strip() for cell in cells)
            except csv.Error:
                pass  # reported when the rows are read
        return max(rows - self.layout.header, 0)

    def collect(self) -> CsvRows:
        rows: list[ImportRow] = []
        problems: list[Problem] = []
        for item in self:
            if isinstance(item, Problem):
                problems.append(item)
            else:
                rows.append(item)
        total = len(rows) + sum(p.code == "bad-row" for p in problems)
        return CsvRows(rows, problems, total)


def _rows_of(handle: IO[str], delimiter: str, limit: int) -> list[list[str]]:
    rows: list[list[str]] = []
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append(cells)
                if len(rows) >= limit:
                    break
    except csv.Error:
        pass  # reported when the rows are read for real
    return rows


def open_csv(
    path: Path,
    file: str,
    zone: ZoneInfo,
    mapping: Mapping[str, str] | None = None,
    priorities: Sequence[str] = DEFAULT_PRIORITIES,
) -> CsvReader:
    """A reader over a case CSV on disk; file-level problems raise InputError.

    The whole file is checked to be UTF-8 first (in chunks), so a file that
    is not is refused before any of its rows is imported.
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(
                [
                    error(
                        file,
                        1,
                        1,
                        "too-large",
                        f"file is {size:,} bytes; the limit is {MAX_BYTES:,}",
                    )
                ]
            )
        if not path.is_file() and not path.is_dir():  # a pipe (<(crm-export)): read it once
            with path.open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                raise InputError([error(file, 1, 1, "too-large", f"more than {MAX_BYTES:,} bytes")])
            _check_utf8_bytes(raw, 0, file)
            text = raw.decode("utf-8-sig")
            return CsvReader(lambda: io.StringIO(text, newline=""), file, zone, mapping, priorities)
        _check_utf8(path, file)
    except FileNotFoundError:
        raise InputError([error(file, 1, 1, "unreadable", "no such file")]) from None
    except IsADirectoryError:
        raise InputError([error(file, 1, 1, "unreadable", "is a directory, not a file")]) from None
    except OSError as exc:
        raise InputError(
            [error(file, 1, 1, "unreadable", f"cannot read the file ({exc.strerror or exc})")]
        ) from None
    return CsvReader(
        lambda: path.open(encoding="utf-8-sig", newline=""), file, zone, mapping, priorities
    )


def _check_utf8(path: Path, file: str) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            _check_utf8_bytes(chunk, lines, file, decoder)
            lines += chunk.count(b"\n")


def _check_utf8_bytes(
    chunk: bytes, lines: int, file: str, decoder: codecs.IncrementalDecoder | None = None
) -> None:
    """Refuse a file that is not UTF-8, naming the line (`lines` lie before `chunk`)."""
    try:
        (decoder or codecs.getincrementaldecoder("utf-8")()).decode(chunk, final=decoder is None)
    except UnicodeDecodeError as exc:
        line = lines + chunk[: exc.start].count(b"\n") + 1
        raise InputError(
            [
                error(
                    file,
                    line,
                    1,
                    "not-utf8",
                    "the file is not UTF-8 text",
                    "save the CSV as UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)')",
                )
            ]
        ) from None


def read_csv(
    path: Path,
    file: str,
    zone: ZoneInfo,
    mapping: Mapping[str, str] | None = None,
    priorities: Sequence[str] = DEFAULT_PRIORITIES,
) -> CsvRows:
    """Every row of a case CSV at once (never raises for bad content)."""
    try:
        return open_csv(path, file, zone, mapping, priorities).collect()
    except InputError as exc:
        return CsvRows([], exc.problems, 0)


def parse_csv(
    text: str,
    file: str,
    zone: ZoneInfo,
    mapping: Mapping[str, str] | None = None,
    priorities: Sequence[str] = DEFAULT_PRIORITIES,
) -> CsvRows:
    """Check every row of CSV `text` (see the module docstring)."""
    text = text.removeprefix("\ufeff")
    reader = CsvReader(lambda: io.StringIO(text, newline=""), file, zone, mapping, priorities)
    return reader.collect()


_T = TypeVar("_T")


class _CellError(CaseError):
    """A bad cell: a `CaseError` that knows its 1-based column."""

    def __init__(self, column: int, message: str, hint: str):
        super().__init__(message, hint)
        self.column = column


def _row(
    cells: list[str], layout: CsvLayout, line: int, zone: ZoneInfo, priorities: Sequence[str]
) -> ImportRow:
    def cell(name: str) -> str | None:
        index = layout.columns.get(name)
        if index is None or index >= len(cells):
            return None
        return cells[index].strip()

    needed = max(layout.columns[name] for name in REQUIRED) + 1
    extra = any(c.strip() for c in cells[layout.width :])
    if len(cells) < needed or extra:
        expected = (
            f"the header has {layout.width}"
            if layout.header
            else "expected 2 to 5: case id, received[, assignee[, summary[, priority]]]"
        )
        raise CaseError(
            f"the row has {len(cells)} column{'s' * (len(cells) != 1)}; {expected}",
            "write: case id, received[, assignee[, summary[, priority]]]"
            if not layout.header
            else "give each row the header's columns",
        )
    columns = {name: index + 1 for name, index in layout.columns.items()}

    def at_cell(name: str, read: Callable[[], _T]) -> _T:
        """`read()`, its CaseError pointed at the `name` cell's column."""
        try:
            return read()
        except _CellError:
            raise
        except CaseError as exc:
            raise _CellError(columns.get(name, 1), exc.message, exc.hint or "") from None

    case_id = cell("case") or ""
    why = check_case_id(case_id)
    if why:
        raise _CellError(columns.get("case", 1), why, CASE_ID_HINT)
    return ImportRow(
        line=line,
        case_id=case_id,
        received=at_cell(
            "received", lambda: parse_timestamp(cell("received") or "", zone, "received time")
        ),
        assignee=at_cell("assignee", lambda: clean_text(cell("assignee"), "assignee")),
        summary=at_cell("summary", lambda: clean_text(cell("summary"), "summary")),
        priority=_priority(cell("priority"), layout.columns.get("priority"), priorities),
        history=_history(cell("history"), layout.columns.get("history")),
        columns=columns,
    )


YES = frozenset({"yes", "y", "true", "1", "x", "ja", "j", "wahr", "history"})
NO = frozenset({"", "no", "n", "false", "0", "nein", "falsch"})


def _history(text: str | None, index: int | None) -> bool:
    """Whether the `history` cell marks the case as history (yes/no, true/false, 1/0, x
    or empty; English or German)."""
    if text is None or index is None:
        return False
    if text.casefold() in YES:
        return True
    if text.casefold() in NO:
        return False
    raise _CellError(
        index + 1,
        f"'{text}' in the history column is neither yes nor no",
        "write yes (history: no reminders for steps already overdue) or no, or leave it empty",
    )


def _priority(text: str | None, index: int | None, priorities: Sequence[str]) -> str | None:
    """The priority a cell names (matched ignoring case); None for an empty cell."""
    if not text or index is None:
        return None
    if (name := priority_named(text, priorities)) is not None:
        return name
    raise _CellError(
        index + 1,
        f"unknown priority '{text}'",
        f"write one of {', '.join(priorities)}, or leave the cell empty for normal",
    )
