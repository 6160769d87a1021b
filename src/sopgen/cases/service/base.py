"""What every part of the case service shares: the store, the library, the
business calendar, reading a case's record and planning it (`ServiceCore`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    inspect,
    select,
)
from sqlalchemy.orm import Session, selectinload

from sopgen.businesstime import BusinessCalendar
from sopgen.cases.errors import NOT_FOUND, CaseError
from sopgen.cases.model import (
    Case,
    EventInfo,
    Hold,
    StepEvent,
)
from sopgen.cases.plan import (
    PlannedStep,
    plan,
)
from sopgen.cases.snapshots import library_sop, parse_snapshot
from sopgen.cases.store.tables import (
    CaseHold,
    CaseRecord,
    EventState,
    SopSnapshot,
    Store,
    insert_missing,
)
from sopgen.cases.timestamps import FUTURE_TOLERANCE, human
from sopgen.gitrev import GitError, Repo
from sopgen.inforce import Released, governed_note, in_force_on, released_versions, sop_of
from sopgen.library import Library, unknown_sop
from sopgen.model import Config, Sop
from sopgen.problems import InputError, has_errors
from sopgen.release import version_key

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


class ServiceCore:
    """The store, the library and what every part of `CaseService` needs."""

    def __init__(self, store: Store, library: Library, files: FileWriter = NO_FILES):
        self.store = store
        self.library = library
        self.files = files
        self._config: Config | None = None
        self._calendar: BusinessCalendar | None = None
        self._snapshots: dict[str, Sop] = {}
        self._released: dict[str, list[Released]] = {}  # SOP file → its released versions
        self._next_due_filled = False

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

    def _priority(self, text: str) -> str:
        """The priority of sopgen.yaml that `text` names (any case), in its spelling there."""
        priority = self.config.priority_named(text)
        if priority is None:
            raise CaseError(
                f"unknown priority '{text}'",
                self.config.priorities_hint,
            )
        return priority

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

    def governed(self, case: Case) -> str | None:
        """ "governed by version 1.0; 1.1 in force since 7 Dec 2026" for a case opened under
        an older version than the library's (see `_in_force`), else None."""
        entry = self.library.entry(case.sop.id)
        return governed_note(case.sop, entry.sop if entry is not None else None)

    def _in_force(
        self,
        sop: Sop,
        snapshot: SopSnapshot,
        received: datetime,
        session: Session | None = None,
    ) -> tuple[Sop, SopSnapshot]:
        """The version of `sop` in force when a case was received: the current one from its
        effective date on; before it, the released version git history says was in force
        that day (the newest commit where the file had that version, approved or
        effective), else the newest such version among the store's snapshots (read in
        `session` when given). Refused when neither has one (docs/desk.md, "Cases under
        the version in force")."""
        zone = self.config.zone
        day = received.astimezone(zone).date()
        if sop.effective is None or day >= sop.effective:
            return sop, snapshot
        older = self._from_git(sop, snapshot.file, day) or self._from_snapshots(sop, day, session)
        if older is None:
            raise CaseError(
                f"the received time {human(received, zone)} lies before {sop.id} version "
                f"{sop.version} takes effect ({sop.effective.isoformat()}), and neither the git "
                f"history of {snapshot.file} nor the case store holds a released version of "
                f"{sop.id} in force on {day.isoformat()}",
                "if the complaint did arrive then, no released version of the SOP covered it: "
                "open it as a trial case with --allow-draft, or record the version that "
                "applied in git (status: effective and its effective date) and open it again",
                web_hint="no released version of this SOP covered that day; ask whoever "
                "maintains the SOPs for the version that applied",
            )
        return older

    def _from_git(self, sop: Sop, file: str, day: date) -> tuple[Sop, SopSnapshot] | None:
        released = self._released.get(file)
        if released is None:
            try:
                released = released_versions(Repo(self.library.root), file)
            except GitError:
                released = []  # no git here: the store's snapshots may still have it
            self._released[file] = released
        found = in_force_on(released, day)
        if found is None:
            return None
        digest = hashlib.sha256(found.raw).hexdigest()
        older = self._snapshots.get(digest) or sop_of(found, file)
        self._snapshots.setdefault(digest, older)
        return older, SopSnapshot(
            digest=digest,
            sop_id=sop.id,
            version=found.version,
            file=file,
            text=found.raw.decode("utf-8"),
        )

    def _from_snapshots(
        self, sop: Sop, day: date, session: Session | None
    ) -> tuple[Sop, SopSnapshot] | None:
        if session is None:
            store = self.store
            database = store.url.database if store.sqlite else None
            if database and database != ":memory:" and not Path(database).exists():
                return None  # no store yet, so no snapshots: and a refusal must not make one
            if store.schema_revision() is None:
                return None
            with store.read() as reading:
                return self._from_snapshots(sop, day, reading)
        best: tuple[date, tuple[int, ...], Sop, SopSnapshot] | None = None
        rows = session.scalars(select(SopSnapshot).where(SopSnapshot.sop_id == sop.id))
        for row in rows:
            old = self._snapshots.get(row.digest) or parse_snapshot(
                row.text, row.file, row.version, row.digest
            )
            if old.status not in IN_FORCE or old.effective is None or old.effective > day:
                continue
            key = (old.effective, version_key(old.version))
            if best is None or key > best[:2]:
                copy = SopSnapshot(
                    digest=row.digest,
                    sop_id=row.sop_id,
                    version=row.version,
                    file=row.file,
                    text=row.text,
                )
                best = (old.effective, version_key(old.version), old, copy)
        return (best[2], best[3]) if best else None

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


def _not_future(moment: datetime, now: datetime, what: str, zone: ZoneInfo) -> None:
    """Refuse a time ahead of the clock; both shown as every other time for people
    (company zone, to the minute: a refused time is more than FUTURE_TOLERANCE ahead)."""
    if moment > now + FUTURE_TOLERANCE:
        raise CaseError(
            f"the {what} {human(moment, zone)} lies in the future (now is {human(now, zone)})",
            "give a time that has already happened",
        )
