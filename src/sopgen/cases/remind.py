"""The reminder worker: plan reminder rows, claim the due ones, send, mark sent.

One pass (`Worker.run_once`):

1. plan: work out which reminders the open cases call for (`reminders.wanted`)
   and make one `reminders` row per key (INSERT … ON CONFLICT DO NOTHING, so
   workers planning at once make one row); pending rows no longer wanted (step
   done, case reassigned, closed or on hold, deadline moved) are cancelled.
2. claim: in one short transaction, take due rows and mark them claimed by
   this worker until `now + reminders.retry_after`. On PostgreSQL the rows are
   picked with `SELECT … FOR UPDATE SKIP LOCKED`, so two workers never take
   the same row and never wait for each other; on SQLite the claim runs under
   `BEGIN IMMEDIATE`, which admits one claimer at a time.
3. send each claimed row, then mark it sent (only if this worker still holds
   the claim). A worker that dies between claim and send leaves its rows
   claimed; once the claim expires, the next pass of any worker claims and
   sends them: retried, not lost. Before sending, the case is read again, so
   a step done a moment ago cancels its reminder instead.

Exactly once holds as far as the database can tell: a crash after the mail
server accepted a message but before the row was marked sent sends it again
(with the same Message-ID, which mail clients use to show it once).
"""

from __future__ import annotations

import os
import smtplib
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import or_, select, update

from sopgen.businesstime import BusinessCalendar
from sopgen.cases import reminders as rules
from sopgen.cases.errors import CaseError
from sopgen.cases.mail import Mailer, Outgoing, case_link, compose, message, valid_address
from sopgen.cases.service import CaseService
from sopgen.cases.store import Reminder, UserRecord, insert_missing
from sopgen.cases.timestamps import human
from sopgen.model import Config

BATCH = 50
MAX_BATCHES = 1000  # a pass sends at most 50,000 e-mails; the next pass goes on


@dataclass
class PassReport:
    planned: int = 0
    cancelled: int = 0
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Worker:
    def __init__(
        self,
        root: Path,
        service: CaseService,
        mailer: Mailer,
        worker_id: str | None = None,
        on_claimed: Callable[[int], None] | None = None,
    ):
        self.root = root
        self.service = service
        self.store = service.store
        self.mailer = mailer
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.on_claimed = on_claimed

    @property
    def config(self) -> Config:
        return self.service.config

    @property
    def calendar(self) -> BusinessCalendar:
        return self.service.calendar

    # ------------------------------------------------------------------ a pass

    def run_once(self, now: datetime) -> PassReport:
        report = PassReport()
        self.plan(now, report)
        self.send_due(now, report)
        return report

    # ------------------------------------------------------------------ plan

    def people(self) -> dict[str, rules.Person]:
        with self.store.read() as session:
            users = session.scalars(select(UserRecord).where(UserRecord.disabled.is_(False)))
            return {
                u.login.lower(): rules.Person(u.login, u.email, u.role in ("manager", "admin"))
                for u in users
                if u.email and valid_address(u.email)
            }

    def plan(self, now: datetime, report: PassReport) -> None:
        cases = [s.case for s in self.service.list_open(now)]
        wanted = rules.wanted(cases, self.people(), self.config.reminders, self.calendar, now)
        by_key = {w.key: w for w in wanted}
        utc = now.astimezone(UTC)
        with self.store.write() as session:
            rows = session.execute(
                select(Reminder.id, Reminder.key, Reminder.state, Reminder.claimed_until).where(
                    Reminder.state.in_(("pending", "claimed", "cancelled"))
                )
            ).all()
            cancel, revive = [], []
            known = set()
            for row_id, key, state, claimed_until in rows:
                known.add(key)
                live = state == "pending" or (
                    state == "claimed" and claimed_until is not None and claimed_until < utc
                )
                if live and key not in by_key:
                    cancel.append(row_id)
                elif state == "cancelled" and key in by_key:
                    revive.append(row_id)
            if cancel:
                session.execute(
                    update(Reminder)
                    .where(Reminder.id.in_(cancel), Reminder.state != "sent")
                    .values(state="cancelled", claimed_by=None, claimed_until=None)
                )
            if revive:
                session.execute(
                    update(Reminder).where(Reminder.id.in_(revive)).values(state="pending")
                )
            sent_keys = (
                set(
                    session.scalars(
                        select(Reminder.key).where(
                            Reminder.state == "sent", Reminder.key.in_(list(by_key))
                        )
                    )
                )
                if by_key
                else set()
            )
            for w in wanted:
                if w.key in known or w.key in sent_keys:
                    continue
                insert_missing(
                    session,
                    Reminder,
                    {
                        "key": w.key,
                        "kind": w.kind,
                        "case_id": w.case_id,
                        "step": w.step,
                        "recipient": w.recipient,
                        "label": w.label,
                        "due_at": w.due,
                        "send_at": w.send_at,
                        "state": "pending",
                        "attempts": 0,
                        "created_at": utc,
                    },
                )
                report.planned += 1
            report.cancelled += len(cancel)

    # ------------------------------------------------------------------ claim and send

    def claim(self, now: datetime) -> list[Reminder]:
        utc = now.astimezone(UTC)
        until = utc + self.config.reminders.retry_after
        with self.store.write() as session:
            query = (
                select(Reminder)
                .where(
                    or_(
                        (Reminder.state == "pending") & (Reminder.send_at <= utc),
                        (Reminder.state == "claimed") & (Reminder.claimed_until < utc),
                    )
                )
                .order_by(Reminder.send_at, Reminder.id)
                .limit(BATCH)
            )
            if not self.store.sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            for row in rows:
                row.state = "claimed"
                row.claimed_by = self.id
                row.claimed_until = until
                row.attempts += 1
        return rows

    def send_due(self, now: datetime, report: PassReport) -> None:
        for _ in range(MAX_BATCHES):
            claimed = self.claim(now)
            if not claimed:
                return
            if self.on_claimed is not None:
                self.on_claimed(len(claimed))
            for index, row in enumerate(claimed):
                try:
                    outgoing = self.compose(row, now)
                    if outgoing is None:
                        self._finish(row, "cancelled", now)
                        report.cancelled += 1
                        continue
                    self.mailer.send(message(outgoing, self._sender()))
                except CaseError:
                    # the server cannot be reached: give back what is left, stop
                    for rest in claimed[index:]:
                        self._finish(rest, "pending", now, error="mail server unreachable")
                    raise
                except (smtplib.SMTPException, OSError) as exc:
                    self._finish(row, "pending", now, error=str(exc)[:500], later=True)
                    report.failed.append(f"{_describe(row)}: {exc}")
                    continue
                self._finish(row, "sent", now)
                report.sent.append(_describe(row))

    def _sender(self) -> str:
        assert self.config.smtp is not None
        return self.config.smtp.sender

    def _finish(
        self,
        row: Reminder,
        state: str,
        now: datetime,
        *,
        error: str | None = None,
        later: bool = False,
    ) -> None:
        """Record the outcome, only while this worker still holds the claim."""
        utc = now.astimezone(UTC)
        values: dict[str, object] = {"state": state, "claimed_by": None, "claimed_until": None}
        if state == "sent":
            values.update(sent_at=utc, error=None)
        if error is not None:
            values["error"] = error
        if later:
            values["send_at"] = utc + self.config.reminders.retry_after
        with self.store.write() as session:
            session.execute(
                update(Reminder)
                .where(
                    Reminder.id == row.id,
                    Reminder.state == "claimed",
                    Reminder.claimed_by == self.id,
                )
                .values(**values)
            )

    # ------------------------------------------------------------------ compose

    def compose(self, row: Reminder, now: datetime) -> Outgoing | None:
        """The e-mail for `row` from the case as it is now; None if it no longer applies."""
        config = self.config
        zone = config.zone
        common = {"company": config.company, "language": config.language}
        if row.kind == rules.DIGEST:
            overdue = self.service.list_open(now, overdue=True)
            lines = []
            for summary in overdue:
                for late in summary.case.open_steps():
                    if late.due < now:
                        lines.append(
                            {
                                "case_id": summary.case.id,
                                "step_label": late.key,
                                "step_text": config.fill(late.step.do),
                                "due": human(late.due, zone),
                                "assignee": summary.case.assignee,
                                "link": case_link(config, summary.case.id),
                                "_due": late.due,
                            }
                        )
            if not lines:
                return None
            lines.sort(key=lambda r: (r["_due"], r["case_id"]))
            count = len(lines)
            subject = f"{count} overdue step{'s' * (count != 1)} at {config.company}"
            intro = f"Overdue steps as of {human(now, zone)}:"
            return compose(
                self.root,
                "digest",
                row.recipient,
                subject,
                row.key,
                {**common, "intro": intro, "rows": lines},
            )
        try:
            case = self.service.show(row.case_id or "", now)
        except CaseError:
            return None
        planned = next((p for p in case.steps if p.key == row.step), None)
        person = self.people().get((case.assignee or "").lower())
        if (
            planned is None
            or planned.done is not None
            or case.on_hold is not None
            or person is None
            or person.email.lower() != row.recipient.lower()
            or row.due_at is None
            or planned.due.astimezone(UTC) != row.due_at.astimezone(UTC)
        ):
            return None  # done, reassigned, on hold, or its deadline moved
        due = human(planned.due, zone)
        if row.kind == rules.OVERDUE:
            subject = f"Overdue: {case.id} {planned.key} was due {due}"
            intro = f"This step of case {case.id} is overdue since {due}."
        else:
            subject = f"Due {due}: {case.id} {planned.key}"
            intro = f"This step of case {case.id} is due {due} (a reminder {row.label} before)."
        return compose(
            self.root,
            "reminder",
            row.recipient,
            subject,
            row.key,
            {
                **common,
                "intro": intro,
                "case_id": case.id,
                "summary": case.summary,
                "sop_id": case.sop.id,
                "sop_title": case.sop.title,
                "step_label": planned.key,
                "step_text": config.fill(planned.step.do),
                "due": due,
                "assignee": case.assignee,
                "link": case_link(config, case.id),
            },
        )


def _describe(row: Reminder) -> str:
    what = f"{row.case_id} {row.step}" if row.case_id else "digest"
    return f"{row.kind} {what} to {row.recipient} ({row.label})"
