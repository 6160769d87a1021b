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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update

from sopgen.businesstime import BusinessCalendar
from sopgen.cases import reminder_rules as rules
from sopgen.cases.baseurl import desk_base_url
from sopgen.cases.errors import CaseError
from sopgen.cases.model import Case
from sopgen.cases.service.caseservice import CaseService
from sopgen.cases.store.tables import Reminder, UserRecord, insert_missing
from sopgen.cases.timestamps import human
from sopgen.cases.views.mail import Mailer, Outgoing, case_link, compose, message, valid_address
from sopgen.model import Config

BATCH = 50
MAX_BATCHES = 1000  # a pass sends at most 50,000 e-mails; the next pass goes on


@dataclass
class PassReport:
    planned: int = 0
    cancelled: int = 0
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    messages: int = 0  # e-mails sent (one carries all of a person's reminders of the pass)
    deferred: int = 0  # reminders left for the next pass by reminders.max_per_minute


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
        """Claim every due row, then send one e-mail per person (all their reminders of
        this pass in it) and each manager's digest, at most `reminders.max_per_minute`
        messages; the rows of people over the cap go back to pending for the next pass."""
        claimed: list[Reminder] = []
        for _ in range(MAX_BATCHES):
            batch = self.claim(now)
            if not batch:
                break
            if self.on_claimed is not None:
                self.on_claimed(len(batch))
            claimed += batch
        if not claimed:
            return
        self._pass_people = self.people()
        self._pass_cases: dict[str, Case | None] = {}
        groups: dict[tuple[str, str], list[Reminder]] = {}
        for row in claimed:  # claimed oldest first: so are the groups and their rows
            who = row.recipient.lower()
            key = (f"digest:{row.id}", who) if row.kind == rules.DIGEST else ("", who)
            groups.setdefault(key, []).append(row)
        cap = self.config.reminders.max_per_minute
        pending = list(groups.values())
        for index, rows in enumerate(pending):
            if cap is not None and report.messages >= cap:
                rest = [row for group in pending[index:] for row in group]
                self._finish_many(rest, "pending", now)
                report.deferred += len(rest)
                return
            try:
                outgoing, used, gone = self._compose_group(rows, now)
            except Exception:
                self._finish_many([r for group in pending[index:] for r in group], "pending", now)
                raise
            if gone:
                self._finish_many(gone, "cancelled", now)
                report.cancelled += len(gone)
            if outgoing is None:
                continue
            try:
                self.mailer.send(message(outgoing, self._sender(), now, self.config.zone))
            except CaseError:
                # the server cannot be reached: give back what is left, stop
                rest = used + [row for group in pending[index + 1 :] for row in group]
                self._finish_many(rest, "pending", now, error="mail server unreachable")
                raise
            except (smtplib.SMTPException, OSError) as exc:
                self._finish_many(used, "pending", now, error=str(exc)[:500], later=True)
                report.failed += [f"{_describe(row)}: {exc}" for row in used]
                continue
            self._finish_many(used, "sent", now)
            report.sent += [_describe(row) for row in used]
            report.messages += 1

    def _compose_group(
        self, rows: list[Reminder], now: datetime
    ) -> tuple[Outgoing | None, list[Reminder], list[Reminder]]:
        """One e-mail for `rows` (one person's reminders, or one digest): the message,
        the rows it carries, and the rows that no longer apply."""
        if rows[0].kind == rules.DIGEST:
            outgoing = self.compose(rows[0], now)
            return (outgoing, rows, []) if outgoing else (None, [], rows)
        items, used, gone = [], [], []
        for row in rows:
            values = self._reminder_values(row, now)
            if values is None:
                gone.append(row)
            else:
                items.append(values)
                used.append(row)
        if not items:
            return None, [], gone
        steps = {(item["case_id"], item["step_label"]) for item in items}
        if len(steps) == 1:  # e.g. "1 business day" and "1 business hour" before, due at once
            first = min(range(len(used)), key=lambda i: (not items[i]["overdue"], used[i].id))
            return self._one(used[first], items[first]), used, gone
        return self._several(used, items, now), used, gone

    def _finish_many(
        self,
        rows: list[Reminder],
        state: str,
        now: datetime,
        *,
        error: str | None = None,
        later: bool = False,
    ) -> None:
        """Record the outcome of `rows`, only those this worker still holds the claim of
        (a few hundred ids to a statement)."""
        utc = now.astimezone(UTC)
        values: dict[str, object] = {"state": state, "claimed_by": None, "claimed_until": None}
        if state == "sent":
            values.update(sent_at=utc, error=None)
        if error is not None:
            values["error"] = error
        if later:
            values["send_at"] = utc + self.config.reminders.retry_after
        ids = [row.id for row in rows]
        with self.store.write() as session:
            for start in range(0, len(ids), 500):
                session.execute(
                    update(Reminder)
                    .where(
                        Reminder.id.in_(ids[start : start + 500]),
                        Reminder.state == "claimed",
                        Reminder.claimed_by == self.id,
                    )
                    .values(**values)
                )

    def _sender(self) -> str:
        assert self.config.smtp is not None
        return self.config.smtp.sender

    # ------------------------------------------------------------------ compose

    def compose(self, row: Reminder, now: datetime) -> Outgoing | None:
        """The e-mail for `row` alone from the cases as they are now; None if it no longer
        applies. A digest is summarised: overdue steps counted per assignee and per SOP,
        then the oldest `DIGEST_ROWS` of them, and a link to the desk's list of overdue
        cases, so that its size stays bounded (`DIGEST_LIMIT`) however many there are."""
        if row.kind != rules.DIGEST:
            values = self._reminder_values(row, now)
            return None if values is None else self._one(row, values)
        config = self.config
        zone = config.zone
        lines = []
        by_assignee: Counter[str] = Counter()
        by_sop: Counter[str] = Counter()
        for summary in self.service.list_open(now, overdue=True):
            case = summary.case
            for late in case.open_steps():
                if late.due < now:
                    by_assignee[case.assignee or ""] += 1
                    by_sop[case.sop.id] += 1
                    lines.append((late.due, case.id, case, late))
        if not lines:
            return None
        lines.sort(key=lambda line: (line[0], line[1]))
        count = len(lines)
        rows = [
            {
                "case_id": case.id,
                "step_label": late.key,
                "step_text": _shortened(config.fill(late.step.do)),
                "due": human(late.due, zone),
                "assignee": case.assignee,
                "link": case_link(config, case.id),
            }
            for _due, _id, case, late in lines[:DIGEST_ROWS]
        ]
        base = desk_base_url(None, config)
        subject = f"{count} overdue step{'s' * (count != 1)} at {config.company}"
        intro = f"Overdue steps as of {human(now, zone)}: {count}."
        return compose(
            self.root,
            "digest",
            row.recipient,
            subject,
            row.key,
            {
                "company": config.company,
                "language": config.language,
                "intro": intro,
                "count": count,
                "rows": rows,
                "by_assignee": _counted(by_assignee, "nobody"),
                "by_sop": _counted(by_sop, ""),
                "list_link": f"{base}/cases?overdue=1" if base else None,
            },
        )

    def _case(self, case_id: str, now: datetime) -> Case | None:
        """The case as it is now, read once a pass (None when it is gone)."""
        cache = getattr(self, "_pass_cases", None)
        if cache is not None and case_id in cache:
            return cache[case_id]
        try:
            case: Case | None = self.service.show(case_id, now)
        except CaseError:
            case = None
        if cache is not None:
            cache[case_id] = case
        return case

    def _reminder_values(self, row: Reminder, now: datetime) -> dict[str, Any] | None:
        """What the e-mail says of `row`'s step; None if the reminder no longer applies."""
        config = self.config
        case = self._case(row.case_id or "", now)
        if case is None:
            return None
        planned = next((p for p in case.steps if p.key == row.step), None)
        people = getattr(self, "_pass_people", None) or self.people()
        person = people.get((case.assignee or "").lower())
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
        due = human(planned.due, config.zone)
        if row.kind == rules.OVERDUE:
            subject = f"Overdue: {case.id} {planned.key} was due {due}"
            intro = f"This step of case {case.id} is overdue since {due}."
        else:
            subject = f"Due {due}: {case.id} {planned.key}"
            intro = f"This step of case {case.id} is due {due} (a reminder {row.label} before)."
        return {
            "subject": subject,
            "intro": intro,
            "overdue": row.kind == rules.OVERDUE,
            "case_id": case.id,
            "summary": case.summary,
            "sop_id": case.sop.id,
            "sop_title": case.sop.title,
            "step_label": planned.key,
            "step_text": config.fill(planned.step.do),
            "due": due,
            "assignee": case.assignee,
            "link": case_link(config, case.id),
        }

    def _one(self, row: Reminder, values: dict[str, Any]) -> Outgoing:
        config = self.config
        return compose(
            self.root,
            "reminder",
            row.recipient,
            values["subject"],
            row.key,
            {"company": config.company, "language": config.language, **values},
        )

    def _several(
        self, rows: list[Reminder], items: list[dict[str, Any]], now: datetime
    ) -> Outgoing:
        """One e-mail with all of a person's reminders of this pass: overdue steps first,
        then by deadline; the first `LISTED` in full, the rest counted."""
        config = self.config
        ordered = sorted(
            zip(rows, items, strict=True),
            key=lambda pair: (not pair[1]["overdue"], pair[0].due_at or now, pair[1]["case_id"]),
        )
        seen: set[tuple[str, str]] = set()
        steps = []  # each step once: two reminders of one step due at once say the same
        for _row, item in ordered:
            if (item["case_id"], item["step_label"]) not in seen:
                seen.add((item["case_id"], item["step_label"]))
                steps.append(item)
        overdue = sum(1 for item in steps if item["overdue"])
        upcoming = len(steps) - overdue
        parts = []
        if overdue:
            parts.append(f"{overdue} overdue step{'s' * (overdue != 1)}")
        if upcoming:
            parts.append(f"{upcoming} step{'s' * (upcoming != 1)} due soon")
        subject = f"{len(steps)} reminders: {' and '.join(parts)}"
        listed = steps[:LISTED]
        base = desk_base_url(None, config)
        key = "several|" + "|".join(sorted(row.key for row in rows))
        return compose(
            self.root,
            "reminders",
            rows[0].recipient,
            subject,
            key,
            {
                "company": config.company,
                "language": config.language,
                "intro": f"Your reminders as of {human(now, config.zone)}: "
                + ", ".join(parts)
                + ".",
                "items": listed,
                "more": len(steps) - len(listed),
                "work_link": f"{base}/" if base else None,
            },
        )


DIGEST_ROWS = 50
"""The oldest overdue steps a digest lists one by one (the rest it counts)."""
DIGEST_GROUPS = 30
"""Assignees and SOPs a digest counts one by one (the rest together)."""
LISTED = 100
"""Reminders one person's e-mail lists one by one (the rest it counts)."""
DIGEST_LIMIT = 200_000
"""The bytes a digest stays under (docs/operations.md: Reminders): its lists above are bounded,
and each step's text is cut to `TEXT_CHARS`."""
TEXT_CHARS = 200


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1].rstrip() + "…"


def _counted(counts: Counter[str], nobody: str) -> list[dict[str, Any]]:
    """The largest counts first (ties by name), at most `DIGEST_GROUPS`, the rest in one."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = [{"name": name or nobody, "count": n} for name, n in ranked[:DIGEST_GROUPS]]
    rest = ranked[DIGEST_GROUPS:]
    if rest:
        shown.append(
            {"name": f"{len(rest)} others", "count": sum(n for _name, n in rest), "rest": True}
        )
    return shown


def _describe(row: Reminder) -> str:
    what = f"{row.case_id} {row.step}" if row.case_id else "digest"
    return f"{row.kind} {what} to {row.recipient} ({row.label})"
