"""Case commands: open, done, reopen, hold, resume, priority, assign, notes, cancel, refresh.

Each command takes the store, the library and `now` (never the clock), checks
its input completely before it changes anything, and does its change in one
transaction. Bad input raises `CaseError` (a message and a hint) or
`InputError` (problems pointing into a file) with the store unchanged and no
file written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from sopgen.cases.errors import CONFLICT, CaseError
from sopgen.cases.model import (
    DONE_ACTION,
    REOPEN_ACTION,
    Case,
    Note,
    Refreshed,
    clean_text,
    valid_case_id,
)
from sopgen.cases.plan import (
    plan,
)
from sopgen.cases.service.base import (
    REFRESH_BATCH,
    ServiceCore,
    StagedWriter,
    _folder_taken,
    _not_future,
    _priorities,
    _record_values,
    _running_hold,
    _spans,
)
from sopgen.cases.store.tables import (
    CaseHold,
    CaseNote,
    CasePriority,
    CaseRecord,
    Completion,
    Reminder,
    SopSnapshot,
    StepHistory,
    UserRecord,
)
from sopgen.cases.timestamps import human
from sopgen.model import Sop, Step


class CaseCommands(ServiceCore):
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
            sop, snapshot = self._in_force(sop, snapshot, received)
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

    def show(self, case_id: str, now: datetime | None = None) -> Case:
        """A case with its plan; a hold still running counts until `now` (pass it: without
        it, the deadlines are those of the moment the hold began)."""
        with self.store.read() as session:
            record = self._record(session, case_id, lock=False)
            sop = self._snapshot(session, record.snapshot)
            return self._case(record, sop, now=now)

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


def _actor(actor: str | None) -> str | None:
    """Who did it, as the history keeps it: a login or an OS user name, one line."""
    return " ".join(actor.split())[:200] or None if actor else None


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


def _step(sop: Sop, ref: str, case_id: str) -> Step:
    step = sop.step(ref)
    if step is None:
        keys = ", ".join(f"{sop.label(s)} {s.key}" for s in sop.steps())
        raise CaseError(
            f"{sop.id} (version {sop.version}, as case {case_id} was opened) has no step '{ref}'",
            f"name a step by its label, as section.step or by its id: {keys}",
        )
    return step


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
