"""A portable copy of a case store as JSON lines: `sopgen db export` / `db import`.

The first line says what the file is:

    {"sopgen_export": 1, "schema": "0005", "exported_at": "2026-11-23T09:00:00+00:00"}

and every further line is one row: `{"table": "cases", "row": {...}}`, tables
in an order that keeps foreign keys satisfied (SOP snapshots and users before
cases, cases before their completions, holds, notes and calendar state), times
as ISO 8601 in UTC. Reminders travel too, so a reminder sent before the move
is not sent again after it. Signed-in sessions and failed sign-ins do not: a
moved team signs in again.

An import goes into an empty store of the same schema revision, in one
transaction: all of the file or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Table, delete, func, select, text

from sopgen.cases.errors import CaseError
from sopgen.cases.store.tables import SCHEMA_HEAD, Base, Meta, Store, UTCDateTime

FORMAT = 1
SKIPPED = {"desk_sessions", "sign_in_failures", "alembic_version"}
BATCH = 1000


def tables() -> list[Table]:
    """The tables a copy holds, parents before children."""
    return [t for t in Base.metadata.sorted_tables if t.name not in SKIPPED]


def _times(table: Table) -> set[str]:
    return {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}


def export_lines(store: Store, now: datetime) -> Iterator[str]:
    """The store as JSON lines (header first)."""
    yield json.dumps(
        {"sopgen_export": FORMAT, "schema": SCHEMA_HEAD, "exported_at": now.isoformat()}
    )
    with store.read() as session:
        for table in tables():
            times = _times(table)
            keys = list(table.primary_key.columns)
            rows = session.execute(select(table).order_by(*keys)).mappings()
            for row in rows:
                values = {
                    name: (value.isoformat() if name in times and value is not None else value)
                    for name, value in row.items()
                }
                yield json.dumps({"table": table.name, "row": values}, ensure_ascii=False)


def import_lines(store: Store, lines: Iterable[str], source: str) -> dict[str, int]:
    """Load an export into an empty store; {table: rows}. Nothing is written on error."""
    by_name = {t.name: t for t in tables()}
    counts: dict[str, int] = {}
    numbered = enumerate(lines, start=1)
    header = _header(next(numbered, (1, "")), source)
    if header.get("schema") != SCHEMA_HEAD:
        raise CaseError(
            f"{source}:1: the export has schema revision {header.get('schema')}, "
            f"this sopgen's store has {SCHEMA_HEAD}",
            "import with the same sopgen version that exported it (then run sopgen db upgrade)",
        )
    with store.write() as session:
        for table_name in ("cases", "users", "sop_snapshots"):
            table = by_name[table_name]
            if session.execute(select(func.count()).select_from(table)).scalar_one():
                raise CaseError(
                    f"the case store {store.display} already holds {table_name}",
                    "import into a new, empty database (sopgen db upgrade makes its tables)",
                )
        pending: dict[str, list[dict[str, Any]]] = {}
        order = list(by_name)
        for line_no, line in numbered:
            if not line.strip():
                continue
            table, row = _row(line, line_no, source, by_name)
            if table.name == Meta.__tablename__:
                session.execute(delete(Meta).where(Meta.key == row["key"]))
            pending.setdefault(table.name, []).append(row)
            counts[table.name] = counts.get(table.name, 0) + 1
            if len(pending[table.name]) >= BATCH:
                _flush(session, by_name, order, pending, upto=table.name)
        _flush(session, by_name, order, pending)
        if session.get_bind().dialect.name == "postgresql":
            for table in by_name.values():
                serial = [c for c in table.primary_key.columns if c.autoincrement is True]
                for column in serial:
                    session.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                            f"'{column.name}'), coalesce(max({column.name}), 0) + 1, false) "
                            f"FROM {table.name}"
                        )
                    )
    return counts


def _flush(
    session: Any,
    by_name: dict[str, Table],
    order: list[str],
    pending: dict[str, list[dict[str, Any]]],
    upto: str | None = None,
) -> None:
    """Insert the rows held back, parents first (up to and including `upto`)."""
    for name in order:
        rows = pending.get(name)
        if rows:
            session.execute(by_name[name].insert(), rows)
            pending[name] = []
        if name == upto:
            return


def _header(first: tuple[int, str], source: str) -> dict[str, Any]:
    _, line = first
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("sopgen_export") != FORMAT:
        raise CaseError(
            f"{source}:1: not a sopgen export (the first line must be its header)",
            "make the file with: sopgen db export FILE",
        )
    return header


def _row(
    line: str, line_no: int, source: str, by_name: dict[str, Table]
) -> tuple[Table, dict[str, Any]]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CaseError(
            f"{source}:{line_no}:{exc.colno}: not JSON: {exc.msg}",
            "the file must be unchanged output of sopgen db export",
        ) from None
    table = by_name.get(str(item.get("table"))) if isinstance(item, dict) else None
    values = item.get("row") if isinstance(item, dict) else None
    if table is None or not isinstance(values, dict):
        raise CaseError(
            f"{source}:{line_no}: not a row of a known table",
            'each line after the header is {"table": NAME, "row": {...}}',
        )
    columns = {c.name for c in table.columns}
    unknown = set(values) - columns
    if unknown:
        raise CaseError(
            f"{source}:{line_no}: {table.name} has no column {', '.join(sorted(unknown))}",
            "the file must come from the same sopgen version",
        )
    row = dict(values)
    for name in _times(table):
        if row.get(name) is not None:
            try:
                row[name] = datetime.fromisoformat(row[name])
            except (TypeError, ValueError):
                raise CaseError(
                    f"{source}:{line_no}: {table.name}.{name} is not an ISO 8601 time: "
                    f"{row[name]!r}",
                    "the file must be unchanged output of sopgen db export",
                ) from None
    return table, row


def write_export(store: Store, out: IO[str], now: datetime) -> int:
    count = 0
    for line in export_lines(store, now):
        out.write(line + "\n")
        count += 1
    return count - 1
