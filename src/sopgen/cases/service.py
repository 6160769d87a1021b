"""Case operations: open, done, reopen, show, list, refresh, import.

Each operation takes the store, the library and `now` (never the clock), checks
its input completely before it changes anything, and does its change in one
transaction. Bad input raises `CaseError` (a message and a hint) or
`InputError` (problems pointing into a file) with the store unchanged and no
file written.

A case is planned from the SOP text it was opened under (a snapshot kept in
the store), never from the current file: revising an SOP does not move the
deadlines of the cases already running under it. The business calendar is the
current config's: a new closure day moves open deadlines at once, and
`refresh` carries that into the cases' files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from sopgen.businesstime import BusinessCalendar
from sopgen.cases.errors import CONFLICT, NOT_FOUND, CaseError
from sopgen.cases.model import (
    DONE_ACTION,
    REOPEN_ACTION,
    Case,
    CaseSummary,
    EventInfo,
    Hold,
    ImportResult,
    ImportRow,
    Note,
    Refreshed,
    StepEvent,
    clean_text,
    valid_case_id,
)
from sopgen.cases.plan import (
    DUE_SOON,
    ON_HOLD,
    OPEN,
    OVERDUE,
    PlannedStep,
    plan,
)
from sopgen.cases.report import Completed, Report, summarize
from sopgen.cases.reportrows import report_rows
from sopgen.cases.snapshots import library_sop, parse_snapshot
from sopgen.cases.store import (
    CaseHold,
    CaseNote,
    CasePriority,
    CaseRecord,
    Completion,
    EventState,
    Reminder,
    SopSnapshot,
    StepHistory,
    Store,
    UserRecord,
    insert_missing,
)
from sopgen.cases.timestamps import FUTURE_TOLERANCE, human
from sopgen.library import Library, unknown_sop
from sopgen.model import Config, Sop, Step
from sopgen.problems import InputError, Problem, has_errors

REFRESH_BATCH = 200
"""Cases re-planned per transaction by `refresh` (memory stays bounded for any number)."""

# --------------------------------------------------------------------------- SOPs in force

IN_FORCE = ("approved", "effective")
"""SOP statuses cases may be opened under (from their effective date on)."""
STATUS_WORDS = {"draft": "a draft", "in-review": "in review"}

# --------------------------------------------------------------------------- file writers


class StagedWriter(Protocol):
    """New cases' files, written aside until their transaction commits."""

    def write_many(self, cases: Sequence[Case]) -> None: ...

    def publish(self) -> None: ...


class FileWriter(Protocol):
    """Writes a case's files (checklists, calendar) after every change."""

    def write(self, case: Case) -> None: ...

    def staging(self) -> AbstractContextManager[StagedWriter]:
        """Files of new cases are written here first and published after the
        commit; whatever is not published when the block ends is removed."""
        ...

    def refresh(self, case: Case) -> list[str]:
        """Rewrite only the files whose content changed; their names."""
        ...


class _NoStaging:
    def write_many(self, cases: Sequence[Case]) -> None:
        return None

    def publish(self) -> None:
        return None


class _NoFiles:
    def write(self, case: Case) -> None:
        return None

    def staging(self) -> AbstractContextManager[StagedWriter]:
        return nullcontext(_NoStaging())

    def refresh(self, case: Case) -> list[str]:
        return []


NO_FILES: FileWriter = _NoFiles()


# --------------------------------------------------------------------------- the service


class CaseService:
    """Case operations on one store, for one library (config + SOPs)."""

    def __init__(self, store: Store, library: Library, files: FileWriter = NO_FILES):
        self.store = store
        self.library = library
        self.files = files
        self._config: Config | None = None
        self._calendar: BusinessCalendar | None = None
        self._snapshots: dict[str, Sop] = {}
        self._next_due_filled = False

    # ------------------------------------------------------------------ config

    @property
    def config(self) -> Config:
        if self._config is None:
            config = self.library.config
            if config is None or has_errors(self.library.config_problems):
                raise InputError([p for p in self.library.config_problems if p.is_error])
            self._config = config
        return self._config

    @property
    def calendar(self) -> BusinessCalendar:
        if self._calendar is None:
            self._calendar = BusinessCalendar.from_config(self.config)
        return self._calendar

    # ------------------------------------------------------------------ open

    def open(
        self,
        case_id: str,
        sop_id: str,
        received: datetime,
        now: datetime,
        assignee: str | None = None,
        summary: str | None = None,
        priority: str | None = None,
        *,
        allow_draft: bool = False,
        history: bool = False,
    ) -> Case:
        """Record a new case under the current version of `sop_id` and write its files;
        `priority` (one of `priorities:` in sopgen.yaml) defaults to `normal`. With
        `history`, no reminders go out for steps already overdue now (a backlog).

        The SOP must be in force when the case was received (approved or
        effective, and on or after its effective date), unless `allow_draft`
        (trials).
        """
        valid_case_id(case_id)
        assignee, summary = clean_text(assignee, "assignee"), clean_text(summary, "summary")
        if priority is not None:
            priority = self._priority(priority)
        sop, snapshot = self._current_sop(sop_id, allow_draft=allow_draft)
        _not_future(received, now, "received time", self.config.zone)
        if not allow_draft:
            in_force_at(sop, received, self.config.zone)
        with self.files.staging() as staged:
            case = self._open(
                staged,
                case_id,
                sop,
                snapshot,
                received,
                now,
                assignee,
                summary,
                priority,
                history=history,
            )
            staged.publish()  # committed: only now may the case's folder appear
        return case

    def _open(
        self,
        staged: StagedWriter,
        case_id: str,
        sop: Sop,
        snapshot: SopSnapshot,
        received: datetime,
        now: datetime,
        assignee: str | None,
        summary: str | None,
        priority: str | None,
        *,
        history: bool = False,
    ) -> Case:
        with self.store.write() as session:
            if _folder_taken(session, [case_id]):
                raise CaseError(
                    f"case id '{case_id}' is already used",
                    f"choose another id, or see the case with: sopgen case show {case_id}",
                    CONFLICT,
                    web_hint="choose another id, or open the existing case",
                )
            assignee = _known_assignee(session, assignee)
            self._add_snapshot(session, snapshot, now)
            record = CaseRecord(
                **_record_values(
                    case_id,
                    sop,
                    snapshot.digest,
                    received,
                    assignee,
                    summary,
                    now,
                    as_history=history,
                ),
                completions=[],
                events=[],
            )
            if priority is not None:
                record.priorities.append(
                    CasePriority(priority=priority, since=received, recorded_at=now)
                )
            session.add(record)
            case = self._sync(record, sop, now)
            try:
                session.flush()  # a constraint failing here must stop the files, too
            except IntegrityError:  # another sopgen opened the same id a moment ago
                raise CaseError(
                    f"case id '{case_id}' is already used",
                    f"choose another id, or see the case with: sopgen case show {case_id}",
                    CONFLICT,
                    web_hint="choose another id, or open the existing case",
                ) from None
            staged.write_many([case])
        return case

    # ------------------------------------------------------------------ done / reopen

    def done(
        self,
        case_id: str,
        step_ref: str,
        at: datetime,
        now: datetime,
        *,
        actor: str | None = None,
        via: str | None = None,
    ) -> Case:
        """Mark a step done at `at`; recompute the deadlines anchored on it; rewrite files.
        The tick goes into the case's step history with `actor` (a login, the CLI's OS
        user) and `via` (cli, desk, api)."""
        with self.store.write() as session:
            record = self._record(session, case_id)
            _not_cancelled(record)
            sop = self._snapshot(session, record.snapshot)
            step = _step(sop, step_ref, case_id)
            done = record.done()
            if step.key in done:
                raise CaseError(
                    f"step {step.key} of case {case_id} is already done "
                    f"({human(done[step.key], self.config.zone)})",
                    f"to change its time, undo it first: sopgen case reopen {case_id} {step.key}",
                    CONFLICT,
                    web_hint="to change its time, undo it first (reopen the step)",
                )
            self._check_time(
                at, now, "completion time", record.received, f"case {case_id} was received",
                f"step {step.key} cannot be done",
            )  # fmt: skip
            self._keeps_done_deadlines(record, sop, step.key, at)
            record.completions.append(Completion(step=step.key, done_at=at, recorded_at=now))
            record.history.append(
                StepHistory(
                    step=step.key,
                    action=DONE_ACTION,
                    done_at=at,
                    recorded_at=now,
                    actor=_actor(actor),
                    via=via,
                )
            )
            return self._save(session, record, now)

    def reopen(
        self,
        case_id: str,
        step_ref: str,
        now: datetime,
        *,
        actor: str | None = None,
        via: str | None = None,
    ) -> Case:
        """Undo `done` for a step; recompute and rewrite files. The completion leaves the
        plan but stays in the step history, followed by the reopen (who, when)."""
        with self.store.write() as session:
            record = self._record(session, case_id)
            _not_cancelled(record)
            sop = self._snapshot(session, record.snapshot)
            step = _step(sop, step_ref, case_id)
            completion = next((c for c in record.completions if c.step == step.key), None)
            if completion is None:
                raise CaseError(
                    f"step {step.key} of case {case_id} is not done, so there is nothing to reopen",
                    f"see the case's steps with: sopgen case show {case_id}",
                    CONFLICT,
                )
            record.completions.remove(completion)
            record.history.append(
                StepHistory(
                    step=step.key,
                    action=REOPEN_ACTION,
                    done_at=completion.done_at,
                    recorded_at=now,
                    actor=_actor(actor),
                    via=via,
                )
            )
            return self._save(session, record, now)

    # ------------------------------------------------------------------ reading

    def show(self, case_id: str, now: datetime | None = None) -> Case:
        """A case with its plan; a hold still running counts until `now` (pass it: without
        it, the deadlines are those of the moment the hold began)."""
        with self.store.read() as session:
            record = self._record(session, case_id, lock=False)
            sop = self._snapshot(session, record.snapshot)
            return self._case(record, sop, now=now)

    # ------------------------------------------------------------------ priority

    def change_priority(self, case_id: str, priority: str, at: datetime, now: datetime) -> Case:
        """Give a case another priority from `at` on: its open steps are planned anew from
        the received time with that priority's timeframes; done steps keep their deadlines."""
        priority = self._priority(priority)
        with self.store.write() as session:
            record = self._record(session, case_id)
            _still_open(record, "its priority stays")
            current = record.priorities[-1].priority if record.priorities else "normal"
            if priority == current:
                others = [p for p in self.config.priorities if p != priority]
                raise CaseError(
                    f"case {case_id} already has priority {priority}, so nothing changes",
                    "to change it, name another priority: " + ", ".join(others),
                    CONFLICT,
                )
            since = record.received
            if record.priorities:
                since = max(since, record.priorities[-1].since)
            self._check_time(
                at, now, "priority change time", since, "it was received or last changed",
                f"the priority of case {case_id} cannot change",
            )  # fmt: skip
            self._after_completions(
                record, at, f"the priority of case {case_id} cannot change", "--at"
            )
            record.priorities.append(CasePriority(priority=priority, since=at, recorded_at=now))
            return self._save(session, record, now)

    def _save(self, session: Session, record: CaseRecord, now: datetime) -> Case:
        """After a change to `record`: plan it, store it, and write its files. Returned
        as `show` shows it at `now`: on hold, the deadlines move on with the clock
        (its files keep those the hold stopped them at)."""
        sop = self._snapshot(session, record.snapshot)
        case = self._sync(record, sop, now)
        session.flush()  # a constraint failing here must stop the files, too
        self.files.write(case)
        if case.on_hold is not None:
            return replace(case, steps=tuple(self._plan(record, sop, now)))
        return case

    def _check_time(
        self, at: datetime, now: datetime, what: str, earliest: datetime, since: str, refused: str
    ) -> None:
        """Refuse an `--at` time before `earliest` (when `since`) or in the future.
        Instants are compared in UTC, never by wall clock."""
        zone = self.config.zone
        if at.astimezone(UTC) < earliest.astimezone(UTC):
            raise CaseError(
                f"{refused} at {human(at, zone)}, before {since} ({human(earliest, zone)})",
                f"check the --at time; without --at the {what} is now",
                web_hint=f"check the time given; without one the {what} is now",
            )
        _not_future(at, now, f"{what} (--at)", zone)

    def _after_completions(
        self, record: CaseRecord, at: datetime, refused: str, option: str
    ) -> None:
        """Refuse a hold, resume or priority change dated before the latest completion
        time ever recorded for the case, reopened ones included: a done step keeps the
        deadline it had when it was ticked, so what happened before a completion can no
        longer be rewritten, not even by reopening the step, back-dating a hold and
        ticking it again (docs/deadlines.md "Holds")."""
        ticks = [(h.done_at, h.step) for h in record.history if h.action == DONE_ACTION]
        ticks += [(c.done_at, c.step) for c in record.completions]  # (all in the history)
        latest = max(ticks, key=lambda t: t[0].astimezone(UTC), default=None)
        if latest is None or at.astimezone(UTC) >= latest[0].astimezone(UTC):
            return
        done_at, step = latest
        zone = self.config.zone
        current = record.done().get(step)
        reopened = current is None or current.astimezone(UTC) != done_at.astimezone(UTC)
        why = (
            "a step keeps the deadline it had when it was ticked, also after a reopen"
            if reopened
            else "a step already done keeps the deadline it had when it was ticked"
        )
        raise CaseError(
            f"{refused} at {human(at, zone)}, before step {step} was done "
            f"({human(done_at, zone)}{'; reopened since' if reopened else ''}): that would "
            "change the deadline of a step already done",
            f"give an {option} time from {human(done_at, zone)} on: {why}",
            CONFLICT,
            web_hint=f"give a time from {human(done_at, zone)} on: {why}",
        )

    def _keeps_done_deadlines(self, record: CaseRecord, sop: Sop, key: str, at: datetime) -> None:
        """Refuse a completion of `key` at `at` that would move a step already done: one
        anchored `after` it (or down such a chain), done while `key` was still open,
        keeps the deadline it had then, so `key` cannot be dated at or before that
        completion (at the same time it would count first); reopening that step is the
        way to correct the record (docs/deadlines.md "Timeframes")."""
        done = record.done()
        moment = at.astimezone(UTC)
        if not any(t.astimezone(UTC) >= moment for t in done.values()):
            return  # nothing done since: no done step was anchored on this one while open
        rest = (_spans(record, None), _priorities(record))
        before = plan(sop, self.calendar, record.received, done, *rest)
        after = plan(sop, self.calendar, record.received, {**done, key: at}, *rest)
        moved = [
            old
            for old, new in zip(before, after, strict=True)
            if old.done is not None and old.due.astimezone(UTC) != new.due.astimezone(UTC)
        ]
        if not moved:
            return
        first = min(moved, key=lambda p: p.done.astimezone(UTC) if p.done else moment)
        assert first.done is not None
        zone = self.config.zone
        when = "at the same time" if first.done.astimezone(UTC) == moment else "later"
        why = "a step already done keeps the deadline it had when it was ticked"
        raise CaseError(
            f"step {key} cannot be done at {human(at, zone)}: step {first.key}, anchored "
            f"after it, was done {when} ({human(first.done, zone)}) while {key} was still "
            f"open, and keeps the deadline it had then ({human(first.due, zone)})",
            f"give an --at time after {human(first.done, zone)}, or reopen {first.key} "
            f"first: {why}",
            CONFLICT,
            web_hint=f"give a time after {human(first.done, zone)}, or reopen step "
            f"{first.key} first: {why}",
        )

    def _priority(self, text: str) -> str:
        """The priority of sopgen.yaml that `text` names (any case), in its spelling there."""
        priority = self.config.priority_named(text)
        if priority is None:
            raise CaseError(
                f"unknown priority '{text}'",
                self.config.priorities_hint,
            )
        return priority

    # ------------------------------------------------------------------ hold / resume

    def hold(self, case_id: str, at: datetime, now: datetime, reason: str | None = None) -> Case:
        """Put a case on hold from `at` (waiting on the customer): its clock stops."""
        reason = clean_text(reason, "reason")
        zone = self.config.zone
        with self.store.write() as session:
            record = self._record(session, case_id)
            _still_open(record, "there is no clock to stop")
            running = _running_hold(record)
            if running is not None:
                raise CaseError(
                    f"case {case_id} is already on hold since {human(running.held_at, zone)}",
                    f"resume it first: sopgen case resume {case_id}",
                    CONFLICT,
                )
            self._check_time(
                at, now, "hold time", record.received, "it was received",
                f"case {case_id} cannot go on hold",
            )  # fmt: skip
            last = max((h.resumed_at for h in record.holds if h.resumed_at), default=None)
            if last is not None and at.astimezone(UTC) < last:
                raise CaseError(
                    f"a hold from {human(at, zone)} would overlap the previous hold of case "
                    f"{case_id}, which ended {human(last, zone)}",
                    "give an --at time after the previous hold ended",
                )
            self._after_completions(record, at, f"case {case_id} cannot go on hold", "--at")
            record.holds.append(CaseHold(held_at=at, reason=reason, recorded_at=now))
            return self._save(session, record, now)

    def resume(self, case_id: str, at: datetime, now: datetime) -> Case:
        """End the hold of a case at `at`: its clock runs again, open deadlines move on."""
        with self.store.write() as session:
            record = self._record(session, case_id)
            _not_cancelled(record)
            running = _running_hold(record)
            if running is None:
                raise CaseError(
                    f"case {case_id} is not on hold, so there is nothing to resume",
                    f"put it on hold with: sopgen case hold {case_id} --reason TEXT",
                    CONFLICT,
                )
            self._check_time(
                at, now, "resume time", running.held_at, "its hold began",
                f"case {case_id} cannot resume",
            )  # fmt: skip
            self._after_completions(record, at, f"case {case_id} cannot resume", "--at")
            running.resumed_at = at
            running.resume_recorded_at = now
            return self._save(session, record, now)

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
    ) -> list[CaseSummary]:
        """Open cases with their next deadline, soonest first (case id breaks ties), then
        the cases on hold (see `_open_records`).

        `overdue`: only cases with an overdue step; `due_within`: only cases
        whose next deadline is not yet past and at most that far away (overdue
        ones are not "due within"; with `overdue` too, both kinds);
        `assignee`: only that assignee's cases (case-insensitive); `unassigned`:
        only cases nobody is assigned to; `sop`: only cases under that SOP;
        `status`: only cases whose next step has that status; `priority`: only
        cases of that priority now (any case; unknown: CaseError). `limit` and
        `offset` page through the result in the database (each case's next
        deadline is stored, and indexed), so only the cases of the page are
        planned.
        """
        self._fill_next_due()
        query = self._open_query(
            now, overdue, due_within, assignee, sop, status, unassigned, priority
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
            )
            return len(found)
        self._fill_next_due()
        query = self._open_query(
            now, overdue, due_within, assignee, sop, status, unassigned, priority
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

    def prepare_feeds(self, today: date) -> None:
        """What every feed request needs and a server can have before its first one: the
        feed lookup compiled for the store's database, the store's installation id (part
        of every UID), and the company calendar's opening hours for last year to next
        year (from sopgen.yaml and the public holidays). Code, configuration and a
        constant of the store: no result of a request."""
        self.store.compiled(_FEED_ROWS)
        assert self.store.installation_id
        self.calendar.cover(today.year - 1, today.year + 1)

    def feed_rows(self, feed_token_hash: str) -> FeedRows | None:
        """The user whose feed token hashes to `feed_token_hash` (None when nobody's does,
        or they are disabled) with their open cases, in case id order: one statement
        (so the user and the cases agree), its SEQUENCE sums answered from an index
        (revision 0011), read straight from the driver: a feed request makes it every
        time."""
        rows = self.store.driver_rows(_FEED_ROWS, {"token_hash": feed_token_hash})
        if not rows:
            return None
        login, name = rows[0][0], rows[0][1]
        cases = tuple((r[2], r[3], r[4], r[5]) for r in rows if r[2] is not None)
        due = {r[2]: _driver_time(r[6]) for r in rows if r[2] is not None and r[6] is not None}
        return FeedRows(login, name, cases, due)

    def cases_with_versions(self, case_ids: Sequence[str]) -> list[tuple[Case, str]]:
        """The cases named (those that exist), in id order, each as `show` gives it (but
        for the step history, which a feed does not show: read as for a list) and
        with its version as `FeedRows.versions` gives it, read in one transaction. A
        running hold counts until it began, so a case's plan changes only with its
        version (feeds cache by version). Plain driver rows from text statements (no
        ORM objects, no per-value column types, nothing to compile on a new
        instance's first request): this is a feed's first render."""
        ids = {"ids": list(case_ids)}
        done: dict[str, dict[str, datetime]] = {}
        events: dict[str, dict[str, EventInfo]] = {}
        holds: dict[str, list[tuple[datetime, datetime | None, str | None]]] = {}
        changes: dict[str, list[tuple[datetime, str]]] = {}
        zone = self.config.zone
        read = self.store.time_reader()
        found = []
        with self.store.plain_read() as conn:
            for case_id, step, done_at in conn.execute(_CASES_DONE, ids).all():
                done.setdefault(case_id, {})[step] = read(done_at)
            for case_id, step, sequence, modified_at in conn.execute(_CASES_EVENTS, ids).all():
                events.setdefault(case_id, {})[step] = EventInfo(sequence, read(modified_at))
            for case_id, held_at, resumed_at, reason in conn.execute(_CASES_HOLDS, ids).all():
                resumed = None if resumed_at is None else read(resumed_at)
                holds.setdefault(case_id, []).append((read(held_at), resumed, reason))
            for case_id, since, priority in conn.execute(_CASES_PRIORITIES, ids).all():
                changes.setdefault(case_id, []).append((read(since), priority))
            rows = conn.execute(_CASES_ROWS, ids).all()
            sops = {digest: self._plain_snapshot(conn, digest) for digest in {r[1] for r in rows}}
        installation = self.store.installation_id
        for row in rows:
            case_id, snapshot, received_at, assignee, summary = row[:5]
            opened_at, updated_at, legacy_uids, cancelled_at, cancel_reason = row[5:]
            sop = sops[snapshot]
            received = read(received_at)
            updated = read(updated_at)
            case_holds = holds.get(case_id, [])
            case_done = done.get(case_id, {})
            case_events = events.get(case_id, {})
            history = _history(received, changes.get(case_id, ()))
            try:
                steps = plan(
                    sop,
                    self.calendar,
                    received,
                    case_done,
                    _hold_spans(((h[0], h[1]) for h in case_holds), None),
                    history,
                )
            except ValueError as exc:  # pragma: no cover - a valid SOP plans
                raise CaseError(f"cannot plan case {case_id}: {exc}") from None
            case = Case(  # the view `_case` makes of the record
                id=case_id,
                sop=sop,
                received=received.astimezone(zone),
                assignee=assignee,
                summary=summary,
                opened_at=read(opened_at),
                updated_at=updated,
                steps=tuple(steps),
                events=case_events,
                priorities=tuple(
                    (since.astimezone(zone), priority)
                    for since, priority in changes.get(case_id, ())
                ),
                holds=tuple(
                    Hold(
                        held_at.astimezone(zone),
                        resumed_at.astimezone(zone) if resumed_at else None,
                        reason,
                    )
                    for held_at, resumed_at, reason in case_holds
                ),
                installation=None if legacy_uids else installation,
                cancelled_at=None if cancelled_at is None else read(cancelled_at),
                cancel_reason=cancel_reason,
            )
            sequences = sum(e.sequence for e in case_events.values())
            found.append((case, _version(updated, sequences, len(case_done))))
        return found

    def _plain_snapshot(self, conn: Connection, digest: str) -> Sop:
        """`_snapshot`, read on a plain connection."""
        sop = self._snapshots.get(digest) or library_sop(self.library, digest)
        if sop is None:
            row = conn.execute(_SNAPSHOT, {"digest": digest}).first()
            if row is None:
                raise CaseError(f"the case store lacks the SOP snapshot {digest[:12]}")
            sop = parse_snapshot(row[0], row[1], row[2], digest)
        self._snapshots[digest] = sop
        return sop

    def assign(self, case_id: str, assignee: str | None, now: datetime) -> Case:
        """Give a case to someone (None: to nobody); rewrite its files.

        Reminders still pending for the case's steps that are not addressed to the
        new assignee are cancelled at once (the next `remind` pass plans the new
        assignee's); one a worker holds is dropped when it rereads the case."""
        assignee = clean_text(assignee, "assignee")
        with self.store.write() as session:
            record = self._record(session, case_id)
            _not_cancelled(record)
            record.assignee = _known_assignee(session, assignee)
            _cancel_reminders_not_for(session, record)
            return self._save(session, record, now)

    def add_note(self, case_id: str, author: str, text: str, now: datetime) -> Note:
        """Keep a note on a case (the case's plan does not change)."""
        clean = clean_text(text, "note")
        if clean is None:
            raise CaseError("the note is empty", "write what happened")
        with self.store.write() as session:
            record = self._record(session, case_id)
            session.add(CaseNote(case_id=record.id, author=author, written_at=now, text=clean))
        return Note(author, now, clean)

    def notes(self, case_id: str) -> list[Note]:
        with self.store.read() as session:
            rows = session.scalars(
                select(CaseNote).where(CaseNote.case_id == case_id).order_by(CaseNote.id)
            )
            return [Note(r.author, r.written_at, r.text) for r in rows]

    def report(self, since: datetime, until: datetime) -> Report:
        """On-time share and business time to complete of the steps done in
        [`since`, `until`), per SOP step, assignee and priority (`sopgen report`, and
        the desk's dashboard: one computation for both)."""
        return summarize(self.report_rows(since, until), since, until, self.config.priorities)

    def report_rows(self, since: datetime, until: datetime) -> list[Completed]:
        """The steps done in [`since`, `until`), as `sopgen.cases.reportrows` reads them."""
        return report_rows(self.store, self.library, self.calendar, since, until, self._snapshots)

    # ------------------------------------------------------------------ cancel

    def cancel(self, case_id: str, reason: str, now: datetime) -> Case:
        """Cancel a case (a withdrawn complaint): it leaves the open lists and the feeds,
        its steps not done become cancelled events (SEQUENCE raised, no reminder), and
        it stays in the store, shown by `show` and listed by `list_cancelled`."""
        why = clean_text(reason, "reason")
        if why is None:
            raise CaseError("the reason is empty", "say why, e.g. --reason 'complaint withdrawn'")
        with self.store.write() as session:
            record = self._record(session, case_id)
            _not_cancelled(record)
            if record.closed_at is not None:
                raise CaseError(
                    f"case {record.id} is complete: every step is done, nothing is left to cancel",
                    f"see it with: sopgen case show {record.id}",
                    CONFLICT,
                )
            record.cancelled_at = now
            record.cancel_reason = why
            return self._save(session, record, now)

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

    # ------------------------------------------------------------------ refresh

    def to_refresh(self, case_ids: Sequence[str]) -> list[str]:
        """The cases `refresh` works on: those named (unknown ids are refused), or, when
        none is named, every open case."""
        with self.store.read() as session:
            if case_ids:
                return list(
                    dict.fromkeys(self._record(session, c, lock=False).id for c in case_ids)
                )
            return list(
                session.scalars(
                    select(CaseRecord.id)
                    .where(CaseRecord.closed_at.is_(None))
                    .order_by(CaseRecord.id)
                )
            )

    def refresh(
        self,
        ids: Sequence[str],
        now: datetime,
        progress: Callable[[int], None] | None = None,
    ) -> list[Refreshed]:
        """Re-plan the cases `ids` (see `to_refresh`) under the current config (closure
        days, hours, holidays) and rewrite the files whose content changed.

        SEQUENCE rises only for events whose deadline moved; a case whose plan did
        not move keeps its last-change time (so its unchanged files stay byte-identical).
        Files are written after each batch is committed, so an interrupted refresh is
        finished by the next one.
        """
        refreshed: list[Refreshed] = []
        for start in range(0, len(ids), REFRESH_BATCH):
            batch = ids[start : start + REFRESH_BATCH]
            with self.store.write() as session:
                query = (
                    select(CaseRecord)
                    .where(CaseRecord.id.in_(batch))
                    .options(
                        selectinload(CaseRecord.completions),
                        selectinload(CaseRecord.events),
                        selectinload(CaseRecord.holds),
                        selectinload(CaseRecord.priorities),
                    )
                    .order_by(CaseRecord.id)
                )
                if not self.store.sqlite:
                    query = query.with_for_update()
                cases = [
                    self._sync(record, self._snapshot(session, record.snapshot), now, touch=False)
                    for record in session.scalars(query)
                ]
            for case in cases:  # after the commit: the files follow the store
                refreshed.append(Refreshed(case, tuple(self.files.refresh(case))))
                if progress is not None:
                    progress(1)
        return refreshed

    # ------------------------------------------------------------------ import

    def import_rows(
        self,
        rows: Iterable[ImportRow | Problem],
        sop_id: str,
        now: datetime,
        file: str,
        *,
        all_or_nothing: bool = False,
        allow_draft: bool = False,
        history: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Open a case per good row, all in one transaction; bad rows become `file:line` problems.

        `rows` is read once, IMPORT_BATCH rows at a time, so memory stays
        bounded whatever the size of the file (a `Problem` among them is a
        row the reader refused). Each batch's cases are inserted and their
        files written to a staging folder; the files are published only after
        the transaction commits, so an import that fails or is interrupted
        (Ctrl-C) leaves neither cases nor folders. With `all_or_nothing`, any
        bad row rolls the whole import back (every row is still checked, so
        all bad rows are reported). With `history` every case is entered as history
        (as a row's own `history` does): no reminders for steps overdue already.
        """
        sop, snapshot = self._current_sop(sop_id, allow_draft=allow_draft)
        zone = self.config.zone
        found: list[Problem] = []
        opened: list[str] = []
        count = 0
        with self.files.staging() as staged:
            try:
                with self.store.write() as session:
                    self._add_snapshot(session, snapshot, now)
                    users = _assignable(session)
                    for batch in _batches(rows, IMPORT_BATCH):
                        count += len(batch)
                        good: list[ImportRow] = []
                        for row in batch:
                            if isinstance(row, Problem):
                                found.append(row)
                                continue
                            try:
                                _not_future(row.received, now, "received time", zone)
                                if not allow_draft:
                                    in_force_at(sop, row.received, zone)
                            except CaseError as exc:
                                found.append(
                                    exc.problem(file, row.line, column=row.column("received"))
                                )
                                continue
                            good.append(replace(row, history=True) if history else row)
                        taken = _folder_taken(session, [r.case_id for r in good])
                        kept = []
                        for row in good:
                            if row.case_id.lower() in taken:
                                found.append(
                                    CaseError(
                                        f"case id '{row.case_id}' is already used",
                                        "remove the row, or give the case another id",
                                    ).problem(file, row.line, column=row.column("case"))
                                )
                            elif (
                                users is not None
                                and row.assignee
                                and (row.assignee.lower() not in users)
                            ):
                                found.append(
                                    CaseError(
                                        f"'{row.assignee}' is not a user of the desk",
                                        "write a user's login in the assignee column "
                                        "(see: sopgen user list)",
                                    ).problem(file, row.line, column=row.column("assignee"))
                                )
                            else:
                                login = (
                                    users.get(row.assignee.lower())
                                    if users and row.assignee
                                    else None
                                )
                                kept.append(replace(row, assignee=login) if login else row)
                        if not (all_or_nothing and found):
                            staged.write_many(self._insert(session, kept, sop, snapshot, now))
                            opened += [row.case_id for row in kept]
                        if progress is not None:
                            progress(len(batch))
                    if all_or_nothing and found:
                        raise _NothingImported
            except _NothingImported:
                return ImportResult([], _sorted(found), count, sop.id)
            staged.publish()  # committed: only now may the cases' folders appear
        return ImportResult(opened, _sorted(found), count, sop.id)

    def _insert(
        self,
        session: Session,
        rows: Sequence[ImportRow],
        sop: Sop,
        snapshot: SopSnapshot,
        now: datetime,
    ) -> list[Case]:
        """New cases for `rows`, inserted in bulk (the ORM's unit of work would cost
        more than everything else an import does)."""
        values = [
            _record_values(
                row.case_id,
                sop,
                snapshot.digest,
                row.received,
                row.assignee,
                row.summary,
                now,
                as_history=row.history,
            )
            for row in rows
        ]
        priorities = [
            {"case_id": row.case_id, "priority": row.priority, "since": row.received,
             "recorded_at": now}
            for row in rows
            if row.priority is not None
        ]  # fmt: skip
        records = [CaseRecord(**v) for v in values]
        for record, row in zip(records, rows, strict=True):
            if row.priority is not None:  # planned with it, as `open --priority` does
                record.priorities = [
                    CasePriority(priority=row.priority, since=row.received, recorded_at=now)
                ]
        cases = [self._new_case(record, sop, now) for record in records]
        for v, case in zip(values, cases, strict=True):
            v["next_due"] = _next_due(case.steps)
        if cases:
            session.execute(insert(CaseRecord), values)
            if priorities:
                session.execute(insert(CasePriority), priorities)
            session.execute(
                insert(EventState),
                [
                    {
                        "case_id": case.id,
                        "step": planned.key,
                        "sequence": 0,
                        "fingerprint": _fingerprint(planned, priority=case.priority),
                        "modified_at": now,
                    }
                    for case in cases
                    for planned in case.steps
                ],
            )
        return cases

    # ------------------------------------------------------------------ internals

    def _current_sop(self, sop_id: str, *, allow_draft: bool = False) -> tuple[Sop, SopSnapshot]:
        """The SOP as its file holds it now (valid, not retired, in force unless
        `allow_draft`), and its snapshot row. SOP ids are matched in any case."""
        self.config  # noqa: B018 - an invalid config stops every case command
        entry = self.library.entry(sop_id) or next(
            (
                e
                for e in self.library.entries
                if e.sop is not None and e.sop.id.casefold() == sop_id.strip().casefold()
            ),
            None,
        )
        if entry is None or entry.sop is None:
            raise CaseError(*unknown_sop(self.library, [sop_id]))
        if not entry.valid:
            raise InputError([p for p in entry.problems if p.is_error])
        sop = entry.sop
        if sop.status == "retired":
            raise CaseError(
                f"{sop.id} is retired; no new cases are opened under it",
                "open the case under the SOP that replaced it",
            )
        if sop.status not in IN_FORCE and not allow_draft:
            raise CaseError(
                f"{sop.id} version {sop.version} is {STATUS_WORDS.get(sop.status, sop.status)} "
                f"(status: {sop.status}), not in force; cases are opened only under SOPs "
                "that are approved or effective",
                f"release it first (status: effective in {entry.file}), or open a trial case "
                "with --allow-draft",
                web_hint="open cases under a released SOP, or ask whoever maintains the SOPs",
            )
        try:
            raw = entry.path.read_bytes()
        except OSError as exc:
            raise CaseError(f"cannot read {entry.file}: {exc.strerror or exc}") from None
        if hashlib.sha256(raw).hexdigest() != entry.document.digest:
            raise CaseError(
                f"{entry.file} changed while sopgen was reading it", "run the command again"
            )
        snapshot = SopSnapshot(
            digest=entry.document.digest,
            sop_id=sop.id,
            version=sop.version,
            file=entry.file,
            text=raw.decode("utf-8"),
        )
        self._snapshots.setdefault(snapshot.digest, sop)
        return sop, snapshot

    def _add_snapshot(self, session: Session, snapshot: SopSnapshot, now: datetime) -> None:
        """Store the SOP text once; two sopgens opening cases under it at once both pass."""
        if session.get(SopSnapshot, snapshot.digest) is None:
            values = {c.name: getattr(snapshot, c.name) for c in SopSnapshot.__table__.columns}
            insert_missing(session, SopSnapshot, {**values, "stored_at": now})

    def _snapshot(self, session: Session, digest: str) -> Sop:
        """The SOP a case was planned from (parsed once per process)."""
        sop = self._snapshots.get(digest) or library_sop(self.library, digest)
        if sop is None:
            row = session.get(SopSnapshot, digest)
            if row is None:
                raise CaseError(f"the case store lacks the SOP snapshot {digest[:12]}")
            sop = parse_snapshot(row.text, row.file, row.version, digest)
        self._snapshots[digest] = sop
        return sop

    def _record(self, session: Session, case_id: str, *, lock: bool = True) -> CaseRecord:
        """The case named `case_id`, in any case: ids are unique ignoring case."""
        query = (
            select(CaseRecord)
            .where(CaseRecord.folder == case_id.lower())
            .options(
                selectinload(CaseRecord.completions),
                selectinload(CaseRecord.events),
                selectinload(CaseRecord.holds),
                selectinload(CaseRecord.priorities),
                selectinload(CaseRecord.history),
            )
        )
        if lock and not self.store.sqlite:  # SQLite's BEGIN IMMEDIATE already locks
            query = query.with_for_update()
        record = session.scalars(query).one_or_none()
        if record is None:
            raise CaseError(
                f"no case '{case_id}'",
                "list open cases with: sopgen case list",
                NOT_FOUND,
                web_hint="check the case id against the list of open cases",
            )
        return record

    def _new_case(self, record: CaseRecord, sop: Sop, now: datetime) -> Case:
        """A case opened by import, planned like `open` plans it (nothing done yet)."""
        steps = self._plan(record, sop)
        return self._case(record, sop, steps, events={p.key: EventInfo(0, now) for p in steps})

    def _plan(
        self, record: CaseRecord, sop: Sop, now: datetime | None = None, *, frozen: bool = False
    ) -> list[PlannedStep]:
        """The case's plan; a hold still running counts until `now` (without `now`:
        the clock stays where the hold stopped it). `frozen`: open steps keep the
        deadlines the running hold stopped them at (the calendar's view), while steps
        done during the hold count it up to their completion."""
        running = _running_hold(record) if frozen else None
        try:
            return plan(
                sop,
                self.calendar,
                record.received,
                record.done(),
                _spans(record, now),
                _priorities(record),
                running.held_at if running is not None else None,
            )
        except ValueError as exc:  # pragma: no cover - a valid SOP plans
            raise CaseError(f"cannot plan case {record.id}: {exc}") from None

    def _sync(self, record: CaseRecord, sop: Sop, now: datetime, *, touch: bool = True) -> Case:
        """After a change: recompute the plan, bump SEQUENCE of the steps whose event changed.

        The case's last-change time becomes `now`; with `touch=False` (refresh) only
        when an event changed."""
        held = _running_hold(record) is not None
        # on hold, the files and events keep the deadlines where the hold stopped them
        steps = self._plan(record, sop, now, frozen=held)
        events = {e.step: e for e in record.events}
        changed = []
        moved: dict[str, datetime] = {}  # open steps whose deadline this change moved
        cancelled = record.cancelled_at is not None
        priority = record.priorities[-1].priority if record.priorities else "normal"
        for planned in steps:
            fingerprint = _fingerprint(planned, cancelled, held, priority)
            event = events.get(planned.key)
            if event is None:
                record.events.append(
                    EventState(
                        step=planned.key, sequence=0, fingerprint=fingerprint, modified_at=now
                    )
                )
            elif event.fingerprint != fingerprint:
                before = _due_of(event.fingerprint)
                if planned.done is None and before is not None and before != planned.due:
                    moved[planned.key] = before
                changed.append(planned.key)
                event.sequence += 1
                event.fingerprint = fingerprint
                event.modified_at = now
        if touch or changed:
            record.updated_at = now
        finished = cancelled or all(p.done is not None for p in steps)
        record.closed_at = (record.closed_at or now) if finished else None
        record.next_due = None if cancelled or held else _next_due(steps)
        return replace(self._case(record, sop, steps, now=now), changed=tuple(changed), moved=moved)

    def _case(
        self,
        record: CaseRecord,
        sop: Sop,
        steps: list[PlannedStep] | None = None,
        *,
        events: Mapping[str, EventInfo] | None = None,
        now: datetime | None = None,
    ) -> Case:
        """The view of `record`, planned unless `steps` are given; its calendar events
        from the record unless `events` are given."""
        zone = self.config.zone
        return Case(
            id=record.id,
            sop=sop,
            received=record.received.astimezone(zone),
            assignee=record.assignee,
            summary=record.summary,
            opened_at=record.opened_at,
            updated_at=record.updated_at,
            steps=tuple(steps if steps is not None else self._plan(record, sop, now)),
            events=(
                {e.step: EventInfo(e.sequence, e.modified_at) for e in record.events}
                if events is None
                else events
            ),
            priorities=tuple((t.astimezone(zone), p) for t, p in _shown_priorities(record)),
            holds=tuple(
                Hold(
                    h.held_at.astimezone(zone),
                    h.resumed_at.astimezone(zone) if h.resumed_at else None,
                    h.reason,
                )
                for h in record.holds
            ),
            installation=None if record.legacy_uids else self.store.installation_id,
            cancelled_at=record.cancelled_at,
            cancel_reason=record.cancel_reason,
            as_history=bool(record.as_history),
            history=_step_history(record, zone),
        )


# --------------------------------------------------------------------------- helpers

IMPORT_BATCH = 500
"""Rows an import checks, inserts and writes files for at a time."""

T = TypeVar("T")


class _NothingImported(Exception):
    """Raised inside an --all-or-nothing import's transaction to roll it back."""


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _priorities(record: CaseRecord) -> list[tuple[datetime, str]]:
    """The case's priority history, from `normal` at the received time on."""
    return _history(record.received, [(p.since, p.priority) for p in record.priorities])


def _shown_priorities(record: CaseRecord) -> list[tuple[datetime, str]]:
    """The priority history a reader sees: from the priority the case was opened with
    (`normal` unless `open --priority` gave one) on; none when it never changed."""
    changes = [(p.since, p.priority) for p in record.priorities]
    if changes and changes[0][0].astimezone(UTC) > record.received.astimezone(UTC):
        return [(record.received, "normal"), *changes]
    return changes


def _history(
    received: datetime, changes: Sequence[tuple[datetime, str]]
) -> list[tuple[datetime, str]]:
    """A priority history from its changes (oldest first): `normal` at `received`, then
    the changes; none when the priority never changed."""
    if not changes:
        return []
    return [(received, "normal"), *changes]


def _actor(actor: str | None) -> str | None:
    """Who did it, as the history keeps it: a login or an OS user name, one line."""
    return " ".join(actor.split())[:200] or None if actor else None


def _step_history(record: CaseRecord, zone: ZoneInfo) -> tuple[StepEvent, ...]:
    """The ticks and reopens of `record`, when they were read (`_record` reads them;
    the lists of cases do not)."""
    if "history" in inspect(record).unloaded:
        return ()
    return tuple(
        StepEvent(
            h.step,
            h.action,
            h.done_at.astimezone(zone),
            h.recorded_at.astimezone(zone),
            h.actor,
            h.via,
        )
        for h in record.history
    )


def _spans(record: CaseRecord, now: datetime | None) -> list[tuple[datetime, datetime]]:
    """The case's holds as (start, end); a running hold ends `now` (or where it began)."""
    return _hold_spans([(h.held_at, h.resumed_at) for h in record.holds], now)


def _hold_spans(
    holds: Iterable[tuple[datetime, datetime | None]], now: datetime | None
) -> list[tuple[datetime, datetime]]:
    """Holds as (start, end) from (held, resumed) pairs; a running hold (resumed None)
    ends `now`, or where it began without `now`."""
    spans = []
    for held_at, resumed_at in holds:
        end = resumed_at
        if end is None:
            end = held_at if now is None else max(held_at, now.astimezone(UTC))
        spans.append((held_at, end))
    return spans


def _fingerprint(
    planned: PlannedStep, cancelled: bool = False, held: bool = False, priority: str = "normal"
) -> str:
    """What a step's calendar event shows that SEQUENCE must track: deadline, done state,
    whether it was cancelled with its case or is on hold with it, and an open step's
    priority (its SUMMARY is marked "❗ Critical:"; left out for normal, so the events of
    cases stored before it was tracked do not all change)."""
    due = planned.due.astimezone(UTC).isoformat()
    done = planned.done.astimezone(UTC).isoformat() if planned.done else ""
    if planned.done:
        return f"{due}|{done}"
    mark = "|cancelled" if cancelled else "|on-hold" if held else ""
    return f"{due}|{mark}" + ("" if priority == "normal" or mark else f"|{priority}")


def _due_of(fingerprint: str) -> datetime | None:
    """The deadline a `_fingerprint` recorded (None for one this version cannot read)."""
    try:
        return datetime.fromisoformat(fingerprint.split("|", 1)[0])
    except ValueError:
        return None


def _running_hold(record: CaseRecord) -> CaseHold | None:
    return next((h for h in record.holds if h.resumed_at is None), None)


def _still_open(record: CaseRecord, what: str) -> None:
    """Refuse to change a cancelled or complete case; `what` says what stays as it is."""
    _not_cancelled(record)
    if record.closed_at is not None:
        raise CaseError(
            f"case {record.id} is complete (every step is done); {what}",
            f"reopen a step first if work goes on: sopgen case reopen {record.id} STEP",
            CONFLICT,
            web_hint="reopen a step first if work goes on",
        )


def _not_cancelled(record: CaseRecord) -> None:
    """Refuse to change a cancelled case (it stays in the history as it was)."""
    if record.cancelled_at is not None:
        raise CaseError(
            f"case {record.id} was cancelled ({record.cancel_reason or 'no reason given'}); "
            "it can no longer change",
            f"see it with: sopgen case show {record.id}",
            CONFLICT,
        )


def _record_values(
    case_id: str,
    sop: Sop,
    digest: str,
    received: datetime,
    assignee: str | None,
    summary: str | None,
    now: datetime,
    *,
    as_history: bool = False,
) -> dict[str, Any]:
    """The columns of a new case's row: `open` makes one record of them, import inserts many."""
    return {
        "id": case_id,
        "folder": case_id.lower(),
        "sop_id": sop.id,
        "sop_version": sop.version,
        "snapshot": digest,
        "received": received,
        "assignee": assignee,
        "summary": summary,
        "opened_at": now,
        "updated_at": now,
        "closed_at": None,
        "next_due": None,
        "as_history": as_history,
    }


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


def _next_due(steps: Iterable[PlannedStep]) -> datetime | None:
    """The deadline of the open step due first (what `case list` sorts by), or None."""
    return min((p.due for p in steps if p.done is None), default=None)


def _folder_taken(session: Session, case_ids: Sequence[str]) -> set[str]:
    """Which of `case_ids` (lower-cased) name a case already in the store."""
    wanted = sorted({c.lower() for c in case_ids})
    taken: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        taken.update(session.scalars(select(CaseRecord.folder).where(CaseRecord.folder.in_(chunk))))
    return taken


def _step(sop: Sop, ref: str, case_id: str) -> Step:
    step = sop.step(ref)
    if step is None:
        keys = ", ".join(f"{sop.label(s)} {s.key}" for s in sop.steps())
        raise CaseError(
            f"{sop.id} (version {sop.version}, as case {case_id} was opened) has no step '{ref}'",
            f"name a step by its label, as section.step or by its id: {keys}",
        )
    return step


def in_force_at(sop: Sop, received: datetime, zone: ZoneInfo) -> None:
    """Refuse a case received before its SOP's effective date (a day in the company zone)."""
    if sop.effective is not None and received.astimezone(zone).date() < sop.effective:
        raise CaseError(
            f"the received time {human(received, zone)} lies before {sop.id} version "
            f"{sop.version} takes effect ({sop.effective.isoformat()})",
            "give the time the complaint arrived (on or after the effective date), or open "
            "a trial case with --allow-draft",
            web_hint="give the time the complaint arrived (on or after the effective date)",
        )


def _not_future(moment: datetime, now: datetime, what: str, zone: ZoneInfo) -> None:
    """Refuse a time ahead of the clock; both shown as every other time for people
    (company zone, to the minute: a refused time is more than FUTURE_TOLERANCE ahead)."""
    if moment > now + FUTURE_TOLERANCE:
        raise CaseError(
            f"the {what} {human(moment, zone)} lies in the future (now is {human(now, zone)})",
            "give a time that has already happened",
        )


# built once: every feed request makes it (the user and their open cases, one row each;
# one row of NULL cases for a user with none)
_FEED_ROWS = (
    select(
        UserRecord.login,
        UserRecord.name,
        CaseRecord.id,
        CaseRecord.updated_at,
        select(func.sum(EventState.sequence))
        .where(EventState.case_id == CaseRecord.id)
        .scalar_subquery(),
        select(func.count())
        .select_from(Completion)
        .where(Completion.case_id == CaseRecord.id)
        .scalar_subquery(),
        CaseRecord.next_due,
    )
    .select_from(UserRecord)
    .outerjoin(
        CaseRecord, and_(CaseRecord.assignee == UserRecord.login, CaseRecord.closed_at.is_(None))
    )
    .where(UserRecord.feed_token_hash == bindparam("token_hash"), UserRecord.disabled == false())
    .order_by(CaseRecord.id)
)


# what a feed's first render reads of the cases it renders (`cases_with_versions`): text
# statements, whose rows come as the driver gives them (times: `Store.time_reader`)
_CASES_DONE = text("SELECT case_id, step, done_at FROM completions WHERE case_id IN :ids")
_CASES_EVENTS = text(
    "SELECT case_id, step, sequence, modified_at FROM calendar_events WHERE case_id IN :ids"
)
_CASES_HOLDS = text(
    "SELECT case_id, held_at, resumed_at, reason FROM case_holds WHERE case_id IN :ids"
    " ORDER BY case_id, held_at"
)
_CASES_PRIORITIES = text(
    "SELECT case_id, since, priority FROM case_priorities WHERE case_id IN :ids"
    " ORDER BY case_id, id"
)
_CASES_ROWS = text(
    "SELECT id, snapshot, received, assignee, summary, opened_at, updated_at, legacy_uids,"
    " cancelled_at, cancel_reason FROM cases WHERE id IN :ids ORDER BY id"
)
_CASES_DONE, _CASES_EVENTS, _CASES_HOLDS, _CASES_PRIORITIES, _CASES_ROWS = (
    statement.bindparams(bindparam("ids", expanding=True))
    for statement in (_CASES_DONE, _CASES_EVENTS, _CASES_HOLDS, _CASES_PRIORITIES, _CASES_ROWS)
)
_SNAPSHOT = text("SELECT text, file, version FROM sop_snapshots WHERE digest = :digest")


@dataclass(frozen=True, slots=True)
class FeedRows:
    """A feed's user and open cases as the database driver gives them."""

    login: str
    name: str
    cases: tuple[tuple[Any, ...], ...]  # (case id, last change, SEQUENCE sum, completions)
    # case id → its next deadline (UTC), stored with the case; none for a case on hold
    next_due: Mapping[str, datetime] = field(default_factory=dict)

    def versions(self, only: Container[str] | None = None) -> list[tuple[str, str]]:
        """(case id, version) per open case (of those in `only`), the versions
        `cases_with_versions` gives."""
        return [
            (case_id, _version(_driver_time(updated), int(sequences or 0), int(done)))
            for case_id, updated, sequences, done in self.cases
            if only is None or case_id in only
        ]


def _driver_time(value: datetime | str) -> datetime:
    """A UTCDateTime column's value as the driver gives it (SQLite: UTC wall time as
    text), as the aware UTC datetime the ORM gives."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _version(updated_at: datetime, sequences: int, completions: int) -> str:
    """A case's version: SEQUENCE only ever rises when an event changes, and every change
    moves `updated_at` or the number of completions, so together they tell versions apart."""
    return f"{updated_at.astimezone(UTC).isoformat()}|{sequences}|{completions}"


def _assignable(session: Session) -> dict[str, str] | None:
    """Logins of users who may be assigned cases (lower case → login); None while the
    desk has no users at all (then any assignee name goes)."""
    rows = session.execute(select(UserRecord.login, UserRecord.disabled)).all()
    if not rows:
        return None
    return {login.lower(): login for login, disabled in rows if not disabled}


def _cancel_reminders_not_for(session: Session, record: CaseRecord) -> None:
    """Cancel the case's pending step reminders addressed to anyone but its assignee."""
    owner = session.get(UserRecord, record.assignee.lower()) if record.assignee else None
    address = (owner.email or "").lower() if owner is not None else ""
    session.execute(
        update(Reminder)
        .where(
            Reminder.case_id == record.id,
            Reminder.step.is_not(None),
            Reminder.state == "pending",
            func.lower(Reminder.recipient) != address,
        )
        .values(state="cancelled")
    )


def _known_assignee(session: Session, assignee: str | None) -> str | None:
    """Once the desk has users, an assignee is the login of one who is not disabled."""
    if assignee is None or session.scalars(select(UserRecord.login).limit(1)).first() is None:
        return assignee
    record = session.get(UserRecord, assignee.lower())
    if record is None or record.disabled:
        raise CaseError(
            f"'{assignee}' is not a user of the desk",
            "assign the case to a user's login (see: sopgen user list)",
        )
    return record.login


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line, p.column))
