"""One reading of a case's rows: the row of `cases` and what hangs off it (completions,
holds, priority changes, calendar events), read in one statement per table for many
cases at once, as plain `CaseRows`.

The calendar feeds (`service/feeds.py`, through SQLAlchemy Core) and the report
(`store/reportrows.py`, through the `sqlite3` module or Core) both read cases here, each
choosing which cases (`BY_IDS`, `DONE_IN_PERIOD`); the ORM's record of a case becomes
the same `CaseRows` (`service/base.py`), so a `Case` is made from them in one place. A
new table of a case's events is one statement in `statements` and one field of
`CaseRows` here.

Plain SQL, no ORM and no SQLAlchemy import: the results carry no column types, so each
time comes as the driver gives it and is read by the caller's `read` (one C call,
`Store.time_reader`); `:name` parameters work with `sqlite3` and with `text()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sopgen.cases.model import EventInfo

Fetch = Callable[[str, Mapping[str, Any]], Iterable[Any]]
"""Runs the statement of that name (a key of `statements(...)`) with its parameters; its
rows as tuples."""

BY_IDS = "IN :ids"
"""The cases named: `ids` an expanding parameter (SQLAlchemy's `bindparam(expanding=True)`)."""
DONE_IN_PERIOD = "IN (SELECT case_id FROM completions WHERE done_at >= :since AND done_at < :until)"
"""The cases with a step done in [`since`, `until`)."""

SNAPSHOT = "SELECT text, file, version FROM sop_snapshots WHERE digest = :digest"


def statements(cases: str, *, events: bool = True) -> dict[str, str]:
    """The statements reading the cases `cases` selects (`BY_IDS`, `DONE_IN_PERIOD`), by
    name; without `events` no calendar events (the report has no use for them)."""
    found = {
        "cases": "SELECT id, snapshot, received, assignee, summary, opened_at, updated_at,"
        f" legacy_uids, cancelled_at, cancel_reason FROM cases WHERE id {cases} ORDER BY id",
        "done": f"SELECT case_id, step, done_at FROM completions WHERE case_id {cases}",
        "holds": "SELECT case_id, held_at, resumed_at, reason FROM case_holds"
        f" WHERE case_id {cases} ORDER BY case_id, held_at",
        "priorities": "SELECT case_id, since, priority FROM case_priorities"
        f" WHERE case_id {cases} ORDER BY case_id, id",
    }
    if events:
        found["events"] = (
            "SELECT case_id, step, sequence, modified_at FROM calendar_events"
            f" WHERE case_id {cases}"
        )
    return found


@dataclass(slots=True)
class CaseRows:
    """A case as its rows say it (times aware, as `read` gives them)."""

    id: str
    snapshot: str  # the digest of the SOP text it was opened under
    received: datetime
    assignee: str | None
    summary: str | None
    opened_at: datetime
    updated_at: datetime
    legacy_uids: bool
    cancelled_at: datetime | None
    cancel_reason: str | None
    done: dict[str, datetime] = field(default_factory=dict)  # step → done at
    holds: list[tuple[datetime, datetime | None, str | None]] = field(default_factory=list)
    priorities: list[tuple[datetime, str]] = field(default_factory=list)  # changes, in order
    events: dict[str, EventInfo] = field(default_factory=dict)  # step → SEQUENCE, modified


def read_cases(
    fetch: Fetch, read: Callable[[Any], datetime], params: Mapping[str, Any], *, events: bool
) -> list[CaseRows]:
    """The cases the statements of `fetch` select, in id order, with their rows (calendar
    events only with `events`, when `fetch` has that statement)."""
    done: dict[str, dict[str, datetime]] = {}
    holds: dict[str, list[tuple[datetime, datetime | None, str | None]]] = {}
    changes: dict[str, list[tuple[datetime, str]]] = {}
    states: dict[str, dict[str, EventInfo]] = {}
    for case_id, step, done_at in fetch("done", params):
        done.setdefault(case_id, {})[step] = read(done_at)
    for case_id, held_at, resumed_at, reason in fetch("holds", params):
        resumed = None if resumed_at is None else read(resumed_at)
        holds.setdefault(case_id, []).append((read(held_at), resumed, reason))
    for case_id, since, priority in fetch("priorities", params):
        changes.setdefault(case_id, []).append((read(since), priority))
    if events:
        for case_id, step, sequence, modified_at in fetch("events", params):
            states.setdefault(case_id, {})[step] = EventInfo(sequence, read(modified_at))
    found = []
    for row in fetch("cases", params):
        case_id, snapshot, received, assignee, summary = row[:5]
        opened_at, updated_at, legacy_uids, cancelled_at, cancel_reason = row[5:]
        found.append(
            CaseRows(
                case_id,
                snapshot,
                read(received),
                assignee,
                summary,
                read(opened_at),
                read(updated_at),
                bool(legacy_uids),
                None if cancelled_at is None else read(cancelled_at),
                cancel_reason,
                done.get(case_id, {}),
                holds.get(case_id, []),
                changes.get(case_id, []),
                states.get(case_id, {}),
            )
        )
    return found
