"""The rows `sopgen report` (and the desk's dashboard) summarise, read straight from the
case database: one per step done in the period, with its deadline and business time to
complete (`sopgen.cases.report` turns them into the figures).

Plain rows, no ORM: five text statements whose period parameters are typed
(`UTCDateTime`, so SQLite compares its stored text with text of the same form) and
whose results are not, so each time comes as the driver gives it and is read by one C
call (`Store.time_reader`). Only the steps done in the period are worked out, and the
open steps they are anchored on (`plan.finished`, which keeps the rules of `plan`).
Neither this module nor `sopgen.cases.database` imports `sqlalchemy.orm` or the
models: loading those, then 5,000 cases as objects and planning every step of each,
took most of the report's time (issue 11).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from sopgen.businesstime import BusinessCalendar
from sopgen.cases.database import Store, UTCDateTime
from sopgen.cases.errors import CaseError
from sopgen.cases.plan import finished
from sopgen.cases.report import Completed, Report, summarize
from sopgen.cases.snapshots import library_sop, parse_snapshot
from sopgen.library import Library
from sopgen.model import Config, Sop


def report(
    store: Store, library: Library, config: Config, since: datetime, until: datetime
) -> Report:
    """The report of the steps done in [`since`, `until`) (aware)."""
    calendar = BusinessCalendar.from_config(config)
    rows = report_rows(store, library, calendar, since, until)
    return summarize(rows, since, until, config.priorities)


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
    span = {"since": since, "until": until}
    done: dict[str, dict[str, datetime]] = {}
    holds: dict[str, list[tuple[datetime, datetime]]] = {}
    changes: dict[str, list[tuple[datetime, str]]] = {}
    rows: list[Completed] = []
    read = store.time_reader()
    start, end = since.astimezone(UTC), until.astimezone(UTC)
    with store.plain_read() as conn:
        for case_id, step, done_at in conn.execute(_DONE, span).all():
            done.setdefault(case_id, {})[step] = read(done_at)
        for case_id, held_at, resumed_at in conn.execute(_HOLDS, span).all():
            held = read(held_at)  # a hold still running ends with the period
            resumed = max(held, end) if resumed_at is None else read(resumed_at)
            holds.setdefault(case_id, []).append((held, resumed))
        for case_id, changed, priority in conn.execute(_PRIORITIES, span).all():
            changes.setdefault(case_id, []).append((read(changed), priority))
        records = conn.execute(_CASES, span).all()
        sops = _sops(conn, library, {r[1] for r in records}, {} if snapshots is None else snapshots)
    for case_id, snapshot, received_at, assignee in records:
        sop = sops[snapshot]
        received = read(received_at)
        case_changes = changes.get(case_id)
        # the priority history as the plan takes it: `normal` from the received time on
        history = [(received, "normal"), *case_changes] if case_changes else []
        try:
            steps = finished(
                sop,
                calendar,
                received,
                done.get(case_id, {}),
                start,
                end,
                holds.get(case_id, ()),
                history,
            )
        except ValueError as exc:  # pragma: no cover - a valid SOP plans
            raise CaseError(f"cannot plan case {case_id}: {exc}") from None
        sop_id = sop.id
        rows += [
            Completed(case_id, sop_id, s.key, assignee, s.priority, s.due, s.done, s.business)
            for s in steps
        ]
    return rows


def _sops(
    conn: Connection, library: Library, digests: Iterable[str], kept: dict[str, Sop]
) -> dict[str, Sop]:
    """The SOPs of the snapshots `digests`, as the case service finds them."""
    sops = {}
    for digest in digests:
        sop = kept.get(digest) or library_sop(library, digest)
        if sop is None:
            row = conn.execute(_SNAPSHOT, {"digest": digest}).first()
            if row is None:
                raise CaseError(f"the case store lacks the SOP snapshot {digest[:12]}")
            sop = parse_snapshot(row[0], row[1], row[2], digest)
        sops[digest] = kept[digest] = sop
    return sops


# the cases with a step done in the period
_CASES_IN = "IN (SELECT case_id FROM completions WHERE done_at >= :since AND done_at < :until)"
_PERIOD = (bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime()))
_DONE = text(
    f"SELECT case_id, step, done_at FROM completions WHERE case_id {_CASES_IN}"
).bindparams(*_PERIOD)
_HOLDS = text(
    f"SELECT case_id, held_at, resumed_at FROM case_holds WHERE case_id {_CASES_IN}"
).bindparams(*_PERIOD)
_PRIORITIES = text(
    f"SELECT case_id, since, priority FROM case_priorities WHERE case_id {_CASES_IN}"
    " ORDER BY case_id, id"
).bindparams(*_PERIOD)
_CASES = text(
    f"SELECT id, snapshot, received, assignee FROM cases WHERE id {_CASES_IN}"
).bindparams(*_PERIOD)
_SNAPSHOT = text("SELECT text, file, version FROM sop_snapshots WHERE digest = :digest")
