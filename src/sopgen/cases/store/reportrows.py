"""The rows `sopgen report` (and the desk's dashboard) summarise, read straight from the
case database: one per step done in the period, with its deadline and business time to
complete (`sopgen.cases.performance` turns them into the figures).

Plain rows, no ORM: the statements of `caserows` (the one reading of a case's rows,
which the feeds read too), whose results carry no column types, so each time comes as
the driver gives it and is read by one C call (`Store.time_reader`).
Only the steps done in the period are worked out, and the open steps they are
anchored on (`plan.finished`, which keeps the rules of `plan`). Loading the ORM and
the models, then 5,000 cases as objects and planning every step of each, took most
of the report's time (issue 11).

`report` (the command) reads the default SQLite file with the `sqlite3` module
alone when it is there at this sopgen's schema revision: SQLAlchemy's import was a
fifth of a second of every report. Anything else — another database, a URL in
SOPGEN_DATABASE_URL or sopgen.yaml, no file yet, another revision, an error — goes
through `Store` (`report_rows`), which makes the file, refuses an old revision with
its hint, and reads PostgreSQL. Both run the same statements.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sopgen.businesstime import BusinessCalendar
from sopgen.cases.errors import CaseError
from sopgen.cases.performance import Completed, Report, summarize
from sopgen.cases.plan import finished
from sopgen.cases.snapshots import library_sop, parse_snapshot
from sopgen.cases.store.caserows import DONE_IN_PERIOD, SNAPSHOT, read_cases, statements
from sopgen.cases.store.revision import BUSY_TIMEOUT_S, DEFAULT_PATH, ENV_URL, SCHEMA_HEAD
from sopgen.library import Library
from sopgen.model import Config, Sop

if TYPE_CHECKING:
    from sopgen.cases.store.database import Store

Fetch = Callable[[str, Mapping[str, Any]], Iterable[Any]]
"""Runs one of the statements below with its parameters; its rows as tuples."""


def report(
    root: Path, library: Library, config: Config, since: datetime, until: datetime
) -> Report:
    """The report of the steps done in [`since`, `until`) (aware), from the project's
    case store (`root`'s default SQLite file, or the configured database)."""
    calendar = BusinessCalendar.from_config(config)
    found = _default_sqlite_rows(root, config, library, calendar, since, until)
    if found is None:
        from sopgen.cases.store.database import Store

        store = Store.for_project(root, config.database)
        try:
            rows = report_rows(store, library, calendar, since, until)
            names = assignee_names(store)
        finally:
            store.close()
    else:
        rows, names = found
    return replace(summarize(rows, since, until, config.priorities), names=names)


def assignee_names(store: Store) -> dict[str, str]:
    """Desk users' names by login (the report names assignees by name, as the dashboard)."""
    from sqlalchemy import text

    with store.plain_read() as conn:
        return {login: name for login, name in conn.execute(text(STATEMENTS["names"]))}


def report_rows(
    store: Store,
    library: Library,
    calendar: BusinessCalendar,
    since: datetime,
    until: datetime,
    snapshots: dict[str, Sop] | None = None,
) -> list[Completed]:
    """The steps done in [`since`, `until`), each with the deadline and business time
    to complete its case's plan gives it, in no particular order; a hold still running
    ends with the period. `snapshots` (digest → SOP) is a cache to use and fill."""
    from sqlalchemy import bindparam, text

    from sopgen.cases.store.database import UTCDateTime

    period = (bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime()))
    with store.plain_read() as conn:

        def fetch(name: str, params: Mapping[str, Any]) -> Iterable[Any]:
            statement = text(STATEMENTS[name])
            if "since" in params:  # typed: SQLite compares its stored text with text
                statement = statement.bindparams(*period)
            return conn.execute(statement, params).all()

        return _rows(fetch, store.time_reader(), library, calendar, since, until, snapshots)


def _default_sqlite_rows(
    root: Path,
    config: Config,
    library: Library,
    calendar: BusinessCalendar,
    since: datetime,
    until: datetime,
) -> tuple[list[Completed], dict[str, str]] | None:
    """The rows and the desk users' names by login from the default SQLite file through
    `sqlite3` alone, in one read transaction; None when the store is not that file, at
    this revision, readable."""
    if os.environ.get(ENV_URL) or config.database:
        return None
    path = (root / DEFAULT_PATH).resolve()
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        cursor = connection.cursor()
        cursor.execute("BEGIN")  # one snapshot for every statement, as Store.read
        try:
            revisions = cursor.execute("SELECT version_num FROM alembic_version").fetchall()
            if revisions != [(SCHEMA_HEAD,)]:
                return None  # Store says what to do about it

            def fetch(name: str, params: Mapping[str, Any]) -> Iterable[Any]:
                if "since" in params:  # as SQLAlchemy's SQLite dialect stores a UTC time
                    params = {key: _sqlite_text(at) for key, at in params.items()}
                return cursor.execute(STATEMENTS[name], params).fetchall()

            rows = _rows(fetch, _sqlite_time, library, calendar, since, until, None)
            return rows, dict(cursor.execute(STATEMENTS["names"]).fetchall())
        finally:
            connection.rollback()
    except sqlite3.Error:
        return None  # Store opens it again and says what is wrong
    finally:
        connection.close()


def _rows(
    fetch: Fetch,
    read: Callable[[Any], datetime],
    library: Library,
    calendar: BusinessCalendar,
    since: datetime,
    until: datetime,
    snapshots: dict[str, Sop] | None,
) -> list[Completed]:
    span = {"since": since, "until": until}
    start, end = since.astimezone(UTC), until.astimezone(UTC)
    cases = read_cases(fetch, read, span, events=False)
    kept = {} if snapshots is None else snapshots
    sops = {digest: _sop(fetch, library, digest, kept) for digest in {c.snapshot for c in cases}}
    rows: list[Completed] = []
    for case in cases:
        sop = sops[case.snapshot]
        received = case.received
        # the priority history as the plan takes it: `normal` from the received time on
        history = [(received, "normal"), *case.priorities] if case.priorities else []
        # a hold still running ends with the period
        holds = [
            (held, max(held, end) if resumed is None else resumed)
            for held, resumed, _ in case.holds
        ]
        try:
            steps = finished(sop, calendar, received, case.done, start, end, holds, history)
        except ValueError as exc:  # pragma: no cover - a valid SOP plans
            raise CaseError(f"cannot plan case {case.id}: {exc}") from None
        sop_id, assignee = sop.id, case.assignee
        rows += [
            Completed(case.id, sop_id, s.key, assignee, s.priority, s.due, s.done, s.business)
            for s in steps
        ]
    return rows


def _sop(fetch: Fetch, library: Library, digest: str, kept: dict[str, Sop]) -> Sop:
    """The SOP of snapshot `digest`, as the case service finds it."""
    sop = kept.get(digest) or library_sop(library, digest)
    if sop is None:
        found = list(fetch("snapshot", {"digest": digest}))
        if not found:
            raise CaseError(f"the case store lacks the SOP snapshot {digest[:12]}")
        text, file, version = found[0]
        sop = parse_snapshot(text, file, version, digest)
    kept[digest] = sop
    return sop


def _sqlite_text(moment: datetime) -> str:
    """`moment` as SQLAlchemy's SQLite dialect stores a `UTCDateTime`: UTC wall time, as
    text that sorts as the instants do (a test holds it equal to the store's own)."""
    return f"{moment.astimezone(UTC).replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}"


def _sqlite_time(value: str) -> datetime:
    """A stored UTC time read back (what `UTCDateTime` gives: aware, in UTC)."""
    return datetime.fromisoformat(value + "+00:00")


# the cases with a step done in the period, read as every case is (`caserows`); `:name`
# parameters work with sqlite3 itself
STATEMENTS = {
    **statements(DONE_IN_PERIOD, events=False),
    "snapshot": SNAPSHOT,
    "names": "SELECT login, name FROM users",
}
