"""Case queries: the lists and counts of open, closed and cancelled cases, and the
report's rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased, selectinload

from sopgen.cases.model import (
    Case,
    CaseSummary,
)
from sopgen.cases.performance import Completed, Report, summarize
from sopgen.cases.plan import (
    DUE_SOON,
    ON_HOLD,
    OPEN,
    OVERDUE,
)
from sopgen.cases.service.base import (
    ServiceCore,
    _next_due,
)
from sopgen.cases.store.reportrows import report_rows
from sopgen.cases.store.tables import (
    CaseHold,
    CasePriority,
    CaseRecord,
    Completion,
    EventState,
)


class CaseQueries(ServiceCore):
    def list_open(
        self,
        now: datetime,
        *,
        overdue: bool = False,
        due_within: timedelta | None = None,
        assignee: str | None = None,
        sop: str | None = None,
        status: str | None = None,
        unassigned: bool = False,
        priority: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        login: str | None = None,
    ) -> list[CaseSummary]:
        """Open cases with their next deadline, soonest first (case id breaks ties), then
        the cases on hold (see `_open_records`).

        `overdue`: only cases with an overdue step; `due_within`: only cases
        whose next deadline is not yet past and at most that far away (overdue
        ones are not "due within"; with `overdue` too, both kinds);
        `assignee`: only that assignee's cases (case-insensitive); `unassigned`:
        only cases nobody is assigned to; `sop`: only cases under that SOP;
        `status`: only cases whose next step has that status; `priority`: only
        cases of that priority now (any case; unknown: CaseError); `login`: only
        the cases assigned to exactly that login (the desk's My work: read through
        `ix_cases_open_assignee`). `limit` and
        `offset` page through the result in the database (each case's next
        deadline is stored, and indexed), so only the cases of the page are
        planned.
        """
        self._fill_next_due()
        query = self._open_query(
            now, overdue, due_within, assignee, sop, status, unassigned, priority, login
        )
        exact = self._status_in_sql(status)  # else the page is cut once each status is known
        summaries: list[CaseSummary] = []
        due_soon = self.config.due_soon
        skip = 0 if exact else offset
        with self.store.read() as session:
            first, most = (offset, limit) if exact else (0, None)
            for record in _open_records(session, query, first, most):
                case = self._case(
                    record, self._snapshot(session, record.snapshot), events={}, now=now
                )
                following = case.next_step()
                if following is None:  # pragma: no cover - an open case has an open step
                    continue
                state = case.status(following, now, due_soon)
                if status is not None and state != status:
                    continue
                if skip:
                    skip -= 1
                    continue
                statuses = [case.status(p, now, due_soon) for p in case.open_steps()]
                summaries.append(
                    CaseSummary(case, following, state, len(statuses), statuses.count(OVERDUE))
                )
                if not exact and limit is not None and len(summaries) >= limit:
                    break
        return summaries

    def count_open(
        self,
        now: datetime,
        *,
        overdue: bool = False,
        due_within: timedelta | None = None,
        assignee: str | None = None,
        sop: str | None = None,
        status: str | None = None,
        unassigned: bool = False,
        priority: str | None = None,
        login: str | None = None,
    ) -> int:
        """How many cases `list_open` lists with these filters and no limit."""
        if not self._status_in_sql(status):
            found = self.list_open(
                now,
                overdue=overdue,
                due_within=due_within,
                assignee=assignee,
                sop=sop,
                status=status,
                unassigned=unassigned,
                priority=priority,
                login=login,
            )
            return len(found)
        self._fill_next_due()
        query = self._open_query(
            now, overdue, due_within, assignee, sop, status, unassigned, priority, login
        )
        with self.store.read() as session:
            return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    def overdue_steps(self, now: datetime) -> list[tuple[str | None, str, int]]:
        """(assignee, SOP id, number of overdue steps) over the open cases, counted in the
        database (the desk's dashboard): an open step is overdue when the deadline its
        calendar event records (kept current by every change, `_fingerprint`) has passed;
        a case on hold (no next deadline stored) has none."""
        self._fill_next_due()
        late = (
            select(CaseRecord.assignee, CaseRecord.sop_id, func.count())
            .select_from(CaseRecord)
            .join(EventState, EventState.case_id == CaseRecord.id)
            .outerjoin(
                Completion,
                and_(Completion.case_id == EventState.case_id, Completion.step == EventState.step),
            )
            .where(
                CaseRecord.closed_at.is_(None),
                CaseRecord.next_due < now,
                Completion.case_id.is_(None),
                EventState.fingerprint < now.astimezone(UTC).isoformat(),
            )
            .group_by(CaseRecord.assignee, CaseRecord.sop_id)
        )
        with self.store.read() as session:
            return [(assignee, sop, int(n)) for assignee, sop, n in session.execute(late)]

    def _status_in_sql(self, status: str | None) -> bool:
        """Whether the database alone can tell a case's status from its next deadline:
        always for overdue, for due-soon and open only with a fixed due-soon time
        (`calendar.due_soon`), not with a share of each step's window (`due_soon_at`)."""
        return status in (None, OVERDUE, ON_HOLD) or isinstance(self.config.due_soon, timedelta)

    def list_closed(
        self,
        *,
        assignee: str | None = None,
        sop: str | None = None,
        priority: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Case]:
        """Closed cases (every step done), most recently closed first."""
        query = self._closed_query(assignee, sop, priority)
        query = query.order_by(CaseRecord.closed_at.desc(), CaseRecord.id)
        query = query.offset(offset).limit(limit)
        query = query.options(
            selectinload(CaseRecord.completions),
            selectinload(CaseRecord.holds),
            selectinload(CaseRecord.priorities),
        )
        with self.store.read() as session:
            return [
                self._case(record, self._snapshot(session, record.snapshot), events={})
                for record in session.scalars(query)
            ]

    def count_closed(
        self, *, assignee: str | None = None, sop: str | None = None, priority: str | None = None
    ) -> int:
        query = self._closed_query(assignee, sop, priority)
        with self.store.read() as session:
            return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    def _open_query(
        self,
        now: datetime,
        overdue: bool,
        due_within: timedelta | None,
        assignee: str | None,
        sop: str | None,
        status: str | None,
        unassigned: bool,
        priority: str | None = None,
        login: str | None = None,
    ) -> Select[Any]:
        """Open cases matching the filters of `list_open`, decided on the stored next_due:
        a case has an overdue step exactly when its next deadline has passed; a case on
        hold has none stored (its clock is stopped), so no deadline filter selects it."""
        query = select(CaseRecord).where(CaseRecord.closed_at.is_(None))
        query = _common_filters(query, assignee, sop)
        if priority is not None:
            query = query.where(_priority_is(self._priority(priority)))
        if unassigned:
            query = query.where(CaseRecord.assignee.is_(None))
        if login is not None:
            query = query.where(CaseRecord.assignee == login)
        if due_within is not None:  # not yet overdue, unless overdue ones are asked for too
            query = query.where(CaseRecord.next_due <= now + due_within)
            if not overdue:
                query = query.where(CaseRecord.next_due >= now)
        elif overdue:
            query = query.where(CaseRecord.next_due < now)
        due_soon = self.config.due_soon
        if status == OVERDUE:
            query = query.where(CaseRecord.next_due < now)
        elif status in (DUE_SOON, OPEN) and isinstance(due_soon, timedelta):
            soon = now + due_soon
            if status == DUE_SOON:
                query = query.where(CaseRecord.next_due >= now, CaseRecord.next_due <= soon)
            else:
                query = query.where(CaseRecord.next_due > soon)
        elif status in (DUE_SOON, OPEN):  # a share of the window: decided per case
            query = query.where(CaseRecord.next_due >= now)
        elif status == ON_HOLD:
            query = query.where(CaseRecord.next_due.is_(None))
        elif status is not None:
            query = query.where(false())
        return query

    def _closed_query(
        self, assignee: str | None, sop: str | None, priority: str | None = None
    ) -> Select[Any]:
        query = select(CaseRecord).where(CaseRecord.closed_at.is_not(None))
        if priority is not None:
            query = query.where(_priority_is(self._priority(priority)))
        return _common_filters(query, assignee, sop)

    def _fill_next_due(self) -> None:
        """Store the next deadline of open cases opened before the store kept it (revision
        0006), so that listing can sort and page in the database, and clear it for cases
        on hold that an older sopgen left with one. Once per store."""
        if self._next_due_filled:
            return
        missing = select(CaseRecord).where(
            CaseRecord.closed_at.is_(None), CaseRecord.next_due.is_(None), ~_RUNNING_HOLD
        )
        stale = select(CaseRecord.id).where(
            CaseRecord.closed_at.is_(None), CaseRecord.next_due.is_not(None), _RUNNING_HOLD
        )
        with self.store.read() as session:
            found = session.scalars(missing.with_only_columns(CaseRecord.id).limit(1)).first()
            held = session.scalars(stale.limit(1)).first()
        if held is not None:
            with self.store.write() as session:
                session.execute(
                    update(CaseRecord)
                    .where(CaseRecord.id.in_(stale.scalar_subquery()))
                    .values(next_due=None)
                    .execution_options(synchronize_session=False)
                )
        if found is not None:
            with self.store.write() as session:
                records = session.scalars(
                    missing.options(
                        selectinload(CaseRecord.completions), selectinload(CaseRecord.holds)
                    )
                )
                for record in records:
                    steps = self._plan(record, self._snapshot(session, record.snapshot))
                    record.next_due = _next_due(steps)
        self._next_due_filled = True

    def open_cases_of(self, assignee: str, now: datetime | None = None) -> list[Case]:
        """The open cases assigned to `assignee`, with their calendar state (the desk's
        feed and My work), in case id order; a running hold counts until `now`."""
        query = (
            select(CaseRecord)
            .where(CaseRecord.closed_at.is_(None), CaseRecord.assignee == assignee)
            .options(
                selectinload(CaseRecord.completions),
                selectinload(CaseRecord.events),
                selectinload(CaseRecord.holds),
                selectinload(CaseRecord.priorities),
            )
            .order_by(CaseRecord.id)
        )
        with self.store.read() as session:
            return [
                self._case(record, self._snapshot(session, record.snapshot), now=now)
                for record in session.scalars(query)
            ]

    def report(self, since: datetime, until: datetime) -> Report:
        """On-time share and business time to complete of the steps done in
        [`since`, `until`), per SOP step, assignee and priority (`sopgen report`, and
        the desk's dashboard: one computation for both)."""
        return summarize(self.report_rows(since, until), since, until, self.config.priorities)

    def report_rows(self, since: datetime, until: datetime) -> list[Completed]:
        """The steps done in [`since`, `until`), as `sopgen.cases.store.reportrows` reads them."""
        return report_rows(self.store, self.library, self.calendar, since, until, self._snapshots)

    def list_cancelled(self) -> list[Case]:
        """Cancelled cases, most recently cancelled first."""
        query = (
            select(CaseRecord)
            .where(CaseRecord.cancelled_at.is_not(None))
            .options(selectinload(CaseRecord.completions), selectinload(CaseRecord.holds))
            .order_by(CaseRecord.cancelled_at.desc(), CaseRecord.id)
        )
        with self.store.read() as session:
            return [
                self._case(record, self._snapshot(session, record.snapshot), events={})
                for record in session.scalars(query)
            ]


def _common_filters(query: Select[Any], assignee: str | None, sop: str | None) -> Select[Any]:
    if assignee is not None:
        query = query.where(func.lower(CaseRecord.assignee) == assignee.strip().lower())
    if sop is not None:
        query = query.where(CaseRecord.sop_id == sop)
    return query


def _priority_is(priority: str) -> ColumnElement[bool]:
    """A case's priority now is `priority`: its latest priority row names it, or (for
    normal) it has no latest row naming another. (Not-)exists lookups by the index on
    case_id, which planners judge from the table's statistics: listing `normal` cases,
    most of them, still reads the index of open cases in order and pages there."""
    row = aliased(CasePriority)
    later = aliased(CasePriority)
    latest = (
        select(row.id)
        .where(row.case_id == CaseRecord.id)
        .where(~select(later.id).where(later.case_id == row.case_id, later.id > row.id).exists())
    )
    if priority == "normal":
        return ~latest.where(row.priority != "normal").exists()
    return latest.where(row.priority == priority).exists()


def _open_records(
    session: Session, query: Select[Any], offset: int, limit: int | None
) -> Iterator[CaseRecord]:
    """The open cases `query` selects, soonest next deadline first (case id breaks
    ties), then the cases on hold (no next deadline is stored for them: their clock is
    stopped) by id, from `offset` on, at most `limit`. Two queries rather than one
    ORDER BY on `next_due IS NULL`, which would sort every open case for each page
    instead of reading the index of open cases by (next_due, id) in order."""
    loaded = query.options(
        selectinload(CaseRecord.completions),
        selectinload(CaseRecord.holds),
        selectinload(CaseRecord.priorities),
    )
    running = query.where(CaseRecord.next_due.is_not(None))
    got = 0
    for record in session.scalars(
        loaded.where(CaseRecord.next_due.is_not(None))
        .order_by(CaseRecord.next_due, CaseRecord.id)
        .offset(offset)
        .limit(limit)
    ):
        got += 1
        yield record
    if limit is not None and got >= limit:
        return
    if got == 0 and offset:  # the page starts among the held cases
        before = session.scalar(select(func.count()).select_from(running.subquery())) or 0
        offset -= before
    else:
        offset = 0
    yield from session.scalars(
        loaded.where(CaseRecord.next_due.is_(None))
        .order_by(CaseRecord.id)
        .offset(max(0, offset))
        .limit(None if limit is None else limit - got)
    )


_RUNNING_HOLD = (
    select(CaseHold.id)
    .where(CaseHold.case_id == CaseRecord.id, CaseHold.resumed_at.is_(None))
    .exists()
)
"""The case has a hold that has not ended (in a WHERE clause on `cases`)."""
